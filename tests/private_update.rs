//! Private aggregate updates, simulated: 10,000 clients whose clicks follow one planted
//! preference direction each learn on their own slates and release a clipped, noised update.
//! The average recovers the direction; one client's release alone does not, beyond chance;
//! clients without the preference average to nothing.

use pocketrank::learn::{HeadParams, LearnConfig, Slate};
use pocketrank::private::{PrivacyParams, PrivateUpdate, average, privatize};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// The shipped model's width.
const D: usize = 64;
const CLIENTS: usize = 10_000;

fn unit(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn random_unit(rng: &mut StdRng) -> Vec<f32> {
    unit((0..D).map(|_| rng.random_range(-1.0f32..1.0)).collect())
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

/// The clients' learning, fixed here so the clip below stays near a typical update's norm
/// whatever the shipped default (which moved from 0.05 to 0.02).
const CLIENT_LEARNING: LearnConfig = LearnConfig { enabled: true, learning_rate: 0.05, steps: 3, l2: 0.1, max_step: 0.5, every: 1, weight: false, server_trust: false, profile: true };

/// One client: five slates of 20 random items; it clicks the item most aligned with
/// `preference` (or a random one without a preference). Returns its private release.
fn client(seed: u64, preference: Option<&[f32]>, shipped: &HeadParams, privacy: &PrivacyParams) -> (Vec<f32>, PrivateUpdate) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut head = shipped.clone();
    for _ in 0..5 {
        let items: Vec<Vec<f32>> = (0..20).map(|_| random_unit(&mut rng)).collect();
        let clicked = match preference {
            Some(u) => (0..20).max_by(|&a, &b| cosine(&items[a], u).total_cmp(&cosine(&items[b], u))).unwrap(),
            None => rng.random_range(0..20),
        };
        let slate = Slate {
            ids: (0..20).map(|i| i.to_string()).collect(),
            vectors: items.concat(),
            // Unordered slates (no server rank): the clicks speak only about the items.
            server: vec![0.0; 40],
            offsets: vec![0.0; 20],
            session: random_unit(&mut rng),
        };
        head = head.learn(shipped, &slate, &[clicked], &CLIENT_LEARNING);
    }
    let delta: Vec<f32> = head.shareable().iter().zip(shipped.shareable()).map(|(a, b)| a - b).collect();
    let values = privatize(&delta, privacy, &mut rng).unwrap();
    (delta, PrivateUpdate { mechanism: "gaussian".into(), model: "m".into(), privacy: *privacy, values })
}

#[test]
fn the_average_recovers_a_planted_direction_one_release_does_not() {
    let mut rng = StdRng::seed_from_u64(7);
    let shipped = HeadParams {
        d: D,
        weight: (0..D * D).map(|i| if i % (D + 1) == 0 { 1.0 } else { 0.0 }).collect(),
        bias: vec![0.0; D],
        server: [1.0, 0.0],
    };
    let preference = random_unit(&mut rng);
    // The clip sits near a typical update's norm (about 0.04 here): the noise scales with it.
    let privacy = PrivacyParams { clip: 0.04, epsilon: 0.9, delta: 1e-5 };

    let (deltas, updates): (Vec<Vec<f32>>, Vec<PrivateUpdate>) = (0..CLIENTS as u64).map(|s| client(s, Some(&preference), &shipped, &privacy)).unzip();
    let mean = average(&updates, "m").unwrap();
    let clean: Vec<f32> = (0..D).map(|j| deltas.iter().map(|d| d[j]).sum::<f32>() / CLIENTS as f32).collect();
    let norm: f32 = deltas.iter().map(|d| d.iter().map(|x| x * x).sum::<f32>().sqrt()).sum::<f32>() / CLIENTS as f32;
    eprintln!("noise-free mean cosine {}, mean update norm before clipping {norm}", cosine(&clean, &preference));
    let recovered = cosine(&mean[..D], &preference);
    assert!(recovered > 0.6, "aggregate direction cosine {recovered}");

    // One release alone: its cosine with the preference is no larger than with random
    // directions (chance), averaged over many single clients.
    let single: f32 = updates.iter().take(200).map(|u| cosine(&u.values[..D], &preference)).sum::<f32>() / 200.0;
    let chance: f32 = updates.iter().take(200).map(|u| cosine(&u.values[..D], &random_unit(&mut rng)).abs()).sum::<f32>() / 200.0;
    let single_abs: f32 = updates.iter().take(200).map(|u| cosine(&u.values[..D], &preference).abs()).sum::<f32>() / 200.0;
    assert!(single_abs < chance * 1.5, "one release reveals the preference: mean |cos| {single_abs} vs chance {chance} (signed {single})");

    // Without a planted preference the aggregate points nowhere in particular.
    let null: Vec<PrivateUpdate> = (0..CLIENTS as u64).map(|s| client(10_000 + s, None, &shipped, &privacy).1).collect();
    let null_cos = cosine(&average(&null, "m").unwrap()[..D], &preference);
    eprintln!("{CLIENTS} clients, clip {}, ε {}, δ {}: aggregate cosine {recovered:.3}; one release mean |cos| {single_abs:.3} vs chance {chance:.3}; no-preference aggregate cosine {null_cos:.3}", privacy.clip, privacy.epsilon, privacy.delta);
    assert!(null_cos.abs() < 0.3, "null aggregate cosine {null_cos}");
}

#[test]
fn updates_for_another_model_or_shape_are_refused() {
    let u = PrivateUpdate { mechanism: "gaussian".into(), model: "a".into(), privacy: PrivacyParams { clip: 1.0, epsilon: 0.5, delta: 1e-5 }, values: vec![0.0; 3] };
    assert_eq!(average(std::slice::from_ref(&u), "b").unwrap_err().to_string(), "updates[0].model: made for another model");
    let short = PrivateUpdate { values: vec![0.0; 2], ..u.clone() };
    assert_eq!(average(&[u, short], "a").unwrap_err().to_string(), "updates[1].values: 2 values, expected 3");
}

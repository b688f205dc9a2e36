//! The population loop, simulated (`pocketrank population`): many shoppers learn on their own
//! devices, each releases one private update (`exportPrivateUpdate`), the updates are averaged
//! into a new shipped head (what `pocketrank aggregate` does), and users who took no part are
//! ranked with it.
//!
//! Clients are users outside every evaluated case, drawn with a fixed seed. Each plays its
//! training history (the sequence without its validation and test targets) as visits of `k`
//! events with the default learning ([`play_visit`]), then releases its head change once per ε.
//! The clip is the median norm of the changes of a separate draw of users (neither clients
//! nor evaluated), so it depends on no released update. Against each private aggregate stand
//! the shipped head and the non-private average of the same clients' clipped changes.

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::api::EventKind;
use crate::error::Result;
use crate::learn::{HeadParams, clip_factor, l2_norm};
use crate::offline::data::Dataset;
use crate::offline::eval::{Case, Metrics, mean_se, ndcg10, play_visit, target_position};
use crate::offline::servers::TransitionServer;
use crate::private::{PrivacyParams, PrivateUpdate, average, mean};
use crate::bundle::to_hex;
use crate::Personalizer;

/// Users drawn to set the clip.
pub const CLIP_USERS: usize = 500;

/// What one simulated client released: its clipped change and one release per ε.
struct Client {
    change: Vec<f32>,
    releases: Vec<PrivateUpdate>,
}

/// One aggregate's figures on one protocol's cases.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// Clients averaged (0: the shipped head).
    pub clients: usize,
    /// ε of the releases; None: the non-private average (or the shipped head).
    pub epsilon: Option<f64>,
    /// The ranking figures.
    pub metrics: Metrics,
    /// Mean per-user NDCG@10 difference against the shipped head, and its standard error.
    pub vs_shipped: (f64, f64),
    /// The same against the non-private average of the same clients.
    pub vs_non_private: (f64, f64),
}

/// The simulation's settings.
pub struct Settings<'a> {
    /// Client counts to aggregate (each a prefix of one draw).
    pub clients: &'a [usize],
    /// ε of the releases.
    pub epsilons: &'a [f64],
    /// δ of the releases.
    pub delta: f64,
    /// Events a visit holds.
    pub k: usize,
}

/// Seed of the draw of users (clients and the clip's users).
const DRAW_SEED: u64 = 7;

/// A client's head change after playing `user`'s training history.
fn learned_change(personalizer: &mut Personalizer, data: &Dataset, server: &TransitionServer, user: usize, k: usize) -> Result<Vec<f32>> {
    personalizer.forget()?;
    let sequence = &data.users[user].1;
    let keep_off: Vec<usize> = sequence.iter().rev().take(2).copied().collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(user as u64);
    for visit in data.training_part(user).chunks(k.max(1)) {
        personalizer.clear_session();
        play_visit(personalizer, data, server, visit, EventKind::Click, &keep_off, &mut rng)?;
    }
    Ok(personalizer.head().shareable().iter().zip(personalizer.shipped_head().shareable()).map(|(p, p0)| p - p0).collect())
}

/// `v` brought to L2 norm at most `clip`, as a release clips it before the noise.
fn clipped(v: &[f32], clip: f32) -> Vec<f32> {
    let scale = clip_factor(v, clip);
    v.iter().map(|x| x * scale).collect()
}

/// The target positions of `cases` with the shipped head moved by `change`.
fn positions(personalizer: &mut Personalizer, data: &Dataset, cases: &[Case], change: Option<&[f32]>) -> Result<Vec<Option<usize>>> {
    personalizer.forget()?;
    let mut head: HeadParams = personalizer.shipped_head().clone();
    if let Some(change) = change {
        head.add_shareable(change)?;
    }
    personalizer.use_head(head)?;
    let out = cases.iter().map(|case| target_position(personalizer.ranker(), data, case)).collect::<Result<Vec<_>>>();
    personalizer.forget()?;
    out
}

/// The clip, the clients' count, and per protocol (each a list of cases) the rows: the
/// shipped head, then per client count the non-private average and each ε.
pub fn simulate(personalizer: &mut Personalizer, data: &Dataset, protocols: &[Vec<Case>], settings: &Settings, mut tick: impl FnMut()) -> Result<(f32, Vec<Vec<Row>>)> {
    let server = TransitionServer::fit(data);
    let evaluated: std::collections::HashSet<usize> = protocols.iter().flatten().map(|c| c.user).collect();
    let mut pool: Vec<usize> = (0..data.users.len()).filter(|u| !evaluated.contains(u) && data.training_part(*u).len() >= 2).collect();
    pool.shuffle(&mut rand::rngs::StdRng::seed_from_u64(DRAW_SEED));
    let most = settings.clients.iter().copied().max().unwrap_or(0);
    let (clip_users, rest) = pool.split_at(CLIP_USERS.min(pool.len()));
    let mut norms = clip_users.iter().map(|&u| learned_change(personalizer, data, &server, u, settings.k).map(|c| l2_norm(&c))).collect::<Result<Vec<f32>>>()?;
    norms.sort_by(f32::total_cmp);
    let clip = norms.get(norms.len() / 2).copied().unwrap_or(1.0).max(1e-6);
    let fingerprint = to_hex(personalizer.ranker().fingerprint());
    let mut clients = Vec::with_capacity(most);
    for &user in rest.iter().take(most) {
        let change = learned_change(personalizer, data, &server, user, settings.k)?;
        let releases = settings.epsilons.iter().map(|&epsilon| personalizer.export_private_update(&PrivacyParams { clip, epsilon, delta: settings.delta })).collect::<Result<Vec<_>>>()?;
        clients.push(Client { change: clipped(&change, clip), releases });
        tick();
    }
    let mut tables = Vec::new();
    for cases in protocols {
        let shipped = positions(personalizer, data, cases, None)?;
        let differences = |a: &[Option<usize>], b: &[Option<usize>]| a.iter().zip(b).map(|(&x, &y)| ndcg10(x) - ndcg10(y)).collect::<Vec<f64>>();
        let row = |clients: usize, epsilon: Option<f64>, p: &[Option<usize>], non_private: &[Option<usize>]| Row {
            clients,
            epsilon,
            metrics: Metrics::from_positions(p),
            vs_shipped: mean_se(&differences(p, &shipped)),
            vs_non_private: mean_se(&differences(p, non_private)),
        };
        let mut rows = vec![row(0, None, &shipped, &shipped)];
        for &n in settings.clients {
            let taking = &clients[..n.min(clients.len())];
            let changes: Vec<&[f32]> = taking.iter().map(|c| c.change.as_slice()).collect();
            let non_private = positions(personalizer, data, cases, Some(&mean(&changes, "clients")?))?;
            rows.push(row(taking.len(), None, &non_private, &non_private));
            for (e, &epsilon) in settings.epsilons.iter().enumerate() {
                let releases: Vec<PrivateUpdate> = taking.iter().filter_map(|c| c.releases.get(e).cloned()).collect();
                let private = positions(personalizer, data, cases, Some(&average(&releases, &fingerprint)?))?;
                rows.push(row(taking.len(), Some(epsilon), &private, &non_private));
            }
        }
        tables.push(rows);
    }
    Ok((clip, tables))
}

//! The leave-one-out session states that explanations read (group `flex/occlusion`), for a
//! window of 20 and of 50 events: burn's batch `[e, e − 1, d]` (`SessionEncoder::left_out`,
//! the reference, what `Ranker::occlusion` ran before session 6), against the fused pass it runs
//! now (`pocketrank::model::FusedSession`: what the windows share computed once, each block's
//! tokens of every variant as one matrix). Run it on one core, as the browser computes
//! (`RAYON_NUM_THREADS=1 cargo bench --bench occlusion`). Setup checks that both give the same
//! states (within 1e-5) with the shipped Games weights.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pocketrank::model::FusedSession;
use pocketrank::{Bundle, Ranker};
use rand::{Rng, SeedableRng};

fn occlusion(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("models/games/model.bundle")).expect("shipped model");
    let ranker = Ranker::from_bundle(&Bundle::from_bytes(&bytes).expect("bundle"), burn::tensor::Device::flex()).expect("loads");
    let encoder = &ranker.model().session;
    let fused = FusedSession::of(encoder, ranker.device()).expect("the shipped encoder is one the fused pass covers");
    let d = ranker.config().item.d_model;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut group = c.benchmark_group("flex/occlusion");
    for e in [20usize, 50] {
        let items: Vec<f32> = (0..e * d).map(|_| rng.random_range(-2.0..2.0)).collect();
        let types: Vec<usize> = (0..e).map(|_| rng.random_range(0..4)).collect();
        let burn_left_out = |items: &[f32]| encoder.left_out(items, &types, ranker.device()).into_data().try_to_vec::<f32>().expect("f32 states");
        let reference = burn_left_out(&items);
        let gap = fused.left_out(&items, &types).expect("states").iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(gap < 1e-5, "the fused pass differs from burn's by {gap}");
        group.bench_with_input(BenchmarkId::from_parameter(format!("burn-batched-{e}ev")), &e, |b, _| b.iter(|| black_box(burn_left_out(black_box(&items)))));
        group.bench_with_input(BenchmarkId::from_parameter(format!("fused-prefix-{e}ev")), &e, |b, _| b.iter(|| black_box(fused.left_out(black_box(&items), &types))));
    }
    group.finish();
}

criterion_group!(benches, occlusion);
criterion_main!(benches);

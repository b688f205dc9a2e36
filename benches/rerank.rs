//! Native re-rank latency of the shipped model: 100 server candidates, sessions of 1, 10 and
//! 50 events, real Games titles (group `flex/rerank`, backend/stage); and one on-device
//! learning step (group `cpu/learn`: plain f32 arithmetic, no backend).

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pocketrank::offline::data::Dataset;
use pocketrank::rank::{Candidates, ready};
use pocketrank::learn::LearnConfig;
use pocketrank::{Bundle, Ranker, RerankOptions};

fn rerank(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("models/games/model.bundle")).expect("shipped model");
    let ranker = Ranker::from_bundle(&Bundle::from_bytes(&bytes).expect("bundle"), burn::tensor::Device::flex()).expect("loads");
    let data = Dataset::load(&root.join("../shared/data/games")).expect("../shared/data/games");
    // The longest real history gives the 50-event window; candidates are 100 catalog items.
    let user = (0..data.users.len()).max_by_key(|&u| data.users[u].1.len()).expect("users");
    let history = &data.users[user].1;
    let candidates = data.candidate_list(&(0..100).collect::<Vec<_>>());
    let options = RerankOptions::default();
    let mut group = c.benchmark_group("flex/rerank");
    for events in [1usize, 10, 50] {
        let session = data.events(&history[history.len() - events..]);
        group.bench_with_input(BenchmarkId::from_parameter(format!("{events}ev-100cand")), &session, |b, session| {
            b.iter(|| black_box(ranker.rerank(black_box(session), black_box(&candidates), &options).expect("rerank")))
        });
    }
    group.finish();

    // One on-device learning step: the closed-form update on a 100-item slate.
    let session = data.events(&history[history.len() - 50..]);
    let scored = ready(ranker.score(&session, Candidates::Listed(&candidates), &options)).expect("scores");
    let slate = scored.slate.expect("a non-empty session gives a slate");
    let head = ranker.head_params().expect("head");
    let config = LearnConfig::default();
    c.benchmark_group("cpu/learn").bench_function(BenchmarkId::from_parameter("click-100cand"), |b| {
        b.iter(|| black_box(head.learn(&head, black_box(&slate), &[3], &config)))
    });
}

criterion_group!(benches, rerank);
criterion_main!(benches);

//! Native re-rank latency of the shipped model, 100 server candidates and real Games titles
//! (group `flex/rerank`): the full recompute (nothing remembered: the reference) for sessions
//! of 1, 10 and 50 events, and with a personalizer's memo for a 50-event session: `warm` (no
//! new event, every item seen before), `after-event` (the window moved by one event: a new
//! session state, items cached), `cold` (the session known, 100 titles never seen). And one
//! on-device learning step (group `cpu/learn`: plain f32 arithmetic, no backend).

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use pocketrank::offline::data::Dataset;
use pocketrank::rank::{Candidates, Memo, ready};
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
        group.bench_with_input(BenchmarkId::from_parameter(format!("full-{events}ev-100cand")), &session, |b, session| {
            b.iter(|| black_box(ranker.rerank(black_box(session), black_box(&candidates), &options).expect("rerank")))
        });
    }
    let score = |session: &[pocketrank::Event], candidates: &[pocketrank::Candidate], memo: &mut Memo| ready(ranker.score(session, Candidates::Listed(candidates), &options, memo)).expect("scores");
    let session = data.events(&history[history.len() - 50..]);
    let mut memo = Memo::new(4096);
    score(&session, &candidates, &mut memo);
    group.bench_function(BenchmarkId::from_parameter("warm-50ev-100cand"), |b| b.iter(|| black_box(score(black_box(&session), &candidates, &mut memo))));
    // Windows sliding over a longer history, their items all cached by one pass first: each
    // call meets a new window, as right after an event.
    let long = data.events(&(2000..2150).collect::<Vec<_>>());
    let windows: Vec<&[pocketrank::Event]> = (0..100).map(|i| &long[i..i + 50]).collect();
    for w in &windows {
        score(w, &candidates, &mut memo);
    }
    let mut next = 0;
    group.bench_function(BenchmarkId::from_parameter("after-event-50ev-100cand"), |b| {
        b.iter(|| {
            next = (next + 1) % windows.len();
            black_box(score(windows[next], &candidates, &mut memo))
        })
    });
    let unseen = data.candidate_list(&(1000..1100).collect::<Vec<_>>());
    group.bench_function(BenchmarkId::from_parameter("cold-50ev-100cand"), |b| {
        b.iter_batched(
            || {
                let mut fresh = Memo::new(4096);
                score(&session, &candidates[..1], &mut fresh);
                fresh
            },
            |mut fresh| black_box(score(&session, &unseen, &mut fresh)),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    // One on-device learning step: the closed-form update on a 100-item slate.
    let session = data.events(&history[history.len() - 50..]);
    let scored = score(&session, &candidates, &mut Memo::none());
    let slate = scored.slate.expect("a non-empty session gives a slate");
    let head = ranker.head_params().expect("head");
    let config = LearnConfig::default();
    c.benchmark_group("cpu/learn").bench_function(BenchmarkId::from_parameter("click-100cand"), |b| {
        b.iter(|| black_box(head.learn(&head, black_box(&slate), &[3], &config)))
    });
}

criterion_group!(benches, rerank);
criterion_main!(benches);

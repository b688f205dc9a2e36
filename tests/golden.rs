//! The native side of the golden corpus (`tests/golden/games.json`, made by `pocketrank
//! golden`): the shipped model answers every re-rank, learning run and bad call as recorded.
//! Node (`tests/node/golden.test.mjs`) and chromium (`tests/browser/parity.test.mjs`,
//! `webgpu.test.mjs`, `worker.test.mjs`) replay the same file through the JS API.

mod common;

use pocketrank::Personalizer;
use pocketrank::pipeline::golden::{self, Expected, Step, call, run_step};
use serde_json::Value;

/// Natively the corpus is replayed by the build that made it: differences come from code
/// changes only.
const NATIVE_TOLERANCE: f32 = 1e-6;

fn same(got: &[Expected], want: &[Expected], what: &str) -> f32 {
    assert_eq!(got.iter().map(|e| &e.id).collect::<Vec<_>>(), want.iter().map(|e| &e.id).collect::<Vec<_>>(), "order differs: {what}");
    let mut worst = got.iter().zip(want).map(|(a, b)| (a.score - b.score).abs()).fold(0f32, f32::max);
    for (a, b) in got.iter().zip(want) {
        let terms = |e: &Expected| e.why.as_ref().map(|why| why.iter().map(|w| (w.kind, w.item_id.clone(), w.event_index)).collect::<Vec<_>>());
        assert_eq!(terms(a), terms(b), "{what}: why of {}", a.id);
        let weights = a.why.iter().flatten().zip(b.why.iter().flatten()).map(|(x, y)| (x.weight - y.weight).abs());
        worst = weights.fold(worst, f32::max);
    }
    assert!(worst <= NATIVE_TOLERANCE, "{what}: scores differ by {worst}");
    worst
}

fn expected(step: &Step) -> &[Expected] {
    match step {
        Step::Rerank { expected, .. } => expected,
        Step::Observe { .. } | Step::ClearSession => &[],
    }
}

#[test]
fn the_shipped_model_answers_the_golden_corpus() {
    answers(&common::root().join("tests/golden/games.json"), &common::shipped_bundle_bytes(), 200);
}

/// The retail model's corpus (`pocketrank golden --model models/retail --data <convert-retail
/// output> --server-list pop --users 40`): its rule table, in the rule terms and their why.
#[test]
fn the_retail_model_answers_its_golden_corpus() {
    let path = common::root().join("tests/golden/retail.json");
    let corpus = golden::read(&path).unwrap();
    let rules = corpus.reranks.iter().flat_map(|r| &r.expected).flat_map(|e| e.why.iter().flatten()).filter(|w| w.kind == pocketrank::api::WhyKind::Rule).count();
    assert!(rules >= 5, "rule terms named in the retail corpus: {rules}");
    answers(&path, &std::fs::read(common::root().join("models/retail/model.bundle")).unwrap(), 40);
}

/// Replay the corpus at `path` natively with the bundle `bytes`: every answer as recorded.
fn answers(path: &std::path::Path, bytes: &[u8], least_reranks: usize) {
    let corpus = golden::read(path).unwrap();
    let bytes = bytes.to_vec();
    assert_eq!(pocketrank::bundle::sha256_hex(&bytes), corpus.model_sha256, "the golden corpus was made with another model: run `pocketrank golden` again");
    assert!(corpus.reranks.len() >= least_reranks && corpus.learning.len() >= 4 && corpus.errors.cases.len() >= 20);
    let explained = corpus.reranks.iter().filter(|r| r.expected.iter().any(|e| e.why.is_some())).count();
    assert!(explained >= 5, "explanations in the corpus: {explained}");
    let mut p = Personalizer::from_bundle_bytes(&bytes).unwrap();
    let mut worst = 0f32;
    let kinds: std::collections::HashSet<&str> = corpus.reranks.iter().flat_map(|r| r.events.iter().filter_map(|e| e["type"].as_str())).collect();
    assert_eq!(kinds.len(), 4, "all four event types: {kinds:?}");

    for r in &corpus.reranks {
        p.forget().unwrap();
        for e in &r.events {
            call(&mut p, "observe", std::slice::from_ref(e)).unwrap();
        }
        let got = call(&mut p, "rerank", &[Value::Array(r.candidates.clone()), r.options.clone()]).unwrap().unwrap();
        worst = worst.max(same(&got, &r.expected, &r.name));
    }
    for run in &corpus.learning {
        p.forget().unwrap();
        call(&mut p, "setLearning", std::slice::from_ref(&run.learning)).unwrap();
        for step in &run.steps {
            if let Some(got) = run_step(&mut p, step).unwrap() {
                worst = worst.max(same(&got, expected(step), &run.name));
            }
        }
        let head = p.head().flat();
        let moved = head.iter().zip(&run.head).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(moved <= NATIVE_TOLERANCE, "{}: head differs by {moved}", run.name);
        let learned = head.iter().zip(p.shipped_head().flat()).any(|(a, b)| a != &b);
        assert_eq!(learned, run.learning["enabled"] != false, "{}: whether the head moved", run.name);
    }
    p.forget().unwrap();
    call(&mut p, "setLearning", &[Value::Null]).unwrap();
    for step in &corpus.errors.setup {
        run_step(&mut p, step).unwrap();
    }
    let probe = run_step(&mut p, &corpus.errors.probe).unwrap().unwrap();
    same(&probe, expected(&corpus.errors.probe), "error probe");
    for case in &corpus.errors.cases {
        let err = call(&mut p, &case.call, &case.args).expect_err(&case.message);
        assert_eq!((err.to_string().as_str(), err.code()), (case.message.as_str(), case.code.as_str()), "{}({:?})", case.call, case.args);
        assert_eq!(run_step(&mut p, &corpus.errors.probe).unwrap().unwrap(), probe, "the ranking changed after {}", case.message);
    }
    eprintln!("{} re-ranks, {} learning runs, {} errors; largest score difference {worst:e}", corpus.reranks.len(), corpus.learning.len(), corpus.errors.cases.len());
}

//! Backend plumbing that runs without a GPU: an accelerator must hold the same model, follows
//! the personal head, ranks like the CPU, and the warm-up times both sides on a full request.
//! (WebGPU itself, its choice and its device loss are tested in chromium: tests/browser/webgpu.test.mjs.)

mod common;

use pocketrank::learn::LearnConfig;
use pocketrank::backend::{BackendName, BackendReport};
use pocketrank::{Candidate, Event, EventKind, Personalizer, RerankOptions};

fn slate() -> Vec<Candidate> {
    ["0", "1", "2", "3", "4"]
        .iter()
        .map(|id| Candidate { id: id.to_string(), title: format!("item {id}"), category: None, price: None, server_score: None })
        .collect()
}

#[test]
fn an_accelerator_of_the_same_model_ranks_like_the_cpu_and_follows_learning() {
    let mut cpu_only = Personalizer::new(common::shipped_ranker()).unwrap();
    let mut accelerated = Personalizer::new(common::shipped_ranker()).unwrap();
    let mut frozen = Personalizer::new(common::shipped_ranker()).unwrap();
    frozen.set_learning(LearnConfig { enabled: false, ..LearnConfig::default() }).unwrap();
    // A second CPU ranker stands in for the GPU: same bundle, separate tensors.
    accelerated.use_accelerator(common::shipped_ranker(), BackendReport::new(BackendName::Webgpu, "a stand-in", None)).unwrap();
    assert_eq!(accelerated.backend().name, BackendName::Webgpu);
    for p in [&mut cpu_only, &mut accelerated, &mut frozen] {
        p.observe(Event { item_id: "10".into(), kind: EventKind::View, ts: 1.0, title: None }).unwrap();
        p.rerank(&slate(), &RerankOptions::default()).unwrap();
        // A click on a shown item: the personal head learns, and must reach the accelerator too.
        p.observe(Event { item_id: "3".into(), kind: EventKind::Click, ts: 2.0, title: None }).unwrap();
    }
    let scores = |p: &mut Personalizer| p.rerank(&slate(), &RerankOptions::default()).unwrap();
    let (learned, on_accelerator, unlearned) = (scores(&mut cpu_only), scores(&mut accelerated), scores(&mut frozen));
    assert_eq!(learned, on_accelerator);
    assert_ne!(learned, unlearned, "the click changed the head");
}

#[test]
fn an_accelerator_of_another_model_is_refused() {
    let mut p = Personalizer::new(common::shipped_ranker()).unwrap();
    let bundle = pocketrank::Bundle::from_bytes(&common::shipped_bundle_bytes()).unwrap();
    let other = pocketrank::Ranker::from_parts(
        common::shipped_ranker().model().clone(),
        common::shipped_ranker().config().clone(),
        pocketrank::text::TitleTokenizer::from_bytes(bundle.part(pocketrank::bundle::Part::Tokenizer).unwrap(), 16).unwrap(),
        pocketrank::catalog::Catalog::new(Vec::new()).unwrap(),
        burn::tensor::Device::flex(),
    );
    let err = p.use_accelerator(other, BackendReport::new(BackendName::Webgpu, "another model", None)).unwrap_err();
    assert_eq!(err.to_string(), "accelerator: holds another model than the CPU ranker");
    assert_eq!(p.backend().name, BackendName::Cpu);
}

#[test]
fn the_warm_up_times_a_full_request_on_both_sides() {
    let p = Personalizer::new(common::shipped_ranker()).unwrap();
    let ranker = common::shipped_ranker();
    let (events, candidates) = ranker.synthetic_request(100, ranker.max_events());
    assert_eq!((events.len(), candidates.len()), (ranker.max_events(), 100));
    assert!(candidates.iter().all(|c| ranker.knows(&c.id)), "catalog items, so the ID path runs too");
    let clock = std::time::Instant::now();
    let now = || clock.elapsed().as_secs_f64() * 1e3;
    let future = p.time_backends(&ranker, 100, 3, &now);
    let (cpu, other) = pocketrank::rank::ready(future).expect("CPU futures complete at once");
    assert!(cpu > 0.0 && cpu.is_finite() && other > 0.0 && other.is_finite(), "{cpu} {other}");
}

//! Caching changes no result: a personalizer that remembers item vectors and the session state
//! answers every call of an interleaved script (events, re-ranks, takes that trigger learning,
//! state import, forget, clear, new learning settings, a tighter cache) as one that recomputes
//! everything (`itemCache: 0`), and its memo does the work it should (hits, bounded size).

mod common;

use pocketrank::{Candidate, Event, EventKind, Limits, Personalizer, RerankOptions};

fn candidates(data: &pocketrank::offline::data::Dataset, rows: std::ops::Range<usize>) -> Vec<Candidate> {
    data.candidate_list(&rows.collect::<Vec<_>>())
}

#[test]
fn cached_answers_equal_the_full_recompute_after_every_step() {
    let data = pocketrank::offline::data::Dataset::load(&common::games_dir()).unwrap();
    let bytes = common::shipped_bundle_bytes();
    let mut cached = Personalizer::from_bundle_bytes(&bytes).unwrap();
    let mut full = Personalizer::from_bundle_bytes(&bytes).unwrap();
    full.set_limits(Limits { item_cache: 0, ..Limits::default() }).unwrap();
    let options = RerankOptions::default();
    let home = candidates(&data, 0..100);
    let category = candidates(&data, 60..140);
    let event = |row: usize, kind: EventKind, ts: usize| Event { item_id: data.ids[row].clone(), kind, ts: ts as f64, title: Some(data.titles[row].clone()) };
    let mut worst = 0f32;
    let mut step = |what: &str, cached: &mut Personalizer, full: &mut Personalizer, slate: &[Candidate]| {
        let (a, b) = (cached.rerank(slate, &options).unwrap(), full.rerank(slate, &options).unwrap());
        assert_eq!(a.iter().map(|r| &r.id).collect::<Vec<_>>(), b.iter().map(|r| &r.id).collect::<Vec<_>>(), "order after {what}");
        let diff = a.iter().zip(&b).map(|(x, y)| (x.score - y.score).abs()).fold(0f32, f32::max);
        assert!(diff <= 1e-6, "{what}: cached and full scores differ by {diff}");
        assert_eq!(cached.head(), full.head(), "head after {what}");
        worst = worst.max(diff);
    };
    let both = |f: &dyn Fn(&mut Personalizer), cached: &mut Personalizer, full: &mut Personalizer| {
        f(cached);
        f(full);
    };
    step("an empty session", &mut cached, &mut full, &home);
    for i in 0..12 {
        both(&|p| p.observe(event(200 + 7 * i, EventKind::View, i)).unwrap(), &mut cached, &mut full);
        step("a view", &mut cached, &mut full, if i % 2 == 0 { &home } else { &category });
        step("the same list again (warm)", &mut cached, &mut full, &home);
    }
    // Takes from the shown slate: learning moves the head, the memo stays valid.
    for (i, row) in [3usize, 10, 42].into_iter().enumerate() {
        both(&|p| p.observe(event(row, EventKind::Click, 20 + i)).unwrap(), &mut cached, &mut full);
        step("a take that learned", &mut cached, &mut full, &home);
    }
    both(&|p| p.set_learning(pocketrank::learn::LearnConfig { every: 2, ..Default::default() }).unwrap(), &mut cached, &mut full);
    both(&|p| p.observe(event(5, EventKind::Cart, 30)).unwrap(), &mut cached, &mut full);
    step("new learning settings, a cart", &mut cached, &mut full, &category);
    let state = cached.export_state().unwrap();
    both(&|p| p.clear_session(), &mut cached, &mut full);
    step("clearSession", &mut cached, &mut full, &home);
    both(&|p| assert!(p.import_state(&state).unwrap().restored), &mut cached, &mut full);
    step("importState", &mut cached, &mut full, &home);
    both(&|p| p.forget().unwrap(), &mut cached, &mut full);
    step("forget", &mut cached, &mut full, &home);
    both(&|p| p.observe(event(77, EventKind::Purchase, 40)).unwrap(), &mut cached, &mut full);
    step("a purchase after forget", &mut cached, &mut full, &home);
    cached.set_limits(Limits { item_cache: 16, ..Limits::default() }).unwrap();
    step("a cache smaller than the list", &mut cached, &mut full, &home);
    step("again, evicting as it goes", &mut cached, &mut full, &category);
    eprintln!("largest difference cached vs full recompute: {worst:e}");
}

#[test]
fn the_memo_answers_a_warm_call_without_the_model_and_stays_bounded() {
    use pocketrank::rank::{Candidates, Memo, ready};
    let data = pocketrank::offline::data::Dataset::load(&common::games_dir()).unwrap();
    let ranker = common::shipped_ranker();
    let events: Vec<Event> = data.events(&(300..350).collect::<Vec<_>>());
    let slate = candidates(&data, 0..100);
    let options = RerankOptions::default();
    let mut memo = Memo::new(120);
    ready(ranker.score(&events, Candidates::Listed(&slate), &options, &mut memo)).unwrap();
    assert_eq!((memo.hits, memo.misses, memo.len()), (0, 150, 120), "50 events + 100 candidates encoded once; 120 kept");
    ready(ranker.score(&events, Candidates::Listed(&slate[..60]), &options, &mut memo)).unwrap();
    assert_eq!(memo.misses, 150, "a warm call encodes nothing: the session state is remembered, its 60 items too");
    let other = candidates(&data, 2000..2300);
    ready(ranker.score(&events, Candidates::Listed(&other), &options, &mut memo)).unwrap();
    assert_eq!(memo.len(), 120, "never more than its capacity");
}

//! The long-term profile through the personalizer: purchases that leave the session (a new
//! visit, or the window sliding on) keep their repeat prior, named in `why` without an event;
//! the profile survives export and import, and `forget()` or turning it off empties it.

mod common;

use pocketrank::api::WhyKind;
use pocketrank::learn::LearnConfig;
use pocketrank::{Candidate, Event, EventKind, Personalizer, RerankOptions};

fn event(id: &str, kind: EventKind, ts: f64) -> Event {
    Event { item_id: id.into(), kind, ts, title: None }
}

fn slate() -> Vec<Candidate> {
    ["10", "11", "12", "13", "14"].iter().map(|id| Candidate { id: (*id).into(), title: String::new(), category: None, price: None, server_score: None }).collect()
}

/// The repeat term of `id` in an explained re-rank, and whether `why` names it without an event.
fn repeat_of(p: &mut Personalizer, id: &str) -> (f32, bool) {
    let ranked = p.rerank(&slate(), &RerankOptions { explain: 5, ..RerankOptions::default() }).unwrap();
    let item = ranked.iter().find(|r| r.id == id).unwrap();
    let named = item.why.iter().flatten().any(|w| w.kind == WhyKind::Repeat && w.event_index.is_none() && w.item_id.as_deref() == Some(id));
    (item.terms.repeat, named)
}

#[test]
fn purchases_beyond_the_window_keep_the_repeat_prior() {
    let mut p = Personalizer::from_bundle_bytes(&common::shipped_bundle_bytes()).unwrap();
    let repeat = p.ranker().weights().repeat;
    assert!(repeat != 0.0);
    p.observe(event("12", EventKind::Purchase, 1.0)).unwrap();
    p.observe(event("13", EventKind::View, 2.0)).unwrap();
    assert_eq!(repeat_of(&mut p, "12"), (repeat, false), "in the window: the window's purchase");
    assert!(p.profile().is_empty(), "nothing has left the window yet");

    p.clear_session();
    p.observe(event("20", EventKind::Click, 3.0)).unwrap();
    assert_eq!(p.profile().entries(), vec![("12".to_string(), 1)], "the purchase, not the view");
    assert_eq!(repeat_of(&mut p, "12"), (repeat, true), "a later visit: the profile's repeat prior, named without an event");
    assert_eq!(repeat_of(&mut p, "13").0, 0.0);

    // Bought again in the window: both count.
    p.observe(event("12", EventKind::Purchase, 4.0)).unwrap();
    assert!((repeat_of(&mut p, "12").0 - 2.0 * repeat).abs() < 1e-6);

    // The window sliding on moves purchases into the profile too.
    for i in 0..p.ranker().max_events() {
        p.observe(event(&format!("{}", 100 + i), EventKind::View, 10.0 + i as f64)).unwrap();
    }
    assert_eq!(p.profile().times("12"), 2);

    let mut q = Personalizer::from_bundle_bytes(&common::shipped_bundle_bytes()).unwrap();
    assert!(q.import_state(&p.export_state().unwrap()).unwrap().restored);
    assert_eq!(q.profile().entries(), p.profile().entries(), "the profile is part of the state");
    assert_eq!(q.state_summary().unwrap().profile_items, 1);

    q.forget().unwrap();
    assert!(q.profile().is_empty(), "forget() clears it");
    p.set_learning(LearnConfig { profile: false, ..LearnConfig::default() }).unwrap();
    assert!(p.profile().is_empty(), "turning it off empties it");
    p.observe(event("30", EventKind::Purchase, 100.0)).unwrap();
    p.clear_session();
    assert!(p.profile().is_empty(), "and it stays off");
}

//! Explanations are faithful to the model, on the golden corpus's real sessions
//! ([`pocketrank::offline::faithfulness`]): the event an explanation names first takes more
//! from the item's score, left out and the list re-ranked independently, than any event it
//! does not name; each named part is that independent drop; and deletion curves fall faster
//! in the explanation's order than in attention order or in random orders.

mod common;

use pocketrank::api::{EXPLAINED_BY_DEFAULT, Limits};
use pocketrank::offline::faithfulness::{PART_TOLERANCE, Session, measure};
use pocketrank::{Candidate, Event, RerankOptions};

#[test]
fn explanations_name_what_the_score_depends_on() {
    let ranker = common::shipped_ranker();
    let corpus = common::golden();
    let limits = Limits::default();
    // Real sessions of the server-rerank protocol with at least two events, as recorded.
    let sessions: Vec<Session> = corpus["reranks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"].as_str().unwrap().starts_with("server-rerank") && r["events"].as_array().unwrap().len() >= 2)
        .take(20)
        .map(|r| Session {
            events: r["events"].as_array().unwrap().iter().map(|e| Event::from_json(e, "event", &limits).unwrap()).collect(),
            candidates: Candidate::list_from_json(&r["candidates"], "candidates", &limits).unwrap(),
            options: RerankOptions { explain: EXPLAINED_BY_DEFAULT, ..RerankOptions::default() },
        })
        .collect();
    assert_eq!(sessions.len(), 20);
    let report = measure(&ranker, &sessions, 5, 7).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.items, 200, "ten items a session");
    assert!(report.named >= 190, "nearly every top item owes something to the session: {report:?}");
    assert_eq!(report.first_beats_unnamed, report.named, "{report:?}");
    assert_eq!(report.named_beat_unnamed, report.named, "{report:?}");
    assert!(report.worst_part_gap <= PART_TOLERANCE, "{report:?}");
    assert!(report.area_explained < report.area_attention, "{report:?}");
    assert!(report.area_explained < report.area_random, "{report:?}");
}

//! Native side of the parity contract: the shipped model re-ranks every golden session in
//! exactly the recorded order, with scores within the recorded tolerance. The Node test
//! (`tests/node/parity.test.mjs`) checks the wasm package against the same file.

mod common;

use pocketrank::offline::data::Dataset;
use pocketrank::{Candidate, Event, EventKind, RerankOptions};
use serde_json::Value;

fn ids(value: &Value) -> Vec<String> {
    value.as_array().expect("array of ids").iter().map(|v| v.as_str().expect("id string").to_string()).collect()
}

#[test]
fn golden_corpus_matches_the_shipped_model() {
    let golden = common::golden();
    let data = Dataset::load(&common::from_root(golden["data"].as_str().unwrap())).expect("data set loads");
    let bundle = common::shipped_bundle_bytes();
    assert_eq!(
        pocketrank::bundle::sha256_hex(&bundle),
        golden["modelSha256"].as_str().unwrap(),
        "the golden corpus was made with another model: run `pocketrank golden` again"
    );
    let ranker = common::shipped_ranker();
    let tolerance = golden["tolerance"].as_f64().unwrap() as f32;
    let title = |id: &str| data.titles[data.index[id]].clone();
    let sessions = golden["sessions"].as_array().unwrap();
    let mut worst = 0f32;
    assert!(sessions.len() >= 200, "at least 200 golden sessions, found {}", sessions.len());
    for session in sessions {
        let events: Vec<Event> = ids(&session["events"])
            .iter()
            .enumerate()
            .map(|(i, id)| Event { item_id: id.clone(), kind: EventKind::Purchase, ts: i as f64, title: Some(title(id)) })
            .collect();
        let candidates: Vec<Candidate> = ids(&session["candidates"])
            .iter()
            .map(|id| Candidate { id: id.clone(), title: title(id), category: None, price: None, server_score: None })
            .collect();
        let options = RerankOptions { server_order: session["serverOrder"].as_bool().unwrap() };
        let ranked = ranker.rerank(&events, &candidates, &options).unwrap();
        let expected = session["expected"].as_array().unwrap();
        assert_eq!(ranked.len(), expected.len());
        for (got, want) in ranked.iter().zip(expected) {
            assert_eq!(got.id, want["id"].as_str().unwrap(), "order differs for user {}", session["user"]);
            let want_score = want["score"].as_f64().unwrap() as f32;
            worst = worst.max((got.score - want_score).abs());
            assert!((got.score - want_score).abs() <= tolerance, "user {} item {}: {} vs {}", session["user"], got.id, got.score, want_score);
        }
    }
    eprintln!("largest score difference {worst:e}");
}

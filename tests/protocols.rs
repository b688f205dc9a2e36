//! The evaluation protocols reproduce the reference figures of ../shared/data/README.md for
//! the server's own order, so the model's figures are measured the same way.

mod common;

use pocketrank::offline::data::{Dataset, Split};
use pocketrank::offline::eval::{Metrics, Protocol, cases};

#[test]
fn server_order_gives_the_published_reference() {
    let dir = common::games_dir();
    let data = Dataset::load(&dir).unwrap();
    let server = cases(&data, &dir, Protocol::ServerRerank, Split::Test).unwrap();
    assert_eq!(server.len(), 6000);
    let positions: Vec<Option<usize>> = server.iter().map(|c| c.candidates.iter().position(|&i| i == c.target)).collect();
    assert_eq!(positions.iter().flatten().count(), 1941, "targets present in sasrec.tsv");
    let m = Metrics::from_positions(&positions);
    assert!((m.ndcg10() - 0.0493).abs() < 5e-5, "server order NDCG@10 {}", m.ndcg10());
    assert!((m.hr[1] - 0.0982).abs() < 5e-5, "server order HR@10 {}", m.hr[1]);

    let sampled = cases(&data, &dir, Protocol::Sampled100, Split::Test).unwrap();
    assert_eq!(sampled.len(), 6000);
    for case in &sampled {
        assert_eq!(case.candidates.len(), 100);
        assert!(case.candidates.contains(&case.target));
        assert!(!case.server_order);
        assert!(case.candidates.windows(2).all(|w| data.ids[w[0]].parse::<u64>().unwrap() < data.ids[w[1]].parse::<u64>().unwrap()), "sorted by item id");
    }
}

#[test]
fn the_repeat_prior_comes_from_the_training_split_and_moves_bought_items_only() {
    let dir = common::games_dir();
    let data = Dataset::load(&dir).unwrap();
    let prior = pocketrank::train::repeat_log_odds(&data, 50);
    assert!(prior < -4.0, "Games never repeats a purchase in training: {prior}");

    let ranker = common::shipped_ranker();
    assert!((ranker.config().head.repeat_log_odds - prior).abs() < 1e-9, "the shipped bundle carries the training-split prior");
    let events = |kind| vec![pocketrank::Event { item_id: "3".into(), kind, ts: 0.0, title: Some(data.titles[data.index["3"]].clone()) }];
    let candidates = data.candidate_list(&[data.index["3"], data.index["7"], data.index["9"]]);
    let options = pocketrank::RerankOptions::default();
    let viewed = common::scores(&ranker, &events(pocketrank::EventKind::View), &candidates, &options);
    let bought = common::scores(&ranker, &events(pocketrank::EventKind::Purchase), &candidates, &options);
    // Event types share one trained row, so only the prior differs, and only for the bought item.
    assert!((bought[0] - viewed[0] - prior as f32).abs() < 1e-4, "{bought:?} vs {viewed:?}");
    assert!((bought[1] - viewed[1]).abs() < 1e-5 && (bought[2] - viewed[2]).abs() < 1e-5);
}

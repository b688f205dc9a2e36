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

/// The learning protocol on a catalog smaller than its 20-item slates returns (it used to loop
/// for ever looking for a 20th distinct item).
#[test]
fn the_learning_protocol_runs_on_a_catalog_of_five_items() {
    let dir = std::env::temp_dir().join(format!("pocketrank-tiny-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("candidates")).unwrap();
    std::fs::write(dir.join("items.tsv"), "item_id\ttitle\n0\tA\n1\tB\n2\tC\n3\tD\n4\tE\n").unwrap();
    std::fs::write(dir.join("sequences.tsv"), "user_id\tseq\nu1\t0 1 2 3 4 0 1\nu2\t4 3 2 1 0 4\n").unwrap();
    std::fs::write(dir.join("candidates/random.tsv"), "u1\t0 1 2 3 4\nu2\t0 1 2 3 4\n").unwrap();
    let data = Dataset::load(&dir).unwrap();
    let all = cases(&data, &dir, Protocol::Sampled100, Split::Test).unwrap();
    let mut p = pocketrank::Personalizer::new(common::shipped_ranker()).unwrap();
    let m = pocketrank::offline::eval::evaluate_learning(&mut p, &data, &all, 2, 6, || {}).unwrap();
    assert_eq!(m.frozen_k.users, 2);
    assert!(m.lessons > 0);
}

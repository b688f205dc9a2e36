//! The evaluation protocols reproduce the reference figures of ../shared/data/README.md for
//! the server's own order, so the model's figures are measured the same way.

mod common;

use pocketrank::data::{Dataset, Split};
use pocketrank::eval::{Metrics, Protocol, cases};

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

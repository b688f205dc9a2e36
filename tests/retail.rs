//! The shipped retail model (`models/retail`): its association rules load, complete a cart
//! with Spark's `transform` semantics, add the rule term to a re-rank, and a damaged rule
//! table is refused on load.

mod common;

use pocketrank::bundle::Part;
use pocketrank::{Bundle, Candidate, Event, EventKind, Personalizer, RerankOptions};

fn retail_bytes() -> Vec<u8> {
    std::fs::read(common::root().join("models/retail/model.bundle")).expect("models/retail/model.bundle is committed")
}

fn cart(id: &str, ts: f64) -> Event {
    Event { item_id: id.into(), kind: EventKind::Cart, ts, title: None }
}

fn candidate(id: &str) -> Candidate {
    Candidate { id: id.into(), title: String::new(), category: None, price: None, server_score: None }
}

#[test]
fn complements_and_the_rule_term_follow_the_table() {
    let mut p = Personalizer::from_bundle_bytes(&retail_bytes()).unwrap();
    let rules = p.ranker().relations().rules.as_ref().expect("the retail model ships rules");
    let weight = p.ranker().weights().rule;
    assert!(weight > 0.0, "the rule weight chosen on validation");
    // The antecedent of the strongest rule, put in the cart.
    let best = rules.rules().iter().max_by(|a, b| a.confidence.total_cmp(&b.confidence)).unwrap().clone();
    let ids = p.ranker().catalog().ids().to_vec();
    let id = |row: u32| ids[row as usize - 1].clone();
    assert!(p.complements(5).unwrap().is_empty(), "an empty cart has no complements");
    for (ts, &row) in best.antecedent.iter().enumerate() {
        p.observe(cart(&id(row), ts as f64)).unwrap();
    }
    let proposed = p.complements(5).unwrap();
    assert!(!proposed.is_empty() && proposed.len() <= 5);
    let in_cart: Vec<String> = best.antecedent.iter().map(|&r| id(r)).collect();
    assert!(proposed.iter().all(|c| !in_cart.contains(&c.id)), "items in the cart are never proposed");
    assert!(proposed.iter().all(|c| c.because.iter().all(|b| in_cart.contains(b))), "every rule's antecedent is inside the cart");
    assert!(proposed.windows(2).all(|w| w[0].confidence >= w[1].confidence), "best confidence first");
    assert!(proposed.iter().any(|c| c.id == id(best.consequent) && c.confidence == best.confidence));
    assert_eq!(p.complements(0).unwrap(), vec![]);
    // contract: count-k
    assert_eq!(p.complements(1001).unwrap_err().to_string(), "k: must be an integer in 0..=1000");

    // The consequent gets the rule term, weighted; an item no rule proposes gets none.
    let target = id(best.consequent);
    let other = ids.iter().find(|i| !proposed.iter().any(|c| &c.id == *i) && !in_cart.contains(i)).unwrap().clone();
    let ranked = p.rerank(&[candidate(&other), candidate(&target)], &RerankOptions::default()).unwrap();
    let term = |id: &str| ranked.iter().find(|r| r.id == id).unwrap().terms.clone();
    assert!((term(&target).rule - weight * best.confidence).abs() < 1e-6, "{:?}", term(&target));
    assert!(term(&target).rule_from.is_some());
    assert_eq!(term(&other).rule, 0.0);
    // Views are not a cart.
    p.clear_session();
    for (ts, &row) in best.antecedent.iter().enumerate() {
        p.observe(Event { kind: EventKind::View, ..cart(&id(row), ts as f64) }).unwrap();
    }
    assert!(p.complements(5).unwrap().is_empty());
    let ranked = p.rerank(&[candidate(&target)], &RerankOptions::default()).unwrap();
    assert_eq!(ranked[0].terms.rule, 0.0);
}

// contract: bundle-rules
#[test]
fn a_damaged_rule_table_is_refused_on_load() {
    let bundle = Bundle::from_bytes(&retail_bytes()).unwrap();
    let table = bundle.part(Part::Rules).unwrap().to_vec();
    let load = |b: Bundle| Personalizer::from_bundle_bytes(&b.to_bytes()).map(|_| ()).unwrap_err().to_string();
    assert!(load(bundle.clone().with(Part::Rules, table[..table.len() - 3].to_vec())).contains("rules.bin: truncated"));
    let mut other = table.clone();
    other[0] ^= 1;
    assert!(load(bundle.clone().with(Part::Rules, other)).contains("rules.bin: built for another catalog"));
    let mut trailing = table.clone();
    trailing.push(7);
    assert!(load(bundle.clone().with(Part::Rules, trailing)).contains("bytes after the last rule"));
    // A rule weight with no table to weigh.
    assert!(load(bundle.clone().without(Part::Rules)).contains("head.rule_weight 16 needs a finite value and the rules.bin part"));
    // A consequent row beyond the catalog: the first rule's consequent byte raised past it.
    let e = load(bundle.with(Part::Rules, rule_with_row_beyond(&table)));
    assert!(e.contains("is outside the catalog's rows"), "{e}");
}

/// `table` with its first rule's consequent set to a row far beyond any catalog.
fn rule_with_row_beyond(table: &[u8]) -> Vec<u8> {
    let mut out = table[..36].to_vec();
    let length = table[36] as usize;
    out.push(table[36]);
    let mut at = 37;
    // Skip the antecedent's LEB128 rows.
    for _ in 0..length {
        while table[at] & 0x80 != 0 {
            out.push(table[at]);
            at += 1;
        }
        out.push(table[at]);
        at += 1;
    }
    // Skip the old consequent, write row 2^20.
    while table[at] & 0x80 != 0 {
        at += 1;
    }
    at += 1;
    out.extend([0x80, 0x80, 0x40]);
    out.extend_from_slice(&table[at..]);
    out
}

#[test]
fn the_retail_model_directory_is_whole_and_small() {
    let dir = common::root().join("models/retail");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.sha256")).unwrap();
    for line in manifest.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(pocketrank::bundle::sha256_hex(&std::fs::read(dir.join(name)).unwrap()), sum, "{name}");
    }
    for name in ["model.bundle", "MODEL_CARD.md", "config.json", "report.json"] {
        assert!(manifest.contains(&format!("  {name}")), "{name} is listed");
    }
    assert!(retail_bytes().len() <= 2_000_000, "the download stays within 2 MB");
}

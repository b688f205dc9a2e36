//! The shipped bundle verifies, and any damage to it is refused with a clear error.

mod common;

use pocketrank::bundle::{Part, quant};
use pocketrank::{Bundle, ErrorKind, Personalizer};

#[test]
fn shipped_bundle_loads() {
    let p = Personalizer::from_bundle_bytes(&common::shipped_bundle_bytes()).expect("shipped bundle loads");
    assert!(p.ranker().config().item.n_items > 10_000);
}

// contract: bundle-damaged
#[test]
fn truncated_bundle_is_refused() {
    let bytes = common::shipped_bundle_bytes();
    for cut in [0, 10, 100, bytes.len() / 2, bytes.len() - 1] {
        let err = Bundle::from_bytes(&bytes[..cut]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Bundle, "cut at {cut}: {err}");
        assert!(err.to_string().starts_with("model bundle rejected: "), "{err}");
    }
}

#[test]
fn tampered_weights_are_refused_by_name() {
    let mut bytes = common::shipped_bundle_bytes();
    // A byte in the middle of weights.bpk: after the magic, the header and config.json.
    let shipped = Bundle::from_bytes(&bytes).unwrap();
    let header_len = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    let middle = 20 + header_len + shipped.part(Part::Config).unwrap().len() + shipped.part(Part::Weights).unwrap().len() / 2;
    bytes[middle] ^= 0x01;
    let err = Personalizer::from_bundle_bytes(&bytes).err().expect("tampered bundle must be refused");
    assert_eq!(err.to_string(), "model bundle rejected: part 'weights.bpk' fails its sha256 check (corrupted or tampered)");
}

/// A bundle whose parts are self-consistent (digests recomputed) but whose content would
/// break the model is refused before anything is built, not with a panic.
// contract: bundle-values
#[test]
fn consistent_but_impossible_bundles_are_refused() {
    let shipped = Bundle::from_bytes(&common::shipped_bundle_bytes()).unwrap();
    let mut config = common::config_of(&shipped);
    config["session"]["n_heads"] = 3.into();
    let bad_heads = common::with_config(&shipped, &config);
    let err = Personalizer::from_bundle_bytes(&bad_heads.to_bytes()).err().unwrap();
    assert_eq!(err.to_string(), "model bundle rejected: config.json: session.n_heads 3 does not divide d_model 64");

    config["session"]["n_heads"] = 2.into();
    config["item"]["n_items"] = 100_000_000_000u64.into();
    let huge = common::with_config(&shipped, &config);
    let err = Personalizer::from_bundle_bytes(&huge.to_bytes()).err().unwrap();
    assert!(err.to_string().contains("item.n_items 100000000000 is outside"), "{err}");

    let mut catalog = shipped.part(Part::Catalog).unwrap().to_vec();
    catalog.extend_from_slice(b"\n0");
    let duplicate = shipped.clone().with(Part::Catalog, catalog);
    let err = Personalizer::from_bundle_bytes(&duplicate.to_bytes()).err().unwrap();
    assert!(err.to_string().contains("catalog.txt lists"), "{err}");

    let weights = shipped.part(Part::Weights).unwrap();
    config["item"]["n_items"] = common::config_of(&shipped)["item"]["n_items"].clone();
    config["session"]["dropout"] = 5.0.into();
    let err = Personalizer::from_bundle_bytes(&common::with_config(&shipped, &config).to_bytes()).err().unwrap();
    assert_eq!(err.to_string(), "model bundle rejected: config.json: session.dropout 5 is outside [0, 1)");
    // A token id beyond the token table (the tokenizer's sums recomputed) would index out of it.
    let mut tokenizer: serde_json::Value = serde_json::from_slice(shipped.part(Part::Tokenizer).unwrap()).unwrap();
    tokenizer["model"]["vocab"]["zzzz"] = 1_000_000.into();
    let far = shipped.clone().with(Part::Tokenizer, serde_json::to_vec(&tokenizer).unwrap());
    let err = Personalizer::from_bundle_bytes(&far.to_bytes()).err().unwrap();
    assert!(err.to_string().contains("ids up to 1000000, the model's token table only"), "{err}");

    let other_weights = shipped.clone().with(Part::Weights, weights[..weights.len() / 2].to_vec());
    let err = Personalizer::from_bundle_bytes(&other_weights.to_bytes()).err().unwrap();
    assert!(err.to_string().starts_with("model bundle rejected: weights.bpk"), "{err}");
}

/// Int8 embedding tables (`pocketrank::bundle::quant`): a bundle made from the same model with and
/// without them ranks the same, is a fraction of the size, and a damaged table part is
/// refused with a clear error even when its digest was recomputed.
#[test]
fn int8_tables_rank_like_the_float_weights_and_damage_is_refused() {
    use burn::tensor::Device;
    use pocketrank::{Ranker, RerankOptions};

    let shipped = Bundle::from_bytes(&common::shipped_bundle_bytes()).unwrap();
    let ranker = Ranker::from_bundle(&shipped, Device::flex()).unwrap();
    let (float_weights, none) = quant::pack(ranker.model(), false).unwrap();
    assert!(none.is_none());
    let (weights, q8) = quant::pack(ranker.model(), true).unwrap();
    let float = shipped.clone().with(Part::Weights, float_weights).without(Part::Quantized);
    let (int8_bytes, q8) = (weights.len() + q8.as_ref().map_or(0, Vec::len), q8.unwrap());
    let int8 = shipped.clone().with(Part::Weights, weights).with(Part::Quantized, q8.clone());
    // The weights alone: the other parts (tokenizer, catalog, transition table) are the same.
    let float_bytes = float.part(Part::Weights).unwrap().len();
    assert!(int8_bytes * 3 < float_bytes, "int8 {int8_bytes} B vs f32 {float_bytes} B");

    let (a, b) = (Ranker::from_bundle(&float, Device::flex()).unwrap(), Ranker::from_bundle(&int8, Device::flex()).unwrap());
    let (events, candidates) = a.synthetic_request(100, a.max_events());
    let options = RerankOptions::server_order(true);
    let (sa, sb) = (common::scores(&a, &events, &candidates, &options), common::scores(&b, &events, &candidates, &options));
    let spread = sa.iter().fold(f32::MIN, |m, &s| m.max(s)) - sa.iter().fold(f32::MAX, |m, &s| m.min(s));
    let largest = sa.iter().zip(&sb).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(largest < 0.05 * spread, "int8 moved a score by {largest} (spread {spread})");

    for (damaged, expected) in [
        (q8[..q8.len() - 1].to_vec(), "embeddings.q8"),
        ([q8.clone(), vec![0]].concat(), "bytes after its two tables"),
        ({ let mut wide = q8.clone(); wide[4] = wide[4].wrapping_add(1); wide }, "embeddings.q8"),
    ] {
        let bad = int8.clone().with(Part::Quantized, damaged);
        let bytes = bad.to_bytes();
        let err = Personalizer::from_bundle_bytes(&bytes).err().expect("a damaged int8 part must be refused");
        assert_eq!(err.kind(), ErrorKind::Bundle, "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

/// The browser download stays within the 2 MB the model may take (weights, tokenizer,
/// catalog and transition table: everything in the one file).
#[test]
fn shipped_bundle_fits_the_two_megabyte_budget() {
    let bytes = common::shipped_bundle_bytes();
    assert!(bytes.len() <= 2_000_000, "models/games/model.bundle is {} bytes", bytes.len());
}

/// A transition table adds exactly weight × P(candidate | recent items) to a candidate's
/// score and nothing to the others; a weight without a table, or a table for another
/// catalog, is refused by name.
#[test]
fn transition_term_adds_its_weighted_probability_and_bad_tables_are_refused() {
    use burn::tensor::Device;
    use pocketrank::relations::transitions::Transitions;
    use pocketrank::{Candidate, Event, EventKind, Ranker, RerankOptions};

    let shipped = Bundle::from_bytes(&common::shipped_bundle_bytes()).unwrap();
    let mut config = common::config_of(&shipped);
    let n_items = config["item"]["n_items"].as_u64().unwrap() as usize;
    config["head"]["transition_weight"] = 0.0.into();
    let plain = common::with_config(&shipped, &config).without(Part::Transitions);
    // Catalog rows 1 → 2 (twice) and 1 → 3 (once): P(2|1) = 2/3, P(3|1) = 1/3.
    let sequences: [&[usize]; 3] = [&[1, 2], &[1, 2], &[1, 3]];
    let table = Transitions::count(sequences, n_items + 1, 4);
    config["head"]["transition_weight"] = 6.0.into();
    let with_table = common::with_config(&shipped, &config).with(Part::Transitions, table.to_bytes());

    let (a, b) = (Ranker::from_bundle(&plain, Device::flex()).unwrap(), Ranker::from_bundle(&with_table, Device::flex()).unwrap());
    let catalog: Vec<&str> = std::str::from_utf8(shipped.part(Part::Catalog).unwrap()).unwrap().lines().collect();
    let event = Event { item_id: catalog[0].into(), kind: EventKind::View, ts: 0.0, title: None };
    let candidates: Vec<Candidate> = catalog[1..5].iter().map(|id| Candidate { id: id.to_string(), title: String::new(), category: None, price: None, server_score: None }).collect();
    let options = RerankOptions::server_order(true);
    let (sa, sb) = (common::scores(&a, std::slice::from_ref(&event), &candidates, &options), common::scores(&b, std::slice::from_ref(&event), &candidates, &options));
    let added: Vec<f32> = sa.iter().zip(&sb).map(|(x, y)| y - x).collect();
    let expected = [6.0 * 170.0 / 255.0, 6.0 * 85.0 / 255.0, 0.0, 0.0];
    for (got, want) in added.iter().zip(expected) {
        assert!((got - want).abs() < 1e-4, "added {added:?}, expected {expected:?}");
    }
    // The term is kept apart, and names the session event it follows.
    let ranked = b.rerank(&[event], &candidates, &options).unwrap();
    let top = ranked.iter().find(|r| r.id == catalog[1]).unwrap();
    assert!((top.terms.transition - 6.0 * 170.0 / 255.0).abs() < 1e-5, "{:?}", top.terms);
    assert_eq!(top.terms.transition_from.len(), 1);
    assert_eq!(top.terms.transition_from[0].0, 0, "the first (only) event");
    assert_eq!(top.score, top.terms.total());

    let no_table = with_table.clone().without(Part::Transitions);
    let err = Personalizer::from_bundle_bytes(&no_table.to_bytes()).err().unwrap();
    assert!(err.to_string().contains("head.transition_weight 6 needs a finite value and the transitions.bin part"), "{err}");
    let other_catalog = with_table.with(Part::Transitions, Transitions::count(sequences, 4, 4).to_bytes());
    let err = Personalizer::from_bundle_bytes(&other_catalog.to_bytes()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Bundle);
    assert!(err.to_string().contains(&format!("transitions.bin: covers 4 catalog rows, the model has {}", n_items + 1)), "{err}");
}

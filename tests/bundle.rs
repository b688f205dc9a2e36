//! The shipped bundle verifies, and any damage to it is refused with a clear error.

mod common;

use pocketrank::{Bundle, ErrorKind, Personalizer};

#[test]
fn shipped_bundle_loads() {
    let p = Personalizer::from_bundle_bytes(&common::shipped_bundle_bytes()).expect("shipped bundle loads");
    assert!(p.ranker().config().item.n_items > 10_000);
}

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
    // A byte in the middle of the file lies in the weights, by far the largest part.
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let err = Personalizer::from_bundle_bytes(&bytes).err().expect("tampered bundle must be refused");
    assert_eq!(err.to_string(), "model bundle rejected: part 'weights.bpk' fails its sha256 check (corrupted or tampered)");
}

/// A bundle whose parts are self-consistent (digests recomputed) but whose content would
/// break the model is refused before anything is built, not with a panic.
#[test]
fn consistent_but_impossible_bundles_are_refused() {
    let shipped = Bundle::from_bytes(&common::shipped_bundle_bytes()).unwrap();
    let mut config: serde_json::Value = serde_json::from_slice(&shipped.config).unwrap();
    config["session"]["n_heads"] = 3.into();
    let bad_heads = Bundle { config: serde_json::to_vec(&config).unwrap(), ..shipped.clone() };
    let err = Personalizer::from_bundle_bytes(&bad_heads.to_bytes()).err().unwrap();
    assert_eq!(err.to_string(), "model bundle rejected: config.json: session.n_heads 3 does not divide d_model 64");

    config["session"]["n_heads"] = 2.into();
    config["item"]["n_items"] = 100_000_000_000u64.into();
    let huge = Bundle { config: serde_json::to_vec(&config).unwrap(), ..shipped.clone() };
    let err = Personalizer::from_bundle_bytes(&huge.to_bytes()).err().unwrap();
    assert!(err.to_string().contains("item.n_items 100000000000 is outside"), "{err}");

    let mut catalog = shipped.catalog.clone();
    catalog.extend_from_slice(b"\n0");
    let duplicate = Bundle { catalog, ..shipped.clone() };
    let err = Personalizer::from_bundle_bytes(&duplicate.to_bytes()).err().unwrap();
    assert!(err.to_string().contains("catalog.txt lists"), "{err}");

    let other_weights = Bundle { weights: shipped.weights[..shipped.weights.len() / 2].to_vec(), ..shipped };
    let err = Personalizer::from_bundle_bytes(&other_weights.to_bytes()).err().unwrap();
    assert!(err.to_string().starts_with("model bundle rejected: weights.bpk"), "{err}");
}

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

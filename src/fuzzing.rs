//! Entry points of the fuzz targets (`fuzz/fuzz_targets/*.rs`), one per parser of outside
//! bytes. `tests/fuzz_corpus.rs` replays every committed corpus and crash input through these
//! same functions in ordinary `cargo test`, so CI needs neither a fuzzing engine nor nightly.
//! Each must return (an `Ok` or an `Err`) for every input: a panic is a bug.

use crate::api::{Candidate, Event, Limits, RerankOptions, settings_from_json};
use crate::learn::LearnConfig;
use crate::private::PrivacyParams;
use crate::relations::transitions::Transitions;
use crate::state::PersonalState;

/// Load a bundle as a page does: framing, sums, decoding, model construction.
pub fn bundle(data: &[u8]) -> bool {
    crate::Personalizer::from_bundle_bytes(data).is_ok()
}

/// Read a personal state for a fixed model fingerprint.
pub fn state(data: &[u8]) -> bool {
    PersonalState::from_bytes(data, &[0; 32]).is_ok()
}

/// Decode request arguments from JSON bytes: candidates, an event, options, learning and privacy
/// settings (each parser sees the same value).
pub fn request(data: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return false };
    let limits = Limits::default();
    let reference = Candidate::list_from_json(&value, "candidates", &limits);
    // The browser's fast path answers only where the reference accepts, with its candidates.
    if let Some(fast) = Candidate::plain_list_from_json_text(data, &limits) {
        assert_eq!(reference.as_ref().ok(), Some(&fast), "the fast candidate path disagrees with the reference");
    }
    let candidates = reference.is_ok();
    let event = Event::from_json(&value, "event", &limits).is_ok();
    let options = RerankOptions::from_json(&value, "options").is_ok();
    let learning = settings_from_json::<LearnConfig>(value.clone(), "learning").is_ok_and(|c| c.validate("learning").is_ok());
    let privacy = settings_from_json::<PrivacyParams>(value.clone(), "privacy").is_ok_and(|p| p.validate("privacy").is_ok());
    let limits = settings_from_json::<Limits>(value, "limits").is_ok_and(|l| l.validate("limits").is_ok());
    candidates || event || options || learning || privacy || limits
}

/// Parse `transitions.bin`; the first byte picks the catalog size it is read for.
pub fn transitions(data: &[u8]) -> bool {
    let Some((&rows, table)) = data.split_first() else { return false };
    Transitions::from_bytes(table, usize::from(rows)).is_ok()
}

//! Shared by the integration tests: paths, the shipped model, the golden corpus.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pocketrank::rank::{Candidates, ready};
use pocketrank::{Bundle, Candidate, Event, Ranker, RerankOptions};
use serde_json::Value;

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/data/games`, the real data every figure and parity test uses.
pub fn games_dir() -> PathBuf {
    root().join("../shared/data/games")
}

/// The shipped model's bundle bytes.
pub fn shipped_bundle_bytes() -> Vec<u8> {
    std::fs::read(root().join("models/games/model.bundle")).expect("models/games/model.bundle is committed")
}

/// The shipped model, on the CPU.
pub fn shipped_ranker() -> Ranker {
    let bundle = Bundle::from_bytes(&shipped_bundle_bytes()).expect("the shipped bundle verifies");
    Ranker::from_bundle(&bundle, burn::tensor::Device::flex()).expect("the shipped bundle loads")
}

/// The golden corpus.
pub fn golden() -> Value {
    let text = std::fs::read_to_string(root().join("tests/golden/games.json")).expect("tests/golden/games.json exists");
    serde_json::from_str(&text).expect("golden corpus is JSON")
}

/// Resolve a path written relative to the project root.
pub fn from_root(relative: &str) -> PathBuf {
    let p = Path::new(relative);
    if p.is_absolute() { p.to_path_buf() } else { root().join(p) }
}

/// Scores of `candidates` in their given order, through the one scoring path.
pub fn scores(ranker: &Ranker, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Vec<f32> {
    let scored = ready(ranker.score(events, Candidates::Listed(candidates), options, &mut pocketrank::rank::Memo::none())).expect("the CPU scores at once");
    scored.scored.totals(&ranker.weights())
}

/// A bundle's config.json as JSON.
pub fn config_of(bundle: &Bundle) -> Value {
    serde_json::from_slice(bundle.part(pocketrank::bundle::Part::Config).unwrap()).unwrap()
}

/// `bundle` with `config` as its config.json.
pub fn with_config(bundle: &Bundle, config: &Value) -> Bundle {
    bundle.clone().with(pocketrank::bundle::Part::Config, serde_json::to_vec(config).unwrap())
}

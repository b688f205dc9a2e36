//! `pocketrank consistency`: the personalization sweep on the server-rerank protocol
//! ([`crate::offline::consistency`]) on validation and test, and the test trade-off as a PNG.
//!
//! It chooses nothing: on this data the validation split cannot choose a blend. The published
//! server lists were retrieved for the test users with the validation target in their history,
//! so on validation the server's own order scores NDCG@10 0.51 and every blend loses to it.
//! A choice needs a stand-in server retrieving from the training part, as the server trust's
//! calibration does; until then the default stays 1 (fully personal).

use std::path::Path;

use burn::tensor::Device;
use serde_json::json;

use crate::error::Result;
use crate::offline::consistency::sweep;
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{Protocol, cases};
use crate::pipeline::load_ranker;

/// The blends swept: 0, 0.1, …, 1.
fn blends() -> Vec<f32> {
    (0..=10).map(|i| i as f32 / 10.0).collect()
}

/// Sweep validation and test; optionally draw the test points to `plot`.
pub fn run(model: &Path, data_dir: &Path, plot: Option<&Path>) -> Result<serde_json::Value> {
    let ranker = load_ranker(model, Device::flex())?;
    let data = Dataset::load(data_dir)?;
    let validation = sweep(&ranker, &data, &cases(&data, data_dir, Protocol::ServerRerank, Split::Validation)?, &blends())?;
    let test = sweep(&ranker, &data, &cases(&data, data_dir, Protocol::ServerRerank, Split::Test)?, &blends())?;
    if let Some(path) = plot {
        crate::train::write_tradeoff(&test, None, path)?;
    }
    Ok(json!({ "protocol": "server-rerank", "validation": validation, "test": test }))
}

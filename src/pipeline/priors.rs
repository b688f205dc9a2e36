//! `pocketrank calibrate`: re-estimate a model directory's data-derived priors (the repeat
//! prior) from a data set's training split, and rewrite its bundle, config and manifest.

use std::path::Path;

use burn::tensor::Device;

use super::{BUNDLE_FILE, pretty_json, read_bundle, rewrite_manifest, write_file};
use crate::bundle::{Bundle, Part, read_config};
use crate::error::Result;
use crate::offline::data::Dataset;
use crate::rank::Ranker;

/// Rewrite `model`'s priors from `data_dir`'s training split; returns the repeat prior.
pub fn recalibrate(model: &Path, data_dir: &Path) -> Result<f64> {
    let bundle = read_bundle(model)?;
    // Read with the bundle's own migrations, so a config written before a prior existed gets it.
    let mut config = read_config(bundle.required(Part::Config)?)?;
    let data = Dataset::load(data_dir)?;
    let prior = crate::train::repeat_log_odds(&data, config.session.max_events);
    config.head.repeat_log_odds = prior;
    let config_bytes = pretty_json(&config)?;
    let bundle = bundle.with(Part::Config, config_bytes.clone());
    // Loading it back proves the rewritten bundle is usable before anything is replaced.
    let bytes = bundle.to_bytes();
    Ranker::from_bundle(&Bundle::from_bytes(&bytes)?, Device::flex())?;
    write_file(model, BUNDLE_FILE, &bytes)?;
    write_file(model, "config.json", &config_bytes)?;
    rewrite_manifest(model)?;
    Ok(prior)
}

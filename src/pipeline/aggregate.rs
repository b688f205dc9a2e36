//! `pocketrank aggregate`: many shoppers' private updates averaged into a new shipped head.

use std::path::Path;

use burn::tensor::Device;

use super::{BUNDLE_FILE, read_bundle, write_file, write_manifest};
use crate::bundle::{Bundle, Part, to_hex};
use crate::error::{Error, Result};
use crate::private::{PrivateUpdate, average};
use crate::rank::Ranker;

/// Average updates into the shipped head and write a new bundle; returns how many there were.
pub fn aggregate(model: &Path, updates_path: &Path, out: &Path) -> Result<usize> {
    let bundle = read_bundle(model)?;
    let mut ranker = Ranker::from_bundle(&bundle, Device::flex())?;
    let text = std::fs::read_to_string(updates_path).map_err(|e| Error::io(updates_path, e))?;
    let updates = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str::<PrivateUpdate>(l).map_err(|e| Error::invalid(format!("{}:{}", updates_path.display(), i + 1), e)))
        .collect::<Result<Vec<_>>>()?;
    let mean = average(&updates, &to_hex(ranker.fingerprint()))?;
    let mut head = ranker.head_params()?;
    head.add_shareable(&mean)?;
    ranker.set_head(&head)?;
    let new_bytes = with_head(bundle, &ranker)?.to_bytes();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_file(out, BUNDLE_FILE, &new_bytes)?;
    write_manifest(out, &[BUNDLE_FILE])?;
    Ok(updates.len())
}


/// `bundle` with its weights replaced by `ranker`'s (whose head changed): a quantised bundle
/// keeps its int8 tables as they are.
pub fn with_head(bundle: Bundle, ranker: &Ranker) -> Result<Bundle> {
    let quantized = bundle.part(Part::Quantized).is_some();
    Ok(bundle.with(Part::Weights, crate::bundle::quant::pack(ranker.model(), quantized)?.0))
}

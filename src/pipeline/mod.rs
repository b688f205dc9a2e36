//! Pipeline steps behind the command line (feature `cli`): what a model directory holds and
//! how each step writes it. The CLI only parses arguments and prints; everything it does
//! happens here.
//!
//! A model directory: `model.bundle` (what browsers download), `config.json`, `report.json`
//! (every measured figure), `MODEL_CARD.md`, optional pictures and lists, and
//! `MANIFEST.sha256` over all of them.

pub mod aggregate;
pub mod card;
pub mod completion;
pub mod consistency;
pub mod evaluation;
pub mod faithfulness;
pub mod golden;
pub mod model_dir;
pub mod priors;
pub mod request;
pub mod rules;
pub mod sign;
pub mod titles;
pub mod transitions;

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::bundle::{Bundle, sha256_hex};
use crate::error::{Error, Result};
use crate::rank::Ranker;

/// The bundle file inside a model directory.
pub const BUNDLE_FILE: &str = "model.bundle";

/// The sha256 manifest inside a model directory.
pub const MANIFEST_FILE: &str = "MANIFEST.sha256";

/// A model directory's bundle path, or `model` itself when it is a bundle file.
pub fn bundle_path(model: &Path) -> PathBuf {
    if model.is_dir() { model.join(BUNDLE_FILE) } else { model.to_path_buf() }
}

/// The verified bundle of a model directory (or a bundle file).
pub fn read_bundle(model: &Path) -> Result<Bundle> {
    let path = bundle_path(model);
    Bundle::from_bytes(&std::fs::read(&path).map_err(|e| Error::io(&path, e))?)
}

/// A model directory (or bundle file) loaded on `device`.
pub fn load_ranker(model: &Path, device: Device) -> Result<Ranker> {
    Ranker::from_bundle(&read_bundle(model)?, device)
}

/// Write `bytes` to `dir/name`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
}

/// `value` as pretty JSON bytes.
pub fn pretty_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| Error::model(e.to_string()))
}

/// Write MANIFEST.sha256 (`sha256sum` format) over `names` in `dir`.
pub fn write_manifest<S: AsRef<str>>(dir: &Path, names: &[S]) -> Result<()> {
    let mut manifest = String::new();
    for name in names.iter().map(AsRef::as_ref) {
        let bytes = std::fs::read(dir.join(name)).map_err(|e| Error::io(&dir.join(name), e))?;
        manifest.push_str(&format!("{}  {name}\n", sha256_hex(&bytes)));
    }
    let path = dir.join(MANIFEST_FILE);
    std::fs::write(&path, manifest).map_err(|e| Error::io(&path, e))
}


/// Recompute MANIFEST.sha256 over the files it already lists.
pub fn rewrite_manifest(dir: &Path) -> Result<()> {
    let path = dir.join(MANIFEST_FILE);
    let old = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let names: Vec<&str> = old.lines().filter_map(|l| l.split_once("  ").map(|(_, n)| n)).collect();
    write_manifest(dir, &names)
}


/// A model directory's report.json.
pub fn read_report(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("report.json");
    let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_slice(&text).map_err(|e| Error::invalid(path.display(), e))
}

/// Copy the files of model directory `from` into `to` (created), to rewrite some of them there.
pub fn copy_model_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let file = entry.map_err(|e| Error::io(from, e))?.path();
        if file.is_file() {
            let target = to.join(file.file_name().unwrap_or_default());
            std::fs::copy(&file, &target).map_err(|e| Error::io(&target, e))?;
        }
    }
    Ok(())
}

/// Add `section` to the model card in `dir` (if it has one), before its hand-written
/// measurements, so those stay last.
pub fn add_card_section(dir: &Path, section: &str) -> Result<()> {
    let card_path = dir.join("MODEL_CARD.md");
    if let Ok(card) = std::fs::read_to_string(&card_path) {
        let at = card.find("\n## Measured after").map_or(card.len(), |i| i + 1);
        let card = format!("{}{section}{}", &card[..at], &card[at..]);
        std::fs::write(&card_path, card).map_err(|e| Error::io(&card_path, e))?;
    }
    Ok(())
}

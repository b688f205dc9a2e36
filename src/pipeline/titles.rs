//! Title embeddings for a data set (`pocketrank embed-titles`): all-MiniLM-L6-v2 over every
//! product title, saved for `distill --title-embeddings`.

use std::path::Path;

use burn::tensor::Device;

use crate::error::Result;
use crate::offline::data::Dataset;
use crate::train::{MiniLm, TitleEmbeddings};

/// What [`embed`] wrote.
pub struct Embedded {
    /// Titles embedded (the data set's items).
    pub titles: usize,
    /// Floats an embedding.
    pub width: usize,
}

/// Embed the titles of the data set in `data` with the MiniLM model directory `minilm`,
/// `batch` titles a forward pass on the CPU, and save them to `out` (safetensors).
/// After each batch, `progress(embedded, total)` hears how many titles it embedded, of all.
pub fn embed(minilm: &Path, data: &Path, out: &Path, batch: usize, mut progress: impl FnMut(usize, usize)) -> Result<Embedded> {
    let dataset = Dataset::load(data)?;
    let model = MiniLm::load(minilm, &Device::flex())?;
    let titles = dataset.titles.len();
    let embeddings = TitleEmbeddings::compute(&model, &dataset, batch, |embedded| progress(embedded, titles))?;
    embeddings.save(out)?;
    Ok(Embedded { titles, width: embeddings.width() })
}

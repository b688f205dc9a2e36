//! `pocketrank eval`: what it evaluates (the model, the data set, the protocol's cases) and the
//! personalizer its on-device learning protocol runs; the CLI prints the figures.

use std::path::Path;

use burn::tensor::Device;

use crate::api::settings_from_json;
use crate::error::{Error, Result};
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{Case, Protocol, select_cases};
use crate::pipeline::load_ranker;
use crate::{Personalizer, Ranker};

/// What one evaluation reads.
pub struct EvalJob<'a> {
    /// Model directory or bundle.
    pub model: &'a Path,
    /// Data set directory.
    pub data: &'a Path,
    /// The protocol.
    pub protocol: Protocol,
    /// Test or validation.
    pub split: Split,
    /// Only the first this many cases (0 = all).
    pub users: usize,
    /// A candidate file to read instead of the protocol's own.
    pub candidates: Option<&'a str>,
    /// Only users whose target is listed in this file.
    pub only_targets: Option<&'a Path>,
}

/// The loaded model, data set and cases of a job.
pub struct Prepared {
    /// The model on the CPU.
    pub ranker: Ranker,
    /// The data set.
    pub dataset: Dataset,
    /// The cases evaluated.
    pub cases: Vec<Case>,
    /// Cases the protocol (and `only_targets`) gave before the `users` cut.
    pub matched: usize,
}

/// Load what `job` evaluates.
pub fn prepare(job: &EvalJob) -> Result<Prepared> {
    let ranker = load_ranker(job.model, Device::flex())?;
    let dataset = Dataset::load(job.data)?;
    let mut cases = select_cases(&dataset, job.data, job.protocol, job.candidates, job.split, job.only_targets)?;
    let matched = cases.len();
    if job.users > 0 {
        cases.truncate(job.users);
    }
    Ok(Prepared { ranker, dataset, cases, matched })
}

/// A personalizer for the learning protocol, with `--learning`'s settings (JSON text) if given.
pub fn learner(ranker: Ranker, settings: Option<&str>) -> Result<Personalizer> {
    let mut personalizer = Personalizer::new(ranker)?;
    if let Some(text) = settings {
        let value = serde_json::from_str(text).map_err(|e| Error::invalid("--learning", format!("not JSON: {e}")))?;
        personalizer.set_learning(settings_from_json(value, "--learning")?)?;
    }
    Ok(personalizer)
}

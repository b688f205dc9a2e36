//! `pocketrank eval` and `pocketrank population`: what they evaluate (the model, the data set,
//! the protocol's cases), the personalizer the on-device learning protocols run, and the
//! runs of the learning, beyond-window and population reports; the CLI prints the figures.

use std::path::Path;

use burn::tensor::Device;

use crate::api::settings_from_json;
use crate::learn::LearnConfig;
use crate::offline::{beyond, population};
use crate::error::{Error, Result};
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{self, Case, LearningMetrics, Protocol, select_cases};
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

/// On-device learning on `prepared`'s cases ([`eval::evaluate_learning`]: the last `k` events
/// frozen against learned, at most `visits` visits replayed), with `--learning`'s settings if
/// given; returns the figures and the settings they were measured with.
pub fn learning(prepared: Prepared, settings: Option<&str>, k: usize, visits: usize, tick: impl FnMut()) -> Result<(LearningMetrics, LearnConfig)> {
    let mut personalizer = learner(prepared.ranker, settings)?;
    let metrics = eval::evaluate_learning(&mut personalizer, &prepared.dataset, &prepared.cases, k, visits, tick)?;
    Ok((metrics, personalizer.learning().clone()))
}

/// What `eval --learn-beyond-window` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BeyondReport {
    /// Events the frozen model reads (the model's window).
    pub window: usize,
    /// Events a replayed visit holds.
    pub visit_len: usize,
    /// The device's learning settings.
    pub learning: LearnConfig,
    /// Users evaluated.
    pub users: usize,
    /// Figures by history group and system.
    pub rows: Vec<beyond::Row>,
}

/// Learning beyond the window ([`beyond::evaluate_beyond_window`]) on `prepared`'s cases, with
/// `--learning`'s settings if given.
pub fn beyond_window(prepared: Prepared, learning: Option<&str>, visit_len: usize, tick: impl FnMut()) -> Result<BeyondReport> {
    let window = prepared.ranker.max_events();
    let mut personalizer = learner(prepared.ranker, learning)?;
    let config = personalizer.learning().clone();
    let outcomes = beyond::evaluate_beyond_window(&mut personalizer, &prepared.dataset, &prepared.cases, window, visit_len, &config, tick)?;
    Ok(BeyondReport { window, visit_len, learning: config, users: outcomes.len(), rows: beyond::table(&outcomes) })
}

/// [`beyond::repeat_features`] on `prepared`'s cases, written to `out` as TSV with a header;
/// returns the rows written.
pub fn beyond_window_features(prepared: Prepared, visit_len: usize, out: &Path, tick: impl FnMut()) -> Result<usize> {
    let window = prepared.ranker.max_events();
    let mut personalizer = Personalizer::new(prepared.ranker)?;
    let rows = beyond::repeat_features(&mut personalizer, &prepared.dataset, &prepared.cases, window, visit_len, tick)?;
    let text: String = std::iter::once(beyond::FEATURE_COLUMNS.join("\t")).chain(rows.iter().map(|r| r.join("\t"))).map(|line| line + "\n").collect();
    std::fs::write(out, text).map_err(|e| Error::io(out, e))?;
    Ok(rows.len())
}

/// The protocols the population loop evaluates on, in report order.
pub const POPULATION_PROTOCOLS: [Protocol; 2] = [Protocol::ServerRerank, Protocol::Sampled100];

/// What `pocketrank population` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PopulationReport {
    /// The clip the releases used.
    pub clip: f32,
    /// Per protocol ([`POPULATION_PROTOCOLS`]), the rows of [`population::simulate`].
    pub tables: Vec<(&'static str, Vec<population::Row>)>,
}

/// The population loop on the test users of both Games protocols (the first `users` of each;
/// 0 = all), the model and the data set loaded once.
pub fn population(model: &Path, data: &Path, users: usize, settings: &population::Settings, tick: impl FnMut()) -> Result<PopulationReport> {
    let ranker = load_ranker(model, Device::flex())?;
    let dataset = Dataset::load(data)?;
    let cases = POPULATION_PROTOCOLS
        .iter()
        .map(|&protocol| {
            let mut cases = select_cases(&dataset, data, protocol, None, Split::Test, None)?;
            if users > 0 {
                cases.truncate(users);
            }
            Ok(cases)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut personalizer = learner(ranker, None)?;
    let (clip, tables) = population::simulate(&mut personalizer, &dataset, &cases, settings, tick)?;
    Ok(PopulationReport { clip, tables: POPULATION_PROTOCOLS.iter().map(|p| p.name()).zip(tables).collect() })
}

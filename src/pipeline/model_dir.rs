//! Training runs into model directories (`pocketrank train` and `distill`): choose the
//! configuration (a final fit repeats its validated run), load what the run starts from, train,
//! evaluate what ships on test once, and write bundle, config, report, card and manifest; the
//! curves of a model directory.

use std::path::Path;

use burn::tensor::Device;
use serde_json::json;

use super::card::{self, CardInputs, model_card};
use super::{BUNDLE_FILE, MANIFEST_FILE, load_ranker, pretty_json, read_report, write_file, write_manifest};
use crate::error::{Error, Result};
use crate::offline::calibrate::Calibration;
use crate::offline::data::{Dataset, Split};
use crate::offline::eval;
use crate::rank::Ranker;
use crate::train::{self, TrainConfig};

/// Ids of the items a cold-start model was trained without (`--withhold-ids`).
const WITHHELD_FILE: &str = "withheld.txt";
/// In a final fit's directory: the curves of the validated run it repeats.
const VALIDATED_CURVES_FILE: &str = "validated-run-curves.png";

/// What a run starts from besides the data set.
pub enum Start<'a> {
    /// Fresh weights.
    Fresh,
    /// `train --init`: a trained model (directory or bundle) to fine-tune: its tokenizer and
    /// weights carry over.
    Init(&'a Path),
    /// `distill`: learn from a teacher.
    Teacher {
        /// The teacher's model directory.
        teacher: &'a Path,
        /// The title embeddings the student also learns from (`embed-titles`).
        title_embeddings: Option<&'a Path>,
    },
}

/// One `train` or `distill` run, as the command line asks for it.
pub struct RunJob<'a> {
    /// Data set directory.
    pub data: &'a Path,
    /// The model directory to write.
    pub out: &'a Path,
    /// The settings the flags give. A final fit takes its validated run's instead.
    pub settings: TrainConfig,
    /// The validated run (model directory) this run is the final fit of.
    pub final_fit_of: Option<&'a Path>,
    /// Where it trains; a teacher or a run to fine-tune loads there too.
    pub device: Device,
    /// What it starts from.
    pub start: Start<'a>,
    /// Published figures for the card (`models/references.json`); a file that is not there
    /// gives none.
    pub references: &'a Path,
    /// The command line, for the card and report.
    pub command: &'a str,
}

/// Run `job` and write its model directory.
pub fn run(job: &RunJob) -> Result<()> {
    let config = match job.final_fit_of {
        Some(dir) => final_fit_config(dir)?,
        None => job.settings.clone(),
    };
    let references = if job.references.exists() { card::references(job.references, job.data)? } else { Vec::new() };
    let (base, teacher, embeddings) = match job.start {
        Start::Fresh => (None, None, None),
        Start::Init(dir) => (Some(load_ranker(dir, job.device.clone())?), None, None),
        Start::Teacher { teacher, title_embeddings } => (None, Some(load_ranker(teacher, job.device.clone())?), title_embeddings.map(train::TitleEmbeddings::load).transpose()?),
    };
    let guidance = train::Guidance { teacher: teacher.as_ref(), title_embeddings: embeddings.as_ref() };
    let teacher_dir = match job.start {
        Start::Teacher { teacher, .. } => Some(teacher),
        _ => None,
    };
    let provenance = Provenance { command: job.command, teacher: teacher_dir, validated_run: job.final_fit_of, references: &references };
    write_model_dir(job.data, job.out, &config, &job.device, base.as_ref(), &guidance, provenance)
}

/// What a run was made from, for its card and report.
#[derive(Clone, Copy)]
struct Provenance<'a> {
    /// The command line that ran it.
    command: &'a str,
    /// `distill`'s teacher.
    teacher: Option<&'a Path>,
    /// The validated run this one is the final fit of.
    validated_run: Option<&'a Path>,
    /// Published figures on the same data, for the card.
    references: &'a [String],
}

/// The configuration of the validated run in `dir` as its final fit: the same settings,
/// the epoch count and server trust it chose on validation, no early stopping or time cap.
fn final_fit_config(dir: &Path) -> Result<TrainConfig> {
    let report = read_report(dir)?;
    let field = |name: &str| format!("{}: report.json {name}", dir.display());
    let mut config: TrainConfig = serde_json::from_value(report["train_config"].clone()).map_err(|e| Error::invalid(field("train_config"), e))?;
    if config.final_fit.is_some() {
        return Err(Error::invalid("--final-fit-of", format!("{} is itself a final fit; give the validated run it came from", dir.display())));
    }
    let best_epoch = report["training"]["best_epoch"].as_u64().filter(|&e| e > 0).ok_or_else(|| Error::invalid(field("training.best_epoch"), "missing or 0"))?;
    let calibration: Calibration = serde_json::from_value(report["training"]["calibration"].clone()).map_err(|e| Error::invalid(field("training.calibration"), e))?;
    config.epochs = best_epoch as usize;
    config.patience = 0;
    config.max_minutes = 0.0;
    config.final_fit = Some(calibration);
    Ok(config)
}

/// Train, evaluate on test, and write bundle, config, report, model card and manifest.
/// `provenance.teacher` is the model directory behind `guidance.teacher`.
fn write_model_dir(data_dir: &Path, out: &Path, config: &TrainConfig, device: &Device, base: Option<&Ranker>, guidance: &train::Guidance, provenance: Provenance) -> Result<()> {
    let trained = train::train(data_dir, config, device, base, guidance)?;
    // The student ships to browsers: its embedding tables go int8.
    let quantize = guidance.teacher.is_some();
    let shipped = trained.bundle(quantize)?;
    let bundle = shipped.to_bytes();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    // Evaluate what ships (int8 tables included), not the float model in memory, on the
    // CPU as `pocketrank eval` does, whatever it trained on.
    let ranker = Ranker::from_bundle(&shipped, Device::flex())?;
    let data = Dataset::load(data_dir)?;
    eprintln!("evaluating on the test split (after training; never used to choose anything)...");
    let test = eval::test_metrics(&ranker, &data, data_dir)?;
    let report = json!({
        "command": provenance.command,
        "train_config": config,
        "model_config": trained.config,
        "training": trained.report,
        "test": test.iter().map(|(p, m)| m.to_json(*p, Split::Test, 0.0)).collect::<Vec<_>>(),
        "bundle_bytes": bundle.len(),
    });
    let write = |name: &str, bytes: &[u8]| write_file(out, name, bytes);
    write(BUNDLE_FILE, &bundle)?;
    write("config.json", &pretty_json(&trained.config)?)?;
    write("report.json", &pretty_json(&report)?)?;
    let r = &trained.report;
    let curves = train::write_curves(&r.epochs, r.best_epoch, &out.join(train::CURVES_FILE));
    if let Err(e) = &curves {
        // The model is good without its picture; say why it is missing.
        eprintln!("warning: no training curves: {e}");
    }
    let teacher = provenance.teacher.map(|dir| read_report(dir).map(|report| (dir, report))).transpose()?;
    let validated = provenance.validated_run.map(|dir| read_report(dir).map(|report| (dir, report))).transpose()?;
    // A final fit cannot validate: its card shows the curves of the run that chose for it.
    let validated_curves = match provenance.validated_run.map(|dir| dir.join(train::CURVES_FILE)).filter(|p| p.exists()) {
        Some(picture) => {
            std::fs::copy(&picture, out.join(VALIDATED_CURVES_FILE)).map_err(|e| Error::io(&picture, e))?;
            Some(VALIDATED_CURVES_FILE)
        }
        None => None,
    };
    let card = model_card(&CardInputs {
        trained: &trained,
        test: &test,
        bundle_bytes: bundle.len(),
        command: provenance.command,
        data_dir,
        out,
        curves: curves.is_ok(),
        teacher: teacher.as_ref().map(|(d, r)| (*d, r)),
        validated: validated.as_ref().map(|(d, r)| (*d, r, validated_curves)),
        titles: guidance.title_embeddings.is_some(),
        config,
        references: provenance.references,
    });
    write("MODEL_CARD.md", card.as_bytes())?;
    let mut files = vec![BUNDLE_FILE, "config.json", "report.json", "MODEL_CARD.md"];
    if !trained.report.withheld.is_empty() {
        // For `eval --only-targets`: the items this model knows by title alone.
        write(WITHHELD_FILE, trained.report.withheld.join("\n").as_bytes())?;
        files.push(WITHHELD_FILE);
    }
    if curves.is_ok() {
        files.push(train::CURVES_FILE);
    }
    if let Some(picture) = validated_curves {
        files.push(picture);
    }
    write_manifest(out, &files)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}


/// Draw `dir`'s training curves from its report.json; the manifest lists the picture.
pub fn plot(dir: &Path) -> Result<()> {
    let path = dir.join("report.json");
    let report = read_report(dir)?;
    let training = &report["training"];
    // A final fit's validation figures are NaN, which JSON writes as null.
    let epochs: Vec<(f64, Option<f64>)> = serde_json::from_value(training["epochs"].clone()).map_err(|e| Error::invalid(format!("{}: training.epochs", path.display()), e))?;
    let epochs: Vec<(f64, f64)> = epochs.into_iter().map(|(loss, ndcg)| (loss, ndcg.unwrap_or(f64::NAN))).collect();
    let best = training["best_epoch"].as_u64().ok_or_else(|| Error::invalid(format!("{}: training.best_epoch", path.display()), "missing"))?;
    train::write_curves(&epochs, best as usize, &dir.join(train::CURVES_FILE))?;
    let manifest = dir.join(MANIFEST_FILE);
    let listed = std::fs::read_to_string(&manifest).map_err(|e| Error::io(&manifest, e))?;
    let mut names: Vec<String> = listed.lines().filter_map(|l| l.split_once("  ").map(|(_, n)| n.to_string())).collect();
    if !names.iter().any(|n| n == train::CURVES_FILE) {
        names.push(train::CURVES_FILE.to_string());
    }
    write_manifest(dir, &names)
}


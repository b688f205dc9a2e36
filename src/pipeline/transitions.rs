//! `pocketrank transitions`: add an item-transition table to a final fit, its weight (and
//! optionally the server trust) chosen on validation with the validated run.

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use serde_json::json;

use super::aggregate::with_head;
use super::card::{metrics_table, protocol_ndcg10};
use super::{BUNDLE_FILE, add_card_section, copy_model_dir, load_ranker, pretty_json, read_bundle, read_report, rewrite_manifest, write_file};
use crate::bundle::{Bundle, Part};
use crate::error::{Error, Result};
use crate::offline::calibrate::calibrate_transitions;
use crate::offline::data::{Dataset, Split};
use crate::offline::eval;
use crate::offline::servers::ModelServer;
use crate::rank::Ranker;
use crate::relations::Relations;
use crate::relations::transitions::Transitions;

/// What `pocketrank transitions` works on.
pub struct TransitionJob<'a> {
    /// The validated run.
    pub validated: &'a Path,
    /// Its final fit.
    pub model: &'a Path,
    /// The independently trained stand-in server.
    pub stand_in: &'a Path,
    /// Data set directory.
    pub data_dir: &'a Path,
    /// Hold the final fit's server trust instead of choosing it.
    pub keep_server_trust: bool,
    /// Successors kept per item.
    pub per_item: usize,
    /// Largest bundle to write.
    pub max_bundle_bytes: usize,
    /// Output model directory.
    pub out: &'a Path,
    /// The command line, for the report.
    pub command: &'a str,
}

/// Calibrate a transition table on validation and add it to a final fit.
pub fn add_transitions(job: &TransitionJob) -> Result<()> {
    let data = Dataset::load(job.data_dir)?;
    let validated = load_ranker(job.validated, Device::flex())?;
    if validated.relations().transitions.is_some() {
        return Err(Error::invalid("--validated", "this model already carries a transition table"));
    }
    let stand_in = load_ranker(job.stand_in, Device::flex())?;
    let server = ModelServer::new(&stand_in, &data)?;
    let rows = validated.config().item.n_items + 1;
    let sequences = |split: Split, ranker: &Ranker| -> Vec<Vec<usize>> {
        (0..data.users.len()).map(|u| data.trainable(u, split).iter().map(|&i| ranker.row(&data.ids[i])).collect()).collect()
    };
    let training = sequences(Split::Validation, &validated);
    let table = Transitions::count(training.iter().map(Vec::as_slice), rows, job.per_item);
    // Every user with a validation target: the grid is cheap next to the retrieval.
    let users: Vec<usize> = (0..data.users.len()).filter(|&u| data.history(u, Split::Validation).is_some()).collect();
    let bundle = read_bundle(job.model)?;
    let mut ranker = Ranker::from_bundle(&bundle, Device::flex())?;
    let fixed_trust = if job.keep_server_trust { Some(ranker.head_params()?.server[0]) } else { None };
    let started = Instant::now();
    let calibration = calibrate_transitions(validated, &server, &data, &users, table, job.per_item, fixed_trust)?;
    eprintln!(
        "validation ({} of {} users' targets in the stand-in's top 100, {:.0} s): stand-in order {:.4}; server trust{} alone {:.1} → {:.4}; with transitions (top {} per item) trust {:.1}, weight {} → {:.4}",
        calibration.users_with_target, calibration.users, started.elapsed().as_secs_f64(), calibration.server_ndcg10, if calibration.rank_weight_fixed { " (kept)" } else { "" }, calibration.without_transitions.0, calibration.without_transitions.1, job.per_item, calibration.rank_weight, calibration.transition_weight, calibration.blended_ndcg10
    );

    // The final fit trained on the validation targets too (items seen only there have ID
    // rows in its catalog); so is its table counted.
    let final_rows = ranker.config().item.n_items + 1;
    let final_table = Transitions::count(sequences(Split::Test, &ranker).iter().map(Vec::as_slice), final_rows, job.per_item);
    let mut bundle = bundle;
    if !calibration.rank_weight_fixed {
        let mut head = ranker.head_params()?;
        head.server[0] = calibration.rank_weight;
        ranker.set_head(&head)?;
        bundle = with_head(bundle, &ranker)?;
    }
    let mut config = ranker.config().clone();
    config.head.transition_weight = f64::from(calibration.transition_weight);
    let config_bytes = pretty_json(&config)?;
    let table_bytes = final_table.to_bytes().len();
    let rules = ranker.relations().rules.clone();
    let bundle = Relations { transitions: Some(final_table.clone()), rules }.write(bundle.with(Part::Config, config_bytes.clone()));
    let bytes = bundle.to_bytes();
    if bytes.len() > job.max_bundle_bytes {
        return Err(Error::invalid("--per-item", format!("{} successors per item make a {}-byte bundle, over --max-bundle-bytes {}", job.per_item, bytes.len(), job.max_bundle_bytes)));
    }
    // Loading it back proves the bundle is usable before anything is written; its test
    // figures are measured once, after every choice was made.
    let written = Ranker::from_bundle(&Bundle::from_bytes(&bytes)?, Device::flex())?;
    eprintln!("evaluating on the test split (after the weights were chosen; never used to choose anything)...");
    let test = eval::test_metrics(&written, &data, job.data_dir)?;

    copy_model_dir(job.model, job.out)?;
    write_file(job.out, BUNDLE_FILE, &bytes)?;
    write_file(job.out, "config.json", &config_bytes)?;
    let mut report = read_report(job.model)?;
    let before: Vec<Option<f64>> = test.iter().map(|(p, _)| protocol_ndcg10(&report, *p)).collect();
    report["transitions"] = json!({
        "test": test.iter().map(|(p, m)| m.to_json(*p, Split::Test, 0.0)).collect::<Vec<_>>(),
        "command": job.command,
        "validated_run": job.validated.display().to_string(),
        "stand_in_server": job.stand_in.display().to_string(),
        "calibration": calibration,
        "entries": final_table.entries(),
        "table_bytes": table_bytes,
        "bundle_bytes": bytes.len(),
    });
    write_file(job.out, "report.json", &pretty_json(&report)?)?;
    let c = &calibration;
    let mut section = format!(
        "## Item transitions (added by `pocketrank transitions`)\n\n\
         - **Command**: `{}`\n\
         - **Table**: the {} likeliest successors of each item (P(next | item) over all its successors, in steps of 1/255), counted on every user's training and validation parts: {} entries, {} bytes. The bundle is now {} bytes.\n\
         - **Score**: fit + w·(−ln server rank) + w_t·Σ_j ½^j·P(candidate | j-th most recent item), 3 most recent items.\n\
         - **Weights, chosen on validation** with the validated run `{}` and its table counted on the training split alone, over the validation targets of {} users; the server's list is stood in for by the top 100 of `{}`, a model trained independently on the training split (it retrieved {} targets). w = {:.1}{}, w_t = {}: validation NDCG@10 {:.4}, against {:.4} without the table (w = {:.1}) and {:.4} for the stand-in's own order.\n\n",
        job.command, job.per_item, final_table.entries(), table_bytes, bytes.len(), job.validated.display(), c.users, job.stand_in.display(), c.users_with_target, c.rank_weight, if c.rank_weight_fixed { " (the final fit's own, kept)" } else { "" }, c.transition_weight, c.blended_ndcg10, c.without_transitions.1, c.without_transitions.0, c.server_ndcg10
    );
    section.push_str(&format!("Test metrics with the table ({} test users, measured once after the choice):\n\n", test.first().map_or(0, |(_, m)| m.users)));
    section.push_str(&metrics_table(&test));
    section.push_str("\n| protocol | NDCG@10 without the table (Test metrics above) | NDCG@10 with it |\n|---|---|---|\n");
    for ((p, m), before) in test.iter().zip(&before) {
        section.push_str(&format!("| {} | {} | {:.4} ± {:.4} |\n", p.name(), before.map_or("—".to_string(), |v| format!("{v:.4}")), m.ndcg10(), m.ndcg10_se));
    }
    section.push('\n');
    add_card_section(job.out, &section)?;
    rewrite_manifest(job.out)?;
    eprintln!("{} transitions ({table_bytes} bytes) added; bundle {} bytes, written to {}", final_table.entries(), bytes.len(), job.out.display());
    Ok(())
}


//! `pocketrank eval-baskets`: the retail basket-completion evaluation
//! ([`crate::offline::completion`]) of a model with association rules mined on the same
//! training baskets, the rule weight chosen on a validation slice, test figures measured once
//! after; and, with `--out`, the model directory again with the rule table and the chosen
//! weight in its bundle, card and report.

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use serde_json::json;

use crate::api::Candidate;
use crate::bundle::{Bundle, Part, sha256};
use crate::error::{Error, Result};
use crate::offline::completion::{self, Case, Counts, Evaluation, Metrics, System};
use crate::offline::{baskets, data::Dataset};
use crate::pipeline::{BUNDLE_FILE, add_card_section, copy_model_dir, load_ranker, pretty_json, read_report, rewrite_manifest, rules as rule_files, write_file};
use crate::rank::Ranker;
use crate::relations::Relations;
use crate::relations::rules::{MAX_ANTECEDENT, Rule, Rules};

/// What `eval-baskets` is asked.
pub struct CompletionJob<'a> {
    /// The model directory (trained on invoices before `train_until`).
    pub model: &'a Path,
    /// Its data set directory (titles).
    pub data: &'a Path,
    /// `baskets.tsv`.
    pub baskets: &'a Path,
    /// First day of the validation slice: training and mining use the invoices before it.
    pub train_until: &'a str,
    /// First day of the test slice (validation is `[train_until, test_from)`).
    pub test_from: &'a str,
    /// Least share of the training baskets a mined itemset occurs in.
    pub min_support: f64,
    /// Least confidence of a mined rule.
    pub min_confidence: f64,
    /// Rule weights tried on validation.
    pub weights: &'a [f64],
    /// Largest bundle written, bytes.
    pub max_bundle_bytes: usize,
    /// Where to write the model with its rules (none: evaluate only).
    pub out: Option<&'a Path>,
    /// The command line, for the card.
    pub command: &'a str,
}

/// A rule table over the model's catalog from a mined one (rules naming items outside the
/// catalog, or with more than [`MAX_ANTECEDENT`] items, left out).
pub fn rules_for(ranker: &Ranker, catalog_text: &[u8], mined: &[rule_files::RuleRow]) -> Result<Rules> {
    let row = |id: &str| u32::try_from(ranker.row(id)).ok().filter(|&r| r != 0);
    let rules: Vec<Rule> = mined
        .iter()
        .filter(|r| r.antecedent.len() <= MAX_ANTECEDENT)
        .filter_map(|r| {
            let mut antecedent = r.antecedent.iter().map(|id| row(id)).collect::<Option<Vec<u32>>>()?;
            antecedent.sort_unstable();
            Some(Rule { antecedent, consequent: row(&r.consequent)?, support: r.support as f32, confidence: r.confidence as f32, lift: r.lift as f32 })
        })
        .collect();
    Rules::new(sha256(catalog_text), rules, ranker.catalog().len().saturating_add(1))
}

fn row_json(system: System, weight: Option<f64>, m: &[Metrics; 2]) -> serde_json::Value {
    json!({"system": system.name(), "rule_weight": weight, "sampled-100": m[0], "catalog": m[1]})
}

/// Run the evaluation; returns the report's JSON (also written into `--out`'s report).
pub fn evaluate(job: &CompletionJob) -> Result<serde_json::Value> {
    let started = Instant::now();
    let bundle = crate::pipeline::read_bundle(job.model)?;
    let catalog_text = bundle.required(Part::Catalog)?.to_vec();
    let base = load_ranker(job.model, Device::flex())?;
    let data = Dataset::load(job.data)?;
    let all = baskets::read(job.baskets, None)?;
    let training: Vec<baskets::Basket> = all.iter().filter(|b| b.date.as_str() < job.train_until).cloned().collect();
    let mined = rule_files::mine_baskets(training.iter().map(|b| b.items.clone()).collect(), job.min_support, job.min_confidence)?;
    let rules = rules_for(&base, &catalog_text, &mined.rules)?;
    eprintln!("{} training baskets: {} rules mined (support ≥ {}, confidence ≥ {}), {} over the model's catalog", training.len(), mined.rules.len(), job.min_support, job.min_confidence, rules.rules().len());
    let ranker = base.with_relations(Relations { rules: Some(rules.clone()), ..Relations::default() });
    let rows = ranker.catalog().len().saturating_add(1);
    let training_rows: Vec<Vec<u32>> = training.iter().map(|b| b.items.iter().filter_map(|id| u32::try_from(ranker.row(id)).ok()).collect()).collect();
    let counts = Counts::count(&training_rows, rows);
    let titles: Vec<String> = ranker.catalog().ids().iter().map(|id| data.index.get(id).map(|&i| data.titles[i].clone()).unwrap_or_default()).collect();
    let candidates: Vec<Candidate> = ranker.catalog().ids().iter().zip(&titles).map(|(id, title)| Candidate { id: id.clone(), title: title.clone(), category: None, price: None, server_score: None }).collect();
    let encoded = ranker.encode_candidates(&candidates)?;
    let evaluation = Evaluation { ranker: &ranker, catalog: &encoded, titles: &titles, rules: &rules, counts: &counts };
    let row_of = |id: &str| ranker.row(id);
    let validation: Vec<Case> = completion::cases(&all, job.train_until, Some(job.test_from), row_of, rows - 1, 7);
    let test: Vec<Case> = completion::cases(&all, job.test_from, None, row_of, rows - 1, 11);
    if validation.is_empty() || test.is_empty() {
        return Err(Error::invalid("--train-until/--test-from", format!("{} validation and {} test baskets with two catalog products", validation.len(), test.len())));
    }

    // The rule weight, chosen on validation (catalog protocol, NDCG@10; ties to the smaller).
    let grid: Vec<System> = job.weights.iter().map(|&w| System::ModelWithRules((w * 1000.0).round() as u32)).collect();
    let scored = evaluation.positions(&validation, &grid)?;
    let mut choice: Option<(f64, f64)> = None;
    let mut validation_rows = Vec::new();
    for ((_, positions), &w) in scored.positions.iter().zip(job.weights) {
        let m = [Metrics::from_positions(&positions[0]), Metrics::from_positions(&positions[1])];
        eprintln!("validation, rule weight {w}: NDCG@10 sampled-100 {:.4}, catalog {:.4}", m[0].ndcg10.0, m[1].ndcg10.0);
        validation_rows.push(json!({"rule_weight": w, "sampled-100": m[0], "catalog": m[1]}));
        if choice.is_none_or(|(_, best)| m[1].ndcg10.0 > best) {
            choice = Some((w, m[1].ndcg10.0));
        }
    }
    let (weight, _) = choice.unwrap_or((0.0, 0.0));
    let milli = (weight * 1000.0).round() as u32;

    // Test, once, after the choice.
    let systems = [System::Popularity, System::CooccurrenceCount, System::CooccurrenceLift, System::Rules, System::Model, System::ModelWithRules(milli)];
    let scored = evaluation.positions(&test, &systems)?;
    let table: Vec<(System, [Metrics; 2])> = scored.positions.iter().map(|(s, p)| (*s, [Metrics::from_positions(&p[0]), Metrics::from_positions(&p[1])])).collect();
    let report = json!({
        "command": job.command,
        "protocol": {"training_baskets": training.len(), "train_and_mine_before": job.train_until, "validation": [job.train_until, job.test_from], "test_from": job.test_from, "validation_cases": validation.len(), "test_cases": test.len()},
        "rules": {"min_support": job.min_support, "min_confidence": job.min_confidence, "mined": mined.rules.len(), "over_catalog": rules.rules().len(), "bytes": rules.to_bytes().len(), "mining_seconds": mined.seconds},
        "validation": validation_rows,
        "rule_weight": weight,
        "test": table.iter().map(|(s, m)| row_json(*s, matches!(s, System::ModelWithRules(_)).then_some(weight), m)).collect::<Vec<_>>(),
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some(out) = job.out {
        write_model(job, &bundle, &ranker, &rules, weight, &report, &table, out)?;
    }
    Ok(report)
}

/// The markdown table of test figures.
pub fn markdown(table: &[(System, [Metrics; 2])], weight: f64) -> String {
    let mut out = String::from("| system | sampled-100 HR@10 | sampled-100 NDCG@10 | sampled-100 MPR | catalog HR@10 | catalog NDCG@10 | catalog MPR |\n|---|---|---|---|---|---|---|\n");
    let cell = |(m, se): (f64, f64)| format!("{m:.4} ± {se:.4}");
    for (system, m) in table {
        let name = match system {
            System::ModelWithRules(_) => format!("{} (w = {weight})", system.name()),
            _ => system.name().to_string(),
        };
        out.push_str(&format!("| {name} | {} | {} | {} | {} | {} | {} |\n", cell(m[0].hr10), cell(m[0].ndcg10), cell(m[0].mpr), cell(m[1].hr10), cell(m[1].ndcg10), cell(m[1].mpr)));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn write_model(job: &CompletionJob, bundle: &Bundle, ranker: &Ranker, rules: &Rules, weight: f64, report: &serde_json::Value, table: &[(System, [Metrics; 2])], out: &Path) -> Result<()> {
    let mut config = ranker.config().clone();
    config.head.rule_weight = weight;
    let config_bytes = pretty_json(&config)?;
    let relations = Relations { rules: Some(rules.clone()), ..ranker.relations().clone() };
    let bytes = relations.write(bundle.clone().with(Part::Config, config_bytes.clone())).to_bytes();
    if bytes.len() > job.max_bundle_bytes {
        return Err(Error::invalid("--min-support", format!("{} rules make a {}-byte bundle, over --max-bundle-bytes {}", rules.rules().len(), bytes.len(), job.max_bundle_bytes)));
    }
    // Loading it back proves the bundle is usable before anything is written.
    Ranker::from_bundle(&Bundle::from_bytes(&bytes)?, Device::flex())?;
    copy_model_dir(job.model, out)?;
    write_file(out, BUNDLE_FILE, &bytes)?;
    write_file(out, "config.json", &config_bytes)?;
    let mut full = read_report(job.model)?;
    full["basket_completion"] = report.clone();
    write_file(out, "report.json", &pretty_json(&full)?)?;
    let r = &report["rules"];
    let p = &report["protocol"];
    let section = format!(
        "## Association rules and basket completion (added by `pocketrank eval-baskets`)\n\n\
         - **Command**: `{}`\n\
         - **Rules**: FP-growth on the {} baskets before {} (fee codes left out), support ≥ {}, confidence ≥ {}: {} rules, {} over this catalog, {} bytes in `rules.bin`; bundle {} bytes.\n\
         - **Protocol**: invoices from {} on; each with ≥ 2 catalog products holds out one (seeded), the rest is the cart (as `cart` events). Validation: {} baskets in [{}, {}); test: {} baskets from {}. sampled-100 = the held-out product + 99 random ones; catalog = every product outside the cart. MPR = mean percentile rank (0 = first).\n\
         - **Rule weight** chosen on validation (catalog NDCG@10): {}.\n\n\
         Test (measured once, after the choice; ± standard error):\n\n{}\n",
        job.command, p["training_baskets"], job.train_until, r["min_support"], r["min_confidence"], r["mined"], r["over_catalog"], r["bytes"], bytes.len(),
        job.train_until, p["validation_cases"], job.train_until, job.test_from, p["test_cases"], job.test_from, weight, markdown(table, weight)
    );
    add_card_section(out, &section)?;
    rewrite_manifest(out)
}

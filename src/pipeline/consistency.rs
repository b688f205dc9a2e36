//! `pocketrank consistency`: the personalization sweep on the server-rerank protocol
//! ([`crate::offline::consistency`]) on validation and test, and the test trade-off as a PNG.
//!
//! It chooses nothing. On this data the published server lists cannot serve validation: they
//! were retrieved for the test users with the validation target in their history, so on
//! validation the server's own order scores NDCG@10 0.51 and every blend loses to it. With a
//! stand-in server (a model trained on the training split alone, as the transition weight's
//! calibration uses), validation re-ranks its top 100 instead, retrieved from the history
//! before the validation target; `scripts/consistency_policies.py` chooses on those pages'
//! terms and measures the choice once on the test pages'. The default stays 1 (fully
//! personal).

use std::path::Path;

use burn::tensor::Device;
use serde_json::json;

use crate::api::{Budget, TermBlend};
use crate::error::{Error, Result};
use crate::offline::consistency::{Point, sweep};
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{Case, Protocol, cases};
use crate::offline::servers::ModelServer;
use crate::pipeline::load_ranker;
use crate::rank::score::Terms;

/// The settings swept: every blend 0, 0.1, …, 1 alone (the plotted curve); blends under a
/// displacement bound or with pinned top slots; and diversity on the fully personal list.
fn budgets() -> Vec<Budget> {
    let blend = |p: f32| Budget { personalization: p, ..Budget::default() };
    let mut out: Vec<Budget> = (0..=10).map(|i| blend(i as f32 / 10.0)).collect();
    // Finer between 0.1 and 0.2, where RBO crosses 0.8.
    out.extend([0.12, 0.14, 0.16, 0.18].map(blend));
    for p in [0.2, 0.3, 0.5, 1.0] {
        for d in [1, 2, 3, 5] {
            out.push(Budget { max_displacement: Some(d), ..blend(p) });
        }
    }
    // Pinned top slots: RBO weighs the top most.
    for p in [0.2, 0.3, 0.5, 1.0] {
        for pinned in [1, 2, 3] {
            out.push(Budget { pinned, ..blend(p) });
        }
    }
    out.extend([0.1, 0.2, 0.3, 0.5].map(|diversity| Budget { diversity, ..blend(1.0) }));
    // A per-page overlap floor under the full blend: each page as personal as it may be.
    out.extend([0.7, 0.75, 0.8, 0.85, 0.9].map(|min_overlap| Budget { min_overlap, ..blend(1.0) }));
    // A share per term: the session fit's kept small, the transition, repeat and rule terms'
    // at the RBO budget. With the transition and repeat terms together, both halves of the
    // test users (by id parity) choose fit 0.03, the others 0.165; apart, the even ids choose
    // DOCUMENTED and the odd ids fit 0, transition 0.15, repeat 0.2
    // (scripts/consistency_policies.py). The rule term (none on Games) goes with the transition.
    for (fit, transition, repeat) in [(0.0, 0.16, 0.16), (0.03, 0.165, 0.165), (0.1, 0.15, 0.15), (0.0, 0.15, 0.2)] {
        out.push(Budget { terms: TermBlend { fit, transition, repeat, rule: transition }, ..Budget::default() });
    }
    out.push(Budget { terms: DOCUMENTED, ..Budget::default() });
    out
}

/// The documented setting for a page that stays close to the server's: the shares the test
/// users of even ids choose (README, the consistency budget).
pub const DOCUMENTED: TermBlend = TermBlend { fit: 0.0, transition: 0.14, repeat: 0.2, rule: 0.14 };

/// The length of a stand-in server's list: the published lists' length.
const LIST_LEN: usize = 100;

/// The columns of the rows the terms files get: the user, the target's server position (−1: not in
/// the list), and per candidate in server order (comma-separated) the server term, the personal
/// terms (fit and the fixed terms, what the blend scales), the fixed terms alone and the repeat
/// prior alone (the fixed terms' other part is the transition and rule terms).
pub const TERM_COLUMNS: [&str; 6] = ["user", "target", "server", "personal", "fixed", "repeat"];

/// What `run` writes besides its report.
pub struct Outputs<'a> {
    /// The test trade-off (PNG).
    pub plot: Option<&'a Path>,
    /// Each test page's terms (TSV, [`TERM_COLUMNS`]).
    pub test_terms: Option<&'a Path>,
    /// Each validation page's terms.
    pub validation_terms: Option<&'a Path>,
}

/// One page's row of [`TERM_COLUMNS`].
fn term_row(data: &Dataset, case: &Case, terms: &[Terms]) -> String {
    let joined = |term: fn(&Terms) -> f32| terms.iter().map(|t| term(t).to_string()).collect::<Vec<_>>().join(",");
    let target = case.candidates.iter().position(|&c| c == case.target).map_or(-1, |p| p as i64);
    [data.users[case.user].0.clone(), target.to_string(), joined(|t| t.server), joined(|t| t.fit + t.fixed()), joined(Terms::fixed), joined(|t| t.repeat)].join("\t")
}

/// Sweep `cases`, writing their pages' terms to `terms_out` if given.
fn sweep_writing(ranker: &crate::rank::Ranker, data: &Dataset, cases: &[Case], terms_out: Option<&Path>) -> Result<Vec<Point>> {
    let mut rows = vec![TERM_COLUMNS.join("\t")];
    let points = sweep(ranker, data, cases, &budgets(), |case, terms| {
        if terms_out.is_some() {
            rows.push(term_row(data, case, terms));
        }
    })?;
    if let Some(path) = terms_out {
        std::fs::write(path, rows.join("\n") + "\n").map_err(|e| Error::io(path, e))?;
    }
    Ok(points)
}

/// Sweep validation and test (validation on the lists of `stand_in`, a model directory, when
/// given; else on the published ones) and write `outputs`.
pub fn run(model: &Path, data_dir: &Path, stand_in: Option<&Path>, outputs: &Outputs) -> Result<serde_json::Value> {
    let ranker = load_ranker(model, Device::flex())?;
    let data = Dataset::load(data_dir)?;
    let mut validation_cases = cases(&data, data_dir, Protocol::ServerRerank, Split::Validation)?;
    if let Some(dir) = stand_in {
        let server_model = load_ranker(dir, Device::flex())?;
        let server = ModelServer::new(&server_model, &data)?;
        for case in &mut validation_cases {
            case.candidates = server.retrieve(&data, &data.users[case.user].1[..case.history_len], LIST_LEN)?;
            case.server_order = true;
        }
    }
    let validation = sweep_writing(&ranker, &data, &validation_cases, outputs.validation_terms)?;
    let test = sweep_writing(&ranker, &data, &cases(&data, data_dir, Protocol::ServerRerank, Split::Test)?, outputs.test_terms)?;
    if let Some(path) = outputs.plot {
        let mut curve: Vec<_> = test.iter().filter(|p| p.budget.is_blend_only() && p.budget.terms.is_all()).copied().collect();
        curve.sort_by(|a, b| a.budget.personalization.total_cmp(&b.budget.personalization));
        let find = |wanted: fn(&Point) -> bool| test.iter().find(|p| wanted(p)).copied();
        let mut marked = Vec::new();
        if let Some(full) = find(|p| p.budget.personalization == 1.0 && p.budget.terms.is_all() && p.budget.is_blend_only()) {
            marked.push((full, "shipped default: personalization 1".to_string()));
        }
        if let Some(documented) = find(|p| p.budget.terms == DOCUMENTED && p.budget.is_blend_only()) {
            marked.push((documented, format!("consistent page: {{fit {}, transition {}, repeat {}}}", DOCUMENTED.fit, DOCUMENTED.transition, DOCUMENTED.repeat)));
        }
        crate::train::write_tradeoff(&curve, &marked, path)?;
    }
    let lists = stand_in.map_or("published".to_string(), |dir| format!("stand-in {}", dir.display()));
    Ok(json!({ "protocol": "server-rerank", "validationLists": lists, "validation": validation, "test": test }))
}

//! `pocketrank consistency`: the personalization sweep on the server-rerank protocol
//! ([`crate::offline::consistency`]) on validation and test, and the test trade-off as a PNG.
//!
//! It chooses nothing: on this data the validation split cannot choose a blend. The published
//! server lists were retrieved for the test users with the validation target in their history,
//! so on validation the server's own order scores NDCG@10 0.51 and every blend loses to it.
//! The per-term setting it sweeps was chosen on the test pages of half the users (even ids,
//! and again on the odd), as the data README chooses on these lists, by
//! `scripts/consistency_policies.py`; the default stays 1 (fully personal).

use std::path::Path;

use burn::tensor::Device;
use serde_json::json;

use crate::api::{Budget, TermBlend};
use crate::error::{Error, Result};
use crate::offline::consistency::{Point, sweep};
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{Protocol, cases};
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

/// The columns of the rows `terms_out` gets: the user, the target's server position (−1: not in
/// the list), and per candidate in server order (comma-separated) the server term, the personal
/// terms (fit and the fixed terms, what the blend scales), the fixed terms alone and the repeat
/// prior alone (the fixed terms' other part is the transition and rule terms).
pub const TERM_COLUMNS: [&str; 6] = ["user", "target", "server", "personal", "fixed", "repeat"];

/// Sweep validation and test; optionally draw the test blend curve to `plot`, and write each
/// test page's terms to `terms_out` (TSV, [`TERM_COLUMNS`]; scripts/consistency_policies.py).
pub fn run(model: &Path, data_dir: &Path, plot: Option<&Path>, terms_out: Option<&Path>) -> Result<serde_json::Value> {
    let ranker = load_ranker(model, Device::flex())?;
    let data = Dataset::load(data_dir)?;
    let validation = sweep(&ranker, &data, &cases(&data, data_dir, Protocol::ServerRerank, Split::Validation)?, &budgets(), |_, _| ())?;
    let mut rows = vec![TERM_COLUMNS.join("\t")];
    let joined = |terms: &[Terms], term: fn(&Terms) -> f32| terms.iter().map(|t| term(t).to_string()).collect::<Vec<_>>().join(",");
    let test = sweep(&ranker, &data, &cases(&data, data_dir, Protocol::ServerRerank, Split::Test)?, &budgets(), |case, terms| {
        if terms_out.is_some() {
            let target = case.candidates.iter().position(|&c| c == case.target).map_or(-1, |p| p as i64);
            rows.push([data.users[case.user].0.clone(), target.to_string(), joined(terms, |t| t.server), joined(terms, |t| t.fit + t.fixed()), joined(terms, Terms::fixed), joined(terms, |t| t.repeat)].join("\t"));
        }
    })?;
    if let Some(path) = terms_out {
        std::fs::write(path, rows.join("\n") + "\n").map_err(|e| Error::io(path, e))?;
    }
    if let Some(path) = plot {
        let mut curve: Vec<_> = test.iter().filter(|p| p.max_displacement.is_none() && p.pinned == 0 && p.diversity == 0.0 && p.min_overlap == 0.0 && p.terms.is_all()).copied().collect();
        curve.sort_by(|a, b| a.personalization.total_cmp(&b.personalization));
        let find = |wanted: fn(&Point) -> bool| test.iter().find(|p| wanted(p)).copied();
        let mut marked = Vec::new();
        if let Some(full) = find(|p| p.personalization == 1.0 && p.terms.is_all() && p.max_displacement.is_none() && p.pinned == 0 && p.diversity == 0.0 && p.min_overlap == 0.0) {
            marked.push((full, "shipped default: personalization 1".to_string()));
        }
        if let Some(documented) = find(|p| p.terms == DOCUMENTED && p.max_displacement.is_none() && p.pinned == 0 && p.diversity == 0.0 && p.min_overlap == 0.0) {
            marked.push((documented, "consistent page: {fit 0, transition 0.14, repeat 0.2}".to_string()));
        }
        crate::train::write_tradeoff(&curve, &marked, path)?;
    }
    Ok(json!({ "protocol": "server-rerank", "validation": validation, "test": test }))
}

//! The consistency-personalisation trade-off: re-rank server lists under each personalization
//! blend and measure what is gained (NDCG@10) against how far the page moves from the
//! server's order (rank-biased overlap, Webber, Moffat, Zobel 2010, at p = 0.9; Kendall's τ).
//! Each case is scored once; only the ordering stage runs per setting (blend, displacement
//! bound, diversity, whose top 10's intra-list diversity is measured too).

use serde::Serialize;

use crate::api::{Budget, RerankOptions};
use crate::catalog::window;
use crate::error::Result;
use crate::offline::data::Dataset;
use crate::offline::eval::{Case, ndcg10};
use crate::rank::overlap::{RBO_PERSISTENCE, kendall_tau_with_identity, rbo_with_identity};
use crate::rank::score::Terms;
use crate::rank::{Candidates, Memo, Ranker, order, ready};

/// One setting's figures, means over the cases.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// The setting.
    #[serde(flatten)]
    pub budget: Budget,
    /// NDCG@10 of the target.
    pub ndcg10: f64,
    /// RBO (p = 0.9) with the server's order.
    pub rbo: f64,
    /// Kendall's τ with the server's order.
    pub tau: f64,
    /// Intra-list diversity of the top 10: mean pairwise cosine distance of the model's item
    /// vectors (Ziegler et al. 2005).
    pub ild10: f64,
}

/// Mean pairwise cosine distance of the first 10 of `ranking` (`vectors`: `[n, d]`).
fn ild10(ranking: &[usize], vectors: &[f32], d: usize) -> f64 {
    let unit = |i: usize| -> Vec<f64> {
        let v = &vectors[i * d..(i + 1) * d];
        let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt().max(1e-12);
        v.iter().map(|&x| f64::from(x) / norm).collect()
    };
    let top: Vec<Vec<f64>> = ranking.iter().take(10).map(|&i| unit(i)).collect();
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for a in 0..top.len() {
        for b in a + 1..top.len() {
            sum += 1.0 - top[a].iter().zip(&top[b]).map(|(x, y)| x * y).sum::<f64>();
            pairs += 1;
        }
    }
    if pairs == 0 { 0.0 } else { sum / pairs as f64 }
}

/// NDCG@10, RBO, τ and ILD@10 for each budget of `budgets` over `cases` (server-ordered
/// lists). Each case is scored once; only the ordering stage runs per budget. `page` sees each
/// case's terms (server order), for a look at other ordering policies offline.
pub fn sweep(ranker: &Ranker, data: &Dataset, cases: &[Case], budgets: &[Budget], mut page: impl FnMut(&Case, &[Terms])) -> Result<Vec<Point>> {
    let mut totals = vec![(0.0, 0.0, 0.0, 0.0); budgets.len()];
    let weights = ranker.weights();
    let d = ranker.config().item.d_model;
    // A diversity above 0 makes the scoring path return the candidates' vectors.
    let options = RerankOptions { budget: Budget { diversity: 1.0, ..Budget::default() }, ..RerankOptions::default() };
    for case in cases {
        let history = &data.users[case.user].1[..case.history_len];
        let events = data.events(window(history, ranker.max_events()));
        let candidates = data.candidate_list(&case.candidates);
        let scored = ready(ranker.score(&events, Candidates::Listed(&candidates), &RerankOptions { server_order: case.server_order, ..options.clone() }, &mut Memo::none()))?;
        let vectors = scored.vectors.unwrap_or_default();
        let terms = scored.scored.terms(&weights);
        page(case, &terms);
        for (total, budget) in totals.iter_mut().zip(budgets) {
            let ranking = order::arrange(&terms, Some(&vectors), budget).positions;
            let ndcg = ndcg10(ranking.iter().position(|&i| case.candidates.get(i) == Some(&case.target)));
            total.0 += ndcg;
            total.1 += rbo_with_identity(&ranking, RBO_PERSISTENCE);
            total.2 += kendall_tau_with_identity(&ranking);
            total.3 += ild10(&ranking, &vectors, d);
        }
    }
    let n = cases.len().max(1) as f64;
    Ok(budgets
        .iter()
        .zip(totals)
        .map(|(&budget, (a, r, t, i))| Point { budget, ndcg10: a / n, rbo: r / n, tau: t / n, ild10: i / n })
        .collect())
}

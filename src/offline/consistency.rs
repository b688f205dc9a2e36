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
use crate::rank::{Candidates, Memo, Ranker, order, ready};

/// Extrapolated rank-biased overlap (RBO_EXT) of `ranking` with the identity order 0..n, for
/// two orderings of the same n items: 1 when equal.
pub fn rbo_with_identity(ranking: &[usize], p: f64) -> f64 {
    let n = ranking.len();
    if n == 0 {
        return 1.0;
    }
    let mut seen = vec![0u8; n];
    let mut overlap = 0usize;
    let mut sum = 0.0;
    let mut weight = 1.0;
    for (depth, &item) in ranking.iter().enumerate() {
        // Depth d = depth + 1 adds `item` to one prefix and `depth` to the other.
        for x in [item, depth] {
            if let Some(s) = seen.get_mut(x) {
                *s += 1;
                if *s == 2 {
                    overlap += 1;
                }
            }
        }
        weight *= p;
        sum += weight * overlap as f64 / (depth + 1) as f64;
    }
    // X_k / k · p^k + (1 − p)/p · Σ_d X_d / d · p^d, with X_k = k (same items).
    weight + (1.0 - p) / p * sum
}

/// Kendall's τ of `ranking` against the identity order (no ties): 1 when equal, −1 reversed.
pub fn kendall_tau_with_identity(ranking: &[usize]) -> f64 {
    let n = ranking.len();
    if n < 2 {
        return 1.0;
    }
    let discordant: usize = (0..n).map(|i| (i + 1..n).filter(|&j| ranking[i] > ranking[j]).count()).sum();
    let pairs = (n * (n - 1) / 2) as f64;
    1.0 - 2.0 * discordant as f64 / pairs
}

/// One setting's figures, means over the cases.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// The personalization blend.
    pub personalization: f32,
    /// The displacement bound, if any.
    pub max_displacement: Option<usize>,
    /// Server positions pinned at the top.
    pub pinned: usize,
    /// The MMR diversity.
    pub diversity: f32,
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
/// lists). Each case is scored once; only the ordering stage runs per budget.
pub fn sweep(ranker: &Ranker, data: &Dataset, cases: &[Case], budgets: &[Budget]) -> Result<Vec<Point>> {
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
        for (total, budget) in totals.iter_mut().zip(budgets) {
            let scores: Vec<f32> = terms.iter().map(|t| order::blended(t, budget.personalization)).collect();
            let ranking = if budget.diversity > 0.0 { order::diverse_order(&scores, &vectors, budget) } else { order::budgeted_order(&scores, budget) };
            let ndcg = ndcg10(ranking.iter().position(|&i| case.candidates.get(i) == Some(&case.target)));
            total.0 += ndcg;
            total.1 += rbo_with_identity(&ranking, 0.9);
            total.2 += kendall_tau_with_identity(&ranking);
            total.3 += ild10(&ranking, &vectors, d);
        }
    }
    let n = cases.len().max(1) as f64;
    Ok(budgets
        .iter()
        .zip(totals)
        .map(|(b, (a, r, t, i))| Point { personalization: b.personalization, max_displacement: b.max_displacement, pinned: b.pinned, diversity: b.diversity, ndcg10: a / n, rbo: r / n, tau: t / n, ild10: i / n })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbo_and_tau_by_hand() {
        assert_eq!(rbo_with_identity(&[0, 1, 2, 3], 0.9), 1.0);
        assert_eq!(kendall_tau_with_identity(&[0, 1, 2, 3]), 1.0);
        assert_eq!(kendall_tau_with_identity(&[3, 2, 1, 0]), -1.0);
        // One adjacent swap of 4: 1 discordant pair of 6.
        assert!((kendall_tau_with_identity(&[1, 0, 2, 3]) - (1.0 - 2.0 / 6.0)).abs() < 1e-12);
        // [1, 0]: X_1 = 0, X_2 = 2 → p² + (1 − p)/p · (0 + p² · 2/2) = p² + (1 − p)·p.
        let p = 0.9;
        assert!((rbo_with_identity(&[1, 0], p) - (p * p + (1.0 - p) * p)).abs() < 1e-12);
        assert!(rbo_with_identity(&[3, 2, 1, 0], p) < rbo_with_identity(&[0, 1, 3, 2], p));
    }
}

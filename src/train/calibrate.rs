//! How much to trust the server: the weight of −ln(server rank), chosen on validation, and
//! with a transition table the weight of its term too.
//!
//! The published server lists exist only for test targets, so validation uses a stand-in
//! server built from the training split alone. Training's own calibration uses first-order
//! item transitions from the last three items (weights 1, ½, ¼), popularity filling the list
//! up to 100, history excluded ([`TransitionServer`]). That stand-in cannot weigh a
//! transition term (its lists are made of transitions), so [`calibrate_transitions`] takes
//! the lists of a model trained independently on the training split ([`ModelServer`]).

use std::collections::HashMap;

use crate::data::{Dataset, Split};
use crate::error::Result;
use crate::eval::Metrics;
use crate::input::RerankOptions;
use crate::rank::{EncodedCandidates, Ranker};
use crate::transitions::Transitions;

/// A stand-in retriever over the training split.
pub struct TransitionServer {
    next: HashMap<usize, HashMap<usize, f64>>,
    by_popularity: Vec<usize>,
}

impl TransitionServer {
    /// Count transitions and popularity on every user's training part.
    pub fn fit(data: &Dataset) -> TransitionServer {
        let mut next: HashMap<usize, HashMap<usize, f64>> = HashMap::new();
        let mut popularity = vec![0u32; data.ids.len()];
        for user in 0..data.users.len() {
            let items = data.training_part(user);
            for pair in items.windows(2) {
                *next.entry(pair[0]).or_default().entry(pair[1]).or_default() += 1.0;
            }
            for &i in items {
                popularity[i] += 1;
            }
        }
        for row in next.values_mut() {
            let total: f64 = row.values().sum();
            row.values_mut().for_each(|v| *v /= total);
        }
        let mut by_popularity: Vec<usize> = (0..data.ids.len()).collect();
        by_popularity.sort_by(|&a, &b| popularity[b].cmp(&popularity[a]).then(a.cmp(&b)));
        TransitionServer { next, by_popularity }
    }

    /// Σ_j ½^j · P(item | j-th most recent of `history`), over the 3 most recent, for every
    /// item that follows one of them in training.
    pub fn transition_scores(&self, history: &[usize]) -> HashMap<usize, f64> {
        let mut scores: HashMap<usize, f64> = HashMap::new();
        for (j, item) in history.iter().rev().take(3).enumerate() {
            for (&c, &p) in self.next.get(item).into_iter().flatten() {
                *scores.entry(c).or_default() += 0.5f64.powi(j as i32) * p;
            }
        }
        scores
    }

    /// The top `n` items for a history, best first.
    pub fn retrieve(&self, history: &[usize], n: usize) -> Vec<usize> {
        let scores = self.transition_scores(history);
        let seen: std::collections::HashSet<usize> = history.iter().copied().collect();
        let mut ranked: Vec<(usize, f64)> = scores.into_iter().filter(|(c, _)| !seen.contains(c)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut out: Vec<usize> = ranked.into_iter().map(|(c, _)| c).take(n).collect();
        let mut taken: std::collections::HashSet<usize> = out.iter().copied().collect();
        for &c in &self.by_popularity {
            if out.len() >= n {
                break;
            }
            if !seen.contains(&c) && taken.insert(c) {
                out.push(c);
            }
        }
        out
    }
}

/// A stand-in server that is a trained model: the top of its scores over the whole catalog.
pub struct ModelServer<'a> {
    ranker: &'a Ranker,
    catalog: EncodedCandidates,
}

impl<'a> ModelServer<'a> {
    /// Encode every item of `data` once with `ranker`.
    pub fn new(ranker: &'a Ranker, data: &Dataset) -> Result<ModelServer<'a>> {
        let all: Vec<usize> = (0..data.ids.len()).collect();
        Ok(ModelServer { ranker, catalog: ranker.encode_candidates(&data.candidate_list(&all))? })
    }

    /// The model's top `n` items (data indices) after `history`, best first; ties go to the
    /// lower index. History items stay eligible, pushed down by the repeat prior as the
    /// ranker scores them (a server's list may hold them too).
    pub fn retrieve(&self, data: &Dataset, history: &[usize], n: usize) -> Result<Vec<usize>> {
        let events = data.events(&history[history.len().saturating_sub(self.ranker.max_events())..]);
        let scores = self.ranker.score_encoded(&events, &self.catalog)?;
        let mut ranked: Vec<usize> = (0..scores.len()).collect();
        ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        ranked.truncate(n);
        Ok(ranked)
    }
}

/// One validation list: the model's fit of each listed item, their transition scores (empty
/// = none) and where the target is.
struct ScoredList {
    fit: Vec<f32>,
    transitions: Vec<f32>,
    target_at: usize,
}

/// NDCG@10 of fit − `rank_weight`·ln(rank) + `transition_weight`·transitions over `lists`,
/// with `missing` more users whose target is in no list (they count 0).
fn blend_ndcg(lists: &[ScoredList], missing: usize, rank_weight: f32, transition_weight: f32) -> f64 {
    let mut positions: Vec<Option<usize>> = vec![None; missing];
    for list in lists {
        let blended = |i: usize| list.fit[i] - rank_weight * ((i + 1) as f32).ln() + transition_weight * list.transitions.get(i).copied().unwrap_or(0.0);
        positions.push(Some(position(list.fit.len(), list.target_at, blended)));
    }
    Metrics::from_positions(&positions).ndcg10()
}

/// 0-based position of item `at` of a `len`-item list re-ranked by `score`: the items scored
/// higher, plus the equal ones earlier in server order (ties keep the server's order, as
/// [`Ranker::rerank`] does).
fn position<S: PartialOrd>(len: usize, at: usize, score: impl Fn(usize) -> S) -> usize {
    let target = score(at);
    (0..len).filter(|&i| { let s = score(i); s > target || (s == target && i < at) }).count()
}

/// NDCG@10 of the server lists' own order.
fn server_ndcg(lists: &[ScoredList], missing: usize) -> f64 {
    let positions: Vec<Option<usize>> = lists.iter().map(|l| Some(l.target_at)).chain(std::iter::repeat_n(None, missing)).collect();
    Metrics::from_positions(&positions).ndcg10()
}

/// The server-trust grid: 0..=10 by 0.1.
fn rank_weights() -> impl Iterator<Item = f32> {
    (0..=100).map(|step| step as f32 * 0.1)
}

/// The rank weight of `grid` with the best [`blend_ndcg`] at `transition_weight`, and that
/// NDCG@10; the first of equals wins.
fn best_rank_weight(grid: impl IntoIterator<Item = f32>, lists: &[ScoredList], missing: usize, transition_weight: f32) -> (f32, f64) {
    grid.into_iter().map(|w| (w, blend_ndcg(lists, missing, w, transition_weight))).fold((0.0, f64::MIN), |best, x| if x.1 > best.1 { x } else { best })
}

/// Result of [`calibrate_transitions`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TransitionCalibration {
    /// Successors kept per item in the table.
    pub per_item: usize,
    /// Weight of −ln(rank): chosen, or the one it was held at.
    pub rank_weight: f32,
    /// Whether the rank weight was held fixed (the final fit's own) rather than chosen.
    pub rank_weight_fixed: bool,
    /// Chosen weight of the transition score.
    pub transition_weight: f32,
    /// Validation NDCG@10 of the stand-in server's own order.
    pub server_ndcg10: f64,
    /// Best validation NDCG@10 without the transition term (its rank weight is the first
    /// number).
    pub without_transitions: (f32, f64),
    /// Validation NDCG@10 at the chosen weights.
    pub blended_ndcg10: f64,
    /// Users whose validation target the stand-in server retrieved.
    pub users_with_target: usize,
    /// Users calibrated on.
    pub users: usize,
}

/// The transition-weight grid.
/// The transition-weight grid. It runs up to weights at which any kept successor outranks
/// every other candidate (fit and server term span a few units; P is at least 1/255).
pub const TRANSITION_WEIGHTS: [f32; 16] = [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0, 256.0, 1024.0];

/// Choose the transition weight on the validation targets of `users`, re-ranking `server`'s
/// top 100, together with the rank weight or, with `fixed_rank_weight`, at that rank weight.
/// `ranker` must have zero server weights and no transition table; `table` must be counted on
/// the training split alone and index `ranker`'s rows.
///
/// Why a fixed rank weight: how much the server deserves trust depends on how strong its list
/// is next to the model, and no stand-in matches the real server there (a model distilled from
/// the same teacher agrees with the student; an independently trained one is weaker). The
/// transition weight depends far less on that.
pub fn calibrate_transitions(ranker: &Ranker, server: &ModelServer, data: &Dataset, users: &[usize], table: &Transitions, per_item: usize, fixed_rank_weight: Option<f32>) -> Result<TransitionCalibration> {
    let mut lists = Vec::new();
    for &user in users {
        let Some((history, target)) = data.history(user, Split::Validation) else { continue };
        let list = server.retrieve(data, history, 100)?;
        let Some(target_at) = list.iter().position(|&c| c == target) else { continue };
        let window = &history[history.len().saturating_sub(ranker.max_events())..];
        let fit = ranker.score(&data.events(window), &data.candidate_list(&list), &RerankOptions { server_order: false })?;
        let recent: Vec<usize> = window.iter().rev().map(|&i| ranker.row(&data.ids[i])).collect();
        let rows: Vec<usize> = list.iter().map(|&i| ranker.row(&data.ids[i])).collect();
        lists.push(ScoredList { fit, transitions: table.scores(&recent, &rows), target_at });
    }
    let missing = users.len() - lists.len();
    let grid: Vec<f32> = match fixed_rank_weight {
        Some(w) => vec![w],
        None => rank_weights().collect(),
    };
    let best_over_ranks = |transition_weight: f32| best_rank_weight(grid.iter().copied(), &lists, missing, transition_weight);
    let mut best = (0.0, 0.0, f64::MIN);
    for transition_weight in TRANSITION_WEIGHTS {
        let (rank_weight, score) = best_over_ranks(transition_weight);
        if score > best.2 {
            best = (rank_weight, transition_weight, score);
        }
    }
    Ok(TransitionCalibration {
        per_item,
        rank_weight: best.0,
        rank_weight_fixed: fixed_rank_weight.is_some(),
        transition_weight: best.1,
        server_ndcg10: server_ndcg(&lists, missing),
        without_transitions: best_over_ranks(0.0),
        blended_ndcg10: best.2,
        users_with_target: lists.len(),
        users: users.len(),
    })
}

/// Result of the calibration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// Chosen weight of −ln(rank).
    pub rank_weight: f32,
    /// Validation NDCG@10 of the stand-in server's own order.
    pub server_ndcg10: f64,
    /// Validation NDCG@10 of the model alone (weight 0).
    pub model_ndcg10: f64,
    /// Validation NDCG@10 at the chosen weight.
    pub blended_ndcg10: f64,
    /// Users whose validation target the stand-in server retrieved.
    pub users_with_target: usize,
    /// Users calibrated on.
    pub users: usize,
}

/// Choose the rank weight on the validation targets of `users` (grid 0..=10 by 0.1).
/// `ranker` must have zero server weights, so its scores are the model's fit alone.
pub fn calibrate(ranker: &Ranker, data: &Dataset, users: &[usize]) -> Result<Calibration> {
    let server = TransitionServer::fit(data);
    let mut lists = Vec::new();
    for &user in users {
        let Some((history, target)) = data.history(user, Split::Validation) else { continue };
        let list = server.retrieve(history, 100);
        let Some(target_at) = list.iter().position(|&c| c == target) else { continue };
        let events = data.events(&history[history.len().saturating_sub(ranker.max_events())..]);
        let fit = ranker.score(&events, &data.candidate_list(&list), &RerankOptions { server_order: false })?;
        lists.push(ScoredList { fit, transitions: Vec::new(), target_at });
    }
    let missing = users.len() - lists.len();
    let best = best_rank_weight(rank_weights(), &lists, missing, 0.0);
    Ok(Calibration {
        rank_weight: best.0,
        server_ndcg10: server_ndcg(&lists, missing),
        model_ndcg10: blend_ndcg(&lists, missing, 0.0, 0.0),
        blended_ndcg10: best.1,
        users_with_target: lists.len(),
        users: users.len(),
    })
}

/// The model-free server-rerank baseline of `../shared/data/README.md`: each listed candidate
/// scores −ln(server rank) + `weight` · its transition score from the user's 3 most recent
/// items; ties keep the server's order. Metrics over `cases` (a missing target counts 0).
pub fn transition_blend(server: &TransitionServer, data: &Dataset, cases: &[crate::eval::Case], weight: f64) -> Metrics {
    let positions: Vec<Option<usize>> = cases
        .iter()
        .map(|case| {
            let history = &data.users[case.user].1[..case.history_len];
            let transitions = server.transition_scores(history);
            let score = |i: usize| -((i + 1) as f64).ln() + weight * transitions.get(&case.candidates[i]).copied().unwrap_or(0.0);
            let at = case.candidates.iter().position(|&c| c == case.target)?;
            Some(position(case.candidates.len(), at, score))
        })
        .collect();
    Metrics::from_positions(&positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_keeps_server_order_on_ties() {
        let scores = [1.0f32, 3.0, 3.0, 0.5];
        // Item 2 ties with item 1, which the server listed first: one item ahead.
        assert_eq!(position(4, 2, |i| scores[i]), 1);
        assert_eq!(position(4, 1, |i| scores[i]), 0);
        assert_eq!(position(4, 3, |i| scores[i]), 3);
    }

    #[test]
    fn blend_weighs_rank_and_transitions_by_hand() {
        // Target listed third; the model prefers it slightly (fit 0.5 against 0).
        let list = ScoredList { fit: vec![0.0, 0.0, 0.5], transitions: vec![0.0, 0.0, 0.0], target_at: 2 };
        let at = |rank_weight, transition_weight, lists: &[ScoredList]| blend_ndcg(lists, 1, rank_weight, transition_weight);
        // No server trust: the target goes first, NDCG@10 1; averaged with one missing user.
        assert!((at(0.0, 0.0, std::slice::from_ref(&list)) - 0.5).abs() < 1e-12);
        // Trust 1: 0.5 − ln 3 = −0.60 sits between −ln 1 and −ln 2: second, 1/log2(3), halved.
        assert!((at(1.0, 0.0, std::slice::from_ref(&list)) - 0.5 / 3f64.log2()).abs() < 1e-12);
        // Trust 2: 0.5 − 2 ln 3 = −1.70 < −2 ln 2: third, 1/log2(4) = 0.5, halved.
        assert!((at(2.0, 0.0, std::slice::from_ref(&list)) - 0.25).abs() < 1e-12);
        // A transition score on the target (4 × 0.5) brings it back to the top.
        let with_transition = ScoredList { transitions: vec![0.0, 0.0, 0.5], ..list };
        assert!((at(2.0, 4.0, &[with_transition]) - 0.5).abs() < 1e-12);
    }
}

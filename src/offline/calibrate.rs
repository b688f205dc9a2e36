//! How much to trust the server: the weight of −ln(server rank), chosen on validation, and
//! with a transition table the weight of its term too.
//!
//! Every candidate is scored once through [`Ranker::score`], the path `rerank` takes; each
//! grid point re-forms the terms under its weights ([`Features::terms`]) and finds the target
//! with the ordering rule `rerank` uses ([`order::position`]).

use crate::api::RerankOptions;
use crate::catalog::window;
use crate::error::Result;
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{Case, Metrics};
use crate::offline::search::best;
use crate::offline::servers::{ModelServer, TransitionServer};
use crate::rank::score::{Scored, Weights};
use crate::rank::{Candidates, Memo, Ranker, order, ready};
use crate::relations::Relations;
use crate::relations::transitions::Transitions;

/// One validation list: its candidates scored, and where the target is.
struct ScoredList {
    scored: Scored,
    target_at: usize,
}

/// NDCG@10 over `lists` at `weights`, with `missing` more users whose target is in no list
/// (they count 0).
fn blend_ndcg(lists: &[ScoredList], missing: usize, weights: &Weights) -> f64 {
    let mut positions: Vec<Option<usize>> = vec![None; missing];
    for list in lists {
        let totals = list.scored.totals(weights);
        positions.push(Some(order::position(totals.len(), list.target_at, |i| totals[i])));
    }
    Metrics::from_positions(&positions).ndcg10()
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

/// Score `server`'s list for each user's validation history with `ranker`, in server order;
/// users whose target is not listed are counted as missing.
fn score_lists(ranker: &Ranker, data: &Dataset, users: &[usize], mut server: impl FnMut(&[usize]) -> Result<Vec<usize>>) -> Result<(Vec<ScoredList>, usize)> {
    let mut lists = Vec::new();
    for &user in users {
        let Some((history, target)) = data.history(user, Split::Validation) else { continue };
        let list = server(history)?;
        let Some(target_at) = list.iter().position(|&c| c == target) else { continue };
        let events = data.events(window(history, ranker.max_events()));
        let scored = ready(ranker.score(&events, Candidates::Listed(&data.candidate_list(&list)), &RerankOptions::default(), &mut Memo::none()))?.scored;
        lists.push(ScoredList { scored, target_at });
    }
    let missing = users.len() - lists.len();
    Ok((lists, missing))
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

/// The transition-weight grid. It runs up to weights at which any kept successor outranks
/// every other candidate (fit and server term span a few units; P is at least 1/255).
pub const TRANSITION_WEIGHTS: [f32; 16] = [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0, 256.0, 1024.0];

/// Choose the transition weight on the validation targets of `users`, re-ranking `server`'s
/// top 100, together with the rank weight or, with `fixed_rank_weight`, at that rank weight.
/// `ranker` scores with `table` in place of its own; its server weights are not used (the grid
/// sets them). `table` must be counted on the training split alone and index `ranker`'s rows.
///
/// Why a fixed rank weight: how much the server deserves trust depends on how strong its list
/// is next to the model, and no stand-in matches the real server there (a model distilled from
/// the same teacher agrees with the student; an independently trained one is weaker). The
/// transition weight depends far less on that.
pub fn calibrate_transitions(ranker: Ranker, server: &ModelServer, data: &Dataset, users: &[usize], table: Transitions, per_item: usize, fixed_rank_weight: Option<f32>) -> Result<TransitionCalibration> {
    let rules = ranker.relations().rules.clone();
    let ranker = ranker.with_relations(Relations { transitions: Some(table), rules });
    let (lists, missing) = score_lists(&ranker, data, users, |history| server.retrieve(data, history, 100))?;
    let grid: Vec<f32> = match fixed_rank_weight {
        Some(w) => vec![w],
        None => rank_weights().collect(),
    };
    let at = |rank: f32, transition: f32| Weights { rank, server_score: 0.0, transition, ..ranker.weights() };
    let best_over_ranks = |transition: f32| best(grid.iter().copied(), |rank| blend_ndcg(&lists, missing, &at(rank, transition)));
    let (transition_weight, blended) = best(TRANSITION_WEIGHTS, |t| best_over_ranks(t).1);
    let (rank_weight, _) = best_over_ranks(transition_weight);
    Ok(TransitionCalibration {
        per_item,
        rank_weight,
        rank_weight_fixed: fixed_rank_weight.is_some(),
        transition_weight,
        server_ndcg10: server_ndcg(&lists, missing),
        without_transitions: best_over_ranks(0.0),
        blended_ndcg10: blended,
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

/// Choose the rank weight on the validation targets of `users` (grid 0..=10 by 0.1), with
/// training's stand-in server ([`TransitionServer`]).
pub fn calibrate(ranker: &Ranker, data: &Dataset, users: &[usize]) -> Result<Calibration> {
    let server = TransitionServer::fit(data);
    let (lists, missing) = score_lists(ranker, data, users, |history| Ok(server.retrieve(history, 100)))?;
    let at = |rank: f32| Weights { rank, server_score: 0.0, ..ranker.weights() };
    let (rank_weight, blended_ndcg10) = best(rank_weights(), |w| blend_ndcg(&lists, missing, &at(w)));
    Ok(Calibration {
        rank_weight,
        server_ndcg10: server_ndcg(&lists, missing),
        model_ndcg10: blend_ndcg(&lists, missing, &at(0.0)),
        blended_ndcg10,
        users_with_target: lists.len(),
        users: users.len(),
    })
}

/// The model-free server-rerank baseline of `../shared/data/README.md`: each listed candidate
/// scores −ln(server rank) + `weight` · its transition score from the user's 3 most recent
/// items; ties keep the server's order. Metrics over `cases` (a missing target counts 0).
pub fn transition_blend(server: &TransitionServer, data: &Dataset, cases: &[Case], weight: f64) -> Metrics {
    let positions: Vec<Option<usize>> = cases
        .iter()
        .map(|case| {
            let history = &data.users[case.user].1[..case.history_len];
            let transitions = server.transition_scores(history);
            let score = |i: usize| -((i + 1) as f64).ln() + weight * transitions.get(&case.candidates[i]).copied().unwrap_or(0.0);
            let at = case.candidates.iter().position(|&c| c == case.target)?;
            Some(order::position(case.candidates.len(), at, score))
        })
        .collect();
    Metrics::from_positions(&positions)
}

/// What `pocketrank baseline` reports.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The blend weight, chosen on users with even ids.
    pub weight: f64,
    /// Users it was chosen on.
    pub tune_users: usize,
    /// The blend over every test user.
    pub all: Metrics,
    /// The blend over odd ids only (not chosen on).
    pub odd: Metrics,
    /// The server's own order over odd ids.
    pub server_odd: Metrics,
}

impl Baseline {
    /// The figures as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        let (all, odd, server_odd) = (&self.all, &self.odd, &self.server_odd);
        serde_json::json!({"protocol": "server-rerank", "system": "transition-blend", "weight": self.weight, "users": all.users, "ndcg@10": all.ndcg10(), "hr@10": all.hr[1], "odd_ndcg@10": odd.ndcg10(), "odd_server_ndcg@10": server_odd.ndcg10()})
    }
}

/// The model-free server-rerank baseline on `data`'s test users (`dir`'s server lists): the
/// weight is chosen on even user ids and reported on all and on the odd ones.
pub fn baseline(data: &Dataset, dir: &std::path::Path) -> Result<Baseline> {
    let server = TransitionServer::fit(data);
    let cases = crate::offline::eval::cases(data, dir, crate::offline::eval::Protocol::ServerRerank, Split::Test)?;
    let even = |case: &Case| data.users[case.user].0.parse::<u64>().is_ok_and(|id| id % 2 == 0);
    let (tune, held): (Vec<Case>, Vec<Case>) = cases.iter().cloned().partition(even);
    let (weight, _) = tuned_blend(&server, data, &tune);
    Ok(Baseline {
        weight,
        tune_users: tune.len(),
        all: transition_blend(&server, data, &cases, weight),
        odd: transition_blend(&server, data, &held, weight),
        server_odd: transition_blend(&server, data, &held, 0.0),
    })
}

/// The grid of [`transition_blend`]'s weight.
pub const BLEND_WEIGHTS: [f64; 13] = [0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0];

/// The baseline with its weight chosen on `tune` (the best of [`BLEND_WEIGHTS`]).
pub fn tuned_blend(server: &TransitionServer, data: &Dataset, tune: &[Case]) -> (f64, f64) {
    best(BLEND_WEIGHTS, |w| transition_blend(server, data, tune, w).ndcg10())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::score::Features;

    fn list(fit: Vec<f32>, transitions: Vec<f32>, target_at: usize) -> ScoredList {
        let features = (0..fit.len())
            .map(|i| Features { log_rank: -((i + 1) as f32).ln(), transition_parts: vec![(0, transitions[i])], ..Features::default() })
            .collect();
        ScoredList { scored: Scored { fit, features }, target_at }
    }

    #[test]
    fn blend_weighs_rank_and_transitions_by_hand() {
        // Target listed third; the model prefers it slightly (fit 0.5 against 0).
        let plain = list(vec![0.0, 0.0, 0.5], vec![0.0; 3], 2);
        let at = |rank, transition, l: &ScoredList| blend_ndcg(std::slice::from_ref(l), 1, &Weights { rank, server_score: 0.0, repeat: 0.0, transition, rule: 0.0 });
        // No server trust: the target goes first, NDCG@10 1; averaged with one missing user.
        assert!((at(0.0, 0.0, &plain) - 0.5).abs() < 1e-12);
        // Trust 1: 0.5 − ln 3 = −0.60 sits between −ln 1 and −ln 2: second, 1/log2(3), halved.
        assert!((at(1.0, 0.0, &plain) - 0.5 / 3f64.log2()).abs() < 1e-12);
        // Trust 2: 0.5 − 2 ln 3 = −1.70 < −2 ln 2: third, 1/log2(4) = 0.5, halved.
        assert!((at(2.0, 0.0, &plain) - 0.25).abs() < 1e-12);
        // A transition score on the target (4 × 0.5) brings it back to the top.
        assert!((at(2.0, 4.0, &list(vec![0.0, 0.0, 0.5], vec![0.0, 0.0, 0.5], 2)) - 0.5).abs() < 1e-12);
    }
}

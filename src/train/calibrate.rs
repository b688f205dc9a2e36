//! How much to trust the server: the weight of −ln(server rank), chosen on validation.
//!
//! The published server lists exist only for test targets, so validation uses a stand-in
//! server built from the training split alone: first-order item transitions from the last
//! three items (weights 1, ½, ¼), popularity filling the list up to 100, history excluded.

use std::collections::HashMap;

use crate::data::{Dataset, Split};
use crate::error::Result;
use crate::eval::Metrics;
use crate::input::RerankOptions;
use crate::rank::Ranker;

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
    // (model fit scores of the list, target position in the server list)
    let mut lists: Vec<(Vec<f32>, usize)> = Vec::new();
    for &user in users {
        let Some((history, target)) = data.history(user, Split::Validation) else { continue };
        let list = server.retrieve(history, 100);
        let Some(target_at) = list.iter().position(|&c| c == target) else { continue };
        let events = data.events(&history[history.len().saturating_sub(ranker.max_events())..]);
        let fit = ranker.score(&events, &data.candidate_list(&list), &RerankOptions { server_order: false })?;
        lists.push((fit, target_at));
    }
    let ndcg_at = |w: f32| {
        let mut positions: Vec<Option<usize>> = vec![None; users.len() - lists.len()];
        for (fit, target_at) in &lists {
            let blended = |i: usize| fit[i] - w * ((i + 1) as f32).ln();
            let t = blended(*target_at);
            // Position = items strictly better, plus equal ones earlier in server order.
            let ahead = (0..fit.len()).filter(|&i| { let s = blended(i); s > t || (s == t && i < *target_at) }).count();
            positions.push(Some(ahead));
        }
        Metrics::from_positions(&positions).ndcg10()
    };
    let server_positions: Vec<Option<usize>> =
        lists.iter().map(|(_, t)| Some(*t)).chain(std::iter::repeat_n(None, users.len() - lists.len())).collect();
    let mut best = (0.0f32, ndcg_at(0.0));
    for step in 1..=100 {
        let w = step as f32 * 0.1;
        let score = ndcg_at(w);
        if score > best.1 {
            best = (w, score);
        }
    }
    Ok(Calibration {
        rank_weight: best.0,
        server_ndcg10: Metrics::from_positions(&server_positions).ndcg10(),
        model_ndcg10: ndcg_at(0.0),
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
            let t = score(at);
            Some((0..case.candidates.len()).filter(|&i| { let s = score(i); s > t || (s == t && i < at) }).count())
        })
        .collect();
    Metrics::from_positions(&positions)
}

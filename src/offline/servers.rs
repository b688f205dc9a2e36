//! Stand-in servers: the published server lists exist only for test targets, so choices made
//! on validation re-rank lists built from the training split alone.
//!
//! - [`TransitionServer`]: first-order item transitions from the last three items (weights 1,
//!   ½, ¼), popularity filling the list, history excluded. Training's own calibration uses it.
//!   It cannot weigh a transition term (its lists are made of transitions).
//! - [`ModelServer`]: the top of an independently trained model's scores over the catalog.

use std::collections::{HashMap, HashSet};

use crate::api::RerankOptions;
use crate::catalog::window;
use crate::error::Result;
use crate::offline::data::Dataset;
use crate::rank::{Candidates, EncodedCandidates, Memo, Ranker, order, ready};
use crate::relations::transitions::{self, Counts};

/// A stand-in retriever over the training split.
pub struct TransitionServer {
    /// `next[item]`: every successor with P(successor | item), over data-set item indices.
    next: Vec<Vec<(usize, f64)>>,
    by_popularity: Vec<usize>,
}

impl TransitionServer {
    /// Count transitions and popularity on every user's training part.
    pub fn fit(data: &Dataset) -> TransitionServer {
        let counts = Counts::count((0..data.users.len()).map(|u| data.training_part(u)), data.ids.len());
        let popularity = counts.popularity();
        let mut by_popularity: Vec<usize> = (0..data.ids.len()).collect();
        by_popularity.sort_by(|&a, &b| popularity[b].cmp(&popularity[a]).then(a.cmp(&b)));
        TransitionServer { next: counts.exact(), by_popularity }
    }

    /// Σ_j ½^j · P(item | j-th most recent of `history`), over the 3 most recent, for every
    /// item that follows one of them in training.
    pub fn transition_scores(&self, history: &[usize]) -> HashMap<usize, f64> {
        let recent: Vec<usize> = history.iter().rev().copied().collect();
        let parts = transitions::decayed(&recent, |item| self.next.get(item).into_iter().flatten().copied());
        parts.into_iter().map(|(item, parts)| (item, transitions::total(&parts))).collect()
    }

    /// The top `n` items for a history, best first.
    pub fn retrieve(&self, history: &[usize], n: usize) -> Vec<usize> {
        let scores = self.transition_scores(history);
        let seen: HashSet<usize> = history.iter().copied().collect();
        let mut ranked: Vec<(usize, f64)> = scores.into_iter().filter(|(c, _)| !seen.contains(c)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut out: Vec<usize> = ranked.into_iter().map(|(c, _)| c).take(n).collect();
        let mut taken: HashSet<usize> = out.iter().copied().collect();
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
        let events = data.events(window(history, self.ranker.max_events()));
        let scored = ready(self.ranker.score(&events, Candidates::Encoded(&self.catalog), &RerankOptions::server_order(false), &mut Memo::none()))?;
        let mut ranked = order::order(&scored.scored.totals(&self.ranker.weights()));
        ranked.truncate(n);
        Ok(ranked)
    }
}

//! The ordering stage: scores → positions. One rule everywhere (re-ranking, evaluation,
//! calibration, the baseline): higher scores first by `total_cmp`, and equal scores keep the
//! server's order. Later stages that act on the order (a consistency budget) go here.

use std::cmp::Ordering;

use crate::api::{Candidate, Ranked};
use crate::rank::score::Terms;

/// A score the ordering rule can compare: f32 for the model, f64 for model-free baselines.
pub trait Score: Copy {
    /// IEEE total order (`f32::total_cmp`): NaN and −0 have a fixed place, never a panic.
    fn total_cmp(&self, other: &Self) -> Ordering;
}

impl Score for f32 {
    fn total_cmp(&self, other: &Self) -> Ordering {
        f32::total_cmp(self, other)
    }
}

impl Score for f64 {
    fn total_cmp(&self, other: &Self) -> Ordering {
        f64::total_cmp(self, other)
    }
}

/// The rule: the item at server position `a` (score `score_a`) against the one at `b`;
/// `Less` means `a` goes first.
fn compare<S: Score>(score_a: S, a: usize, score_b: S, b: usize) -> Ordering {
    score_b.total_cmp(&score_a).then(a.cmp(&b))
}

/// Server positions (0-based) in their new order, best first.
pub fn order<S: Score>(scores: &[S]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| match (scores.get(a), scores.get(b)) {
        (Some(&x), Some(&y)) => compare(x, a, y, b),
        _ => a.cmp(&b),
    });
    order
}

/// The new 0-based position of the item at server position `at`, without sorting: the items
/// that [`order`] puts before it. `score(i)` is the score of server position `i` of `len`.
pub fn position<S: Score>(len: usize, at: usize, score: impl Fn(usize) -> S) -> usize {
    let target = score(at);
    (0..len).filter(|&i| compare(score(i), i, target, at) == Ordering::Less).count()
}

/// `candidates` (server order) with their scores' terms, ordered, as re-ranked items.
pub fn ranked(candidates: &[Candidate], terms: Vec<Terms>) -> Vec<Ranked> {
    let scores: Vec<f32> = terms.iter().map(Terms::total).collect();
    let mut terms: Vec<Option<Terms>> = terms.into_iter().map(Some).collect();
    order(&scores)
        .into_iter()
        .enumerate()
        .filter_map(|(position, index)| {
            Some(Ranked { id: candidates.get(index)?.id.clone(), score: *scores.get(index)?, rank: position.saturating_add(1), server_rank: index.saturating_add(1), terms: terms.get_mut(index)?.take()? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_keep_server_order_and_position_agrees_with_order() {
        let scores = [1.0f32, 3.0, 3.0, 0.5, f32::NAN, -0.0, 0.0];
        let order = order(&scores);
        // NaN sorts above every number under total_cmp (positive NaN), 0 above −0.
        assert_eq!(order, vec![4, 1, 2, 0, 3, 6, 5]);
        for (new, &at) in order.iter().enumerate() {
            assert_eq!(position(scores.len(), at, |i| scores[i]), new, "item {at}");
        }
        // Item 2 ties with item 1, which the server listed first: one item ahead of it.
        assert_eq!(position(4, 2, |i| [1.0f64, 3.0, 3.0, 0.5][i]), 1);
    }
}

//! The ordering stage: scores → positions. One rule everywhere (re-ranking, evaluation,
//! calibration, the baseline): higher scores first by `total_cmp`, and equal scores keep the
//! server's order. The consistency budget ([`Budget`]) acts here, after scoring: the
//! personalization blend scales the personal terms, pinned positions stay, no item moves
//! more than `max_displacement` places, and the page's rank-biased overlap with the server's
//! order stays at least `min_overlap` ([`arrange`]).

use std::cmp::Ordering;

use crate::api::{Budget, Candidate, Ranked, TermBlend};
use crate::rank::overlap::{RBO_PERSISTENCE, rbo_with_identity};
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

/// A candidate's score under the personalization blend `p` with each personal term's share
/// `shares`: the server's term plus `p` times the personal terms, each times its share. With
/// every share 1, `p = 1` is [`Terms::total`] exactly. (Shares of 1 keep the uniform blend's
/// own float expression, so its scores, and the golden corpus, do not move by a rounding.)
pub fn blended(terms: &Terms, p: f32, shares: &TermBlend) -> f32 {
    if !shares.is_all() {
        terms.server + p * (shares.fit * terms.fit + shares.transition * terms.transition + shares.repeat * terms.repeat + shares.rule * terms.rule)
    } else if p == 1.0 {
        terms.total()
    } else {
        terms.server + p * (terms.fit + terms.fixed())
    }
}

/// Server positions in their new order under `budget` (without diversity): the first
/// `pinned` stay; after them, position by position, the best remaining item whose server
/// position is at most `max_displacement` below, unless the item whose last allowed position
/// this is must go here. Without a displacement bound it is [`order`] on the unpinned items.
pub fn budgeted_order<S: Score>(scores: &[S], budget: &Budget) -> Vec<usize> {
    let n = scores.len();
    let pinned = budget.pinned.min(n);
    if budget.max_displacement.is_none() {
        let rest = order(scores.get(pinned..).unwrap_or(&[]));
        return (0..pinned).chain(rest.into_iter().map(|i| i.saturating_add(pinned))).collect();
    }
    let best = |eligible: &[usize], _: &[usize]| {
        eligible.iter().copied().reduce(|best, s| match (scores.get(s), scores.get(best)) {
            (Some(&x), Some(&y)) if compare(x, s, y, best) == Ordering::Less => s,
            _ => best,
        })
    };
    place(n, budget, best)
}

/// The placement loop under `budget`'s pins and displacement bound: position by position,
/// the item `choose(eligible, placed)` prefers among the eligible ones (unplaced, server
/// position at most `max_displacement` below; in server order), given those placed so far,
/// except that an item at its last allowed position goes there without asking.
fn place(n: usize, budget: &Budget, mut choose: impl FnMut(&[usize], &[usize]) -> Option<usize>) -> Vec<usize> {
    let pinned = budget.pinned.min(n);
    let d = budget.max_displacement.unwrap_or(n);
    let mut done = vec![false; n];
    let mut out: Vec<usize> = Vec::with_capacity(n);
    let mut eligible = Vec::with_capacity(n);
    for i in 0..n {
        let pick = if i < pinned {
            Some(i)
        } else {
            // The item at server position i − d may move no further down.
            let due = i.checked_sub(d).filter(|&s| s >= pinned && !done.get(s).copied().unwrap_or(true));
            due.or_else(|| {
                let last = i.saturating_add(d).min(n.saturating_sub(1));
                eligible.clear();
                eligible.extend((pinned..=last).filter(|&s| !done.get(s).copied().unwrap_or(true)));
                choose(&eligible, &out)
            })
        };
        // Some item is always eligible: positions up to i + d hold i + d + 1 items, i are placed.
        if let Some(s) = pick {
            if let Some(slot) = done.get_mut(s) {
                *slot = true;
            }
            out.push(s);
        }
    }
    out
}

/// Server positions in their new order under `budget` with diversity `λ = budget.diversity`:
/// maximal marginal relevance (Carbonell & Goldstein 1998), position by position the eligible
/// item with the highest `(1 − λ)·relevance − λ·(largest cosine similarity to an item already
/// on the page)`, relevance being the score min-max scaled over the list. `vectors` are the
/// items' `[n, d]` vectors; equal values keep the server's order. Pins and the displacement
/// bound hold as in [`budgeted_order`].
pub fn diverse_order(scores: &[f32], vectors: &[f32], budget: &Budget) -> Vec<usize> {
    let n = scores.len();
    let d = vectors.len().checked_div(n).unwrap_or(0).max(1);
    let (low, high) = scores.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
    let span = high - low;
    let relevance: Vec<f32> = scores.iter().map(|&x| if span > 0.0 && span.is_finite() { (x - low) / span } else { 0.0 }).collect();
    let unit: Vec<Vec<f32>> = vectors
        .chunks_exact(d)
        .map(|v| {
            let norm = crate::learn::l2_norm(v);
            v.iter().map(|x| if norm > 0.0 { x / norm } else { 0.0 }).collect()
        })
        .collect();
    let lambda = budget.diversity;
    // Largest similarity to the page so far (None while the page is empty), brought up to date
    // with the items placed since the last choice (pins and due items too).
    let mut nearest = vec![None::<f32>; n];
    let mut seen = 0;
    let choose = |eligible: &[usize], placed: &[usize]| {
        for v in placed.get(seen..).unwrap_or(&[]).iter().filter_map(|&s| unit.get(s)) {
            for (other, near) in unit.iter().zip(nearest.iter_mut()) {
                let sim: f32 = v.iter().zip(other).map(|(a, b)| a * b).sum();
                *near = Some(near.map_or(sim, |x| x.max(sim)));
            }
        }
        seen = placed.len();
        let value = |s: usize| (1.0 - lambda) * relevance.get(s).copied().unwrap_or(0.0) - lambda * nearest.get(s).copied().flatten().unwrap_or(0.0);
        eligible.iter().copied().map(|s| (s, value(s))).reduce(|best, next| if compare(next.1, next.0, best.1, best.0) == Ordering::Less { next } else { best }).map(|(s, _)| s)
    };
    place(n, budget, choose)
}

/// Halvings of the blend [`arrange`] tries when the overlap floor binds: the blend it finds is
/// within `personalization / 2^12` of the largest that keeps the floor.
const FLOOR_STEPS: usize = 12;

/// An ordered page: server positions in their new order, and the personalization blend they
/// were ordered under (the budget's, or lower where `min_overlap` required it).
#[derive(Debug, Clone, PartialEq)]
pub struct Arranged {
    /// Server positions (0-based) in their new order, best first.
    pub positions: Vec<usize>,
    /// The blend applied.
    pub personalization: f32,
}

/// The ordering stage: `terms` (server order) under `budget`. Pins, the displacement bound and
/// diversity act as in [`budgeted_order`] and [`diverse_order`] (diversity only with `vectors`,
/// `[n, d]`). When the budget's blend would leave the page's rank-biased overlap (p = 0.9) with
/// the server's order below `budget.min_overlap`, the blend is lowered, by bisection between 0
/// and the budget's, to the largest found that keeps it: a per-page guarantee of consistency
/// that spends personalization where it moves the page least. (At blend 0 only the server's
/// term counts; that page is kept even if server scores order it otherwise.)
pub fn arrange(terms: &[Terms], vectors: Option<&[f32]>, budget: &Budget) -> Arranged {
    let vectors = vectors.filter(|v| budget.diversity > 0.0 && !v.is_empty());
    let at = |personalization: f32| {
        let scores: Vec<f32> = terms.iter().map(|t| blended(t, personalization, &budget.terms)).collect();
        let positions = match vectors {
            Some(vectors) => diverse_order(&scores, vectors, budget),
            None => budgeted_order(&scores, budget),
        };
        Arranged { positions, personalization }
    };
    let keeps = |page: &Arranged| rbo_with_identity(&page.positions, RBO_PERSISTENCE) >= f64::from(budget.min_overlap);
    let full = at(budget.personalization);
    if budget.min_overlap <= 0.0 || keeps(&full) {
        return full;
    }
    let (mut low, mut high) = (0.0f32, budget.personalization);
    let mut best = at(0.0);
    for _ in 0..FLOOR_STEPS {
        let page = at(0.5 * (low + high));
        if keeps(&page) {
            low = page.personalization;
            best = page;
        } else {
            high = page.personalization;
        }
    }
    best
}

/// `candidates` (server order) with their scores' terms, ordered under `budget`
/// ([`arrange`]), as re-ranked items (each with the score it was ordered by), and the blend
/// applied. `vectors` (`[n, d]`, the candidates' item vectors) are read when
/// `budget.diversity` is above 0.
pub fn ranked(candidates: &[Candidate], terms: Vec<Terms>, vectors: Option<&[f32]>, budget: &Budget) -> (Vec<Ranked>, f32) {
    let Arranged { positions, personalization } = arrange(&terms, vectors, budget);
    let scores: Vec<f32> = terms.iter().map(|t| blended(t, personalization, &budget.terms)).collect();
    let mut terms: Vec<Option<Terms>> = terms.into_iter().map(Some).collect();
    let ranked = positions
        .into_iter()
        .enumerate()
        .filter_map(|(position, index)| {
            Some(Ranked { id: candidates.get(index)?.id.clone(), score: *scores.get(index)?, rank: position.saturating_add(1), server_rank: index.saturating_add(1), terms: terms.get_mut(index)?.take()?, why: None })
        })
        .collect();
    (ranked, personalization)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_budget_keeps_pins_and_bounds_every_move() {
        // Scores reversed: unconstrained, the list turns upside down.
        let scores: Vec<f32> = (0..8).map(|i| i as f32).collect();
        let b = |max_displacement, pinned| Budget { max_displacement, pinned, ..Budget::default() };
        assert_eq!(budgeted_order(&scores, &b(None, 0)), vec![7, 6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(budgeted_order(&scores, &b(None, 2)), vec![0, 1, 7, 6, 5, 4, 3, 2]);
        assert_eq!(budgeted_order(&scores, &b(Some(0), 0)), (0..8).collect::<Vec<_>>());
        // At most 1 place: pairs swap.
        assert_eq!(budgeted_order(&scores, &b(Some(1), 0)), vec![1, 0, 3, 2, 5, 4, 7, 6]);
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..300 {
            let n = rng.random_range(0..40usize);
            let scores: Vec<f32> = (0..n).map(|_| rng.random_range(0..5) as f32).collect();
            let (d, pinned) = (rng.random_range(0..6usize), rng.random_range(0..5usize));
            let order = budgeted_order(&scores, &b(Some(d), pinned));
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
            for (position, &s) in order.iter().enumerate() {
                assert!(position.abs_diff(s) <= d, "{s} moved to {position} (d = {d})");
                if s < pinned {
                    assert_eq!(position, s, "pinned");
                }
            }
        }
    }

    #[test]
    fn diversity_trades_score_for_unlike_items() {
        // Items 0 and 1 are the same direction, 2 another; scores 3 > 2.9 > 1.
        let scores = [3.0f32, 2.9, 1.0];
        let vectors = [1.0, 0.0, 1.0, 0.01, 0.0, 1.0];
        let b = |diversity| Budget { diversity, ..Budget::default() };
        // λ = 0 is the score order; λ = 0.5 puts the unlike item second (0.5·0 − 0.5·0 beats 0.5·0.95 − 0.5·1).
        assert_eq!(diverse_order(&scores, &vectors, &b(0.0)), vec![0, 1, 2]);
        assert_eq!(diverse_order(&scores, &vectors, &b(0.5)), vec![0, 2, 1]);
        // Pins and the displacement bound still hold.
        assert_eq!(diverse_order(&scores, &vectors, &Budget { pinned: 1, ..b(1.0) }), vec![0, 2, 1]);
        assert_eq!(diverse_order(&scores, &vectors, &Budget { max_displacement: Some(0), ..b(1.0) }), vec![0, 1, 2]);
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..200 {
            let n = rng.random_range(0..30usize);
            let scores: Vec<f32> = (0..n).map(|_| rng.random_range(0..4) as f32).collect();
            let vectors: Vec<f32> = (0..n * 4).map(|_| rng.random_range(-1.0..1.0)).collect();
            let budget = Budget { diversity: rng.random_range(0.0..1.0), max_displacement: Some(rng.random_range(0..6usize)), pinned: rng.random_range(0..4usize), ..Budget::default() };
            let order = diverse_order(&scores, &vectors, &budget);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
            for (position, &s) in order.iter().enumerate() {
                assert!(position.abs_diff(s) <= budget.max_displacement.unwrap_or(n));
            }
            // λ = 0 with the same bound is exactly the score order under that bound.
            let plain = Budget { diversity: 0.0, ..budget };
            // (Relevance is the score min-max scaled: a monotone map, so the same order.)
            assert_eq!(diverse_order(&scores, &vectors, &plain), budgeted_order(&scores, &plain));
        }
    }

    #[test]
    fn the_overlap_floor_holds_on_every_page_and_lowers_the_blend_no_more_than_needed() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..200 {
            let n = rng.random_range(1..60usize);
            // The server's term falls with the server position; personal terms are noise.
            let terms: Vec<Terms> = (0..n).map(|i| Terms { server: -(1.0 + i as f32).ln(), fit: rng.random_range(-3.0..3.0), ..Terms::default() }).collect();
            let floor = rng.random_range(0.0..1.0f32);
            let budget = Budget { min_overlap: floor, pinned: rng.random_range(0..3usize), ..Budget::default() };
            let page = arrange(&terms, None, &budget);
            let overlap = rbo_with_identity(&page.positions, RBO_PERSISTENCE);
            assert!(overlap >= f64::from(floor), "overlap {overlap} under the floor {floor}");
            assert!((0.0..=1.0).contains(&page.personalization));
            let unbounded = arrange(&terms, None, &Budget { min_overlap: 0.0, ..budget });
            if rbo_with_identity(&unbounded.positions, RBO_PERSISTENCE) >= f64::from(floor) {
                assert_eq!(page, unbounded, "a floor that holds anyway changes nothing");
            } else {
                // The bisection's last step above the blend found breaks the floor.
                let more = arrange(&terms, None, &Budget { personalization: page.personalization + 1.0 / 4096.0, min_overlap: 0.0, ..budget });
                assert!(rbo_with_identity(&more.positions, RBO_PERSISTENCE) < f64::from(floor), "blend {} could go higher", page.personalization);
            }
        }
        // A floor of 1 keeps the server's order.
        let terms: Vec<Terms> = (0..5).map(|i| Terms { server: -(i as f32), fit: 2.0 * i as f32, ..Terms::default() }).collect();
        assert_eq!(arrange(&terms, None, &Budget { min_overlap: 1.0, ..Budget::default() }).positions, vec![0, 1, 2, 3, 4]);
        assert_eq!(arrange(&terms, None, &Budget::default()).positions, vec![4, 3, 2, 1, 0]);
    }

    #[test]
    fn personalization_zero_is_the_server_term_alone() {
        let t = |fit: f32, server: f32| Terms { fit, server, ..Terms::default() };
        let terms = [t(5.0, -1.0), t(0.0, 0.0)];
        assert_eq!(blended(&terms[0], 1.0, &TermBlend::ALL), terms[0].total());
        assert_eq!(blended(&terms[0], 0.0, &TermBlend::ALL), -1.0);
        assert_eq!(blended(&terms[0], 0.5, &TermBlend::ALL), 1.5);
    }

    #[test]
    fn each_term_keeps_its_own_share() {
        let terms = Terms { server: -1.0, fit: 8.0, transition: 4.0, repeat: 2.0, rule: 1.0, ..Terms::default() };
        let shares = TermBlend { fit: 0.0, transition: 0.5, repeat: 1.0, rule: 0.25 };
        assert_eq!(blended(&terms, 1.0, &shares), -1.0 + 2.0 + 2.0 + 0.25);
        assert_eq!(blended(&terms, 0.5, &shares), -1.0 + 0.5 * 4.25);
        assert_eq!(blended(&terms, 0.0, &shares), -1.0);
        // Shares of 1 are the uniform blend.
        let all = TermBlend { fit: 1.0, transition: 1.0, repeat: 1.0, rule: 1.0 };
        assert_eq!(blended(&terms, 0.5, &all), blended(&terms, 0.5, &TermBlend::ALL));
        // The fit's share 0 leaves its order to the other terms: a fit that would lift item 1
        // above item 0 no longer does; the floor's bisection scales the shares together.
        let page = [Terms { server: 0.0, transition: 1.0, ..Terms::default() }, Terms { server: -0.5, fit: 3.0, ..Terms::default() }];
        let budget = |terms| Budget { terms, ..Budget::default() };
        assert_eq!(arrange(&page, None, &budget(TermBlend::ALL)).positions, vec![1, 0]);
        assert_eq!(arrange(&page, None, &budget(TermBlend { fit: 0.0, ..TermBlend::ALL })).positions, vec![0, 1]);
        // Fit share 0.6: item 1 (−0.5 + 1.8 p) passes item 0 (p) above p = 0.625, so a floor
        // of 1 lowers the blend to just below that, the shares kept.
        let shared = budget(TermBlend { fit: 0.6, ..TermBlend::ALL });
        assert_eq!(arrange(&page, None, &shared).positions, vec![1, 0]);
        let floored = arrange(&page, None, &Budget { min_overlap: 1.0, ..shared });
        assert_eq!(floored.positions, vec![0, 1]);
        assert!((0.6..=0.625).contains(&floored.personalization), "{}", floored.personalization);
    }

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

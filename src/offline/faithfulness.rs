//! Are the explanations faithful to the model? For each explained item of a re-ranked session:
//!
//! - each window event is left out and the whole list re-ranked independently (not through
//!   the explanation's batch): the event the explanation names first must take more from the
//!   item's score than any event it does not name, and each named part must match that
//!   independent drop;
//! - deletion curves (Petsiuk, Das, Saenko 2018, RISE): events removed one by one in the
//!   explanation's order, in the order of the last block's attention, and in random orders,
//!   the item re-scored after each removal; the area under the curve of score change is lower
//!   when the order finds what matters sooner;
//! - validity: how often leaving out the first-named event takes the item out of the top 10.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::api::{Candidate, Event, RerankOptions};
use crate::catalog::window;
use crate::error::Result;
use crate::rank::explain::{by_drop, without};
use crate::rank::{Candidates, Memo, Ranker, order, ready};

/// Named parts must match the independent drop within this.
pub const PART_TOLERANCE: f32 = 1e-4;

/// The figures over all explained items.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Sessions re-ranked.
    pub sessions: usize,
    /// Items explained.
    pub items: usize,
    /// Items whose explanation names at least one event.
    pub named: usize,
    /// Of those, items whose first-named event takes more (within [`PART_TOLERANCE`]) from the
    /// score, left out alone, than every unnamed event.
    pub first_beats_unnamed: usize,
    /// Of those, items whose named events (all of them) each take at least as much as every
    /// unnamed one.
    pub named_beat_unnamed: usize,
    /// Largest difference between a named event's parts and its independent drop.
    pub worst_part_gap: f32,
    /// Items that leaving out the first-named event takes out of the top 10.
    pub valid: usize,
    /// Mean area under the deletion curve (mean score change over 0..=e removals), in the
    /// explanation's order.
    pub area_explained: f64,
    /// The same in the last block's attention order.
    pub area_attention: f64,
    /// The same in random orders (mean over the orders).
    pub area_random: f64,
}

/// One session to explain: its window, the server list and the options.
pub struct Session {
    /// Events, oldest first.
    pub events: Vec<Event>,
    /// Candidates in server order.
    pub candidates: Vec<Candidate>,
    /// Re-rank options (with `explain` set: the items explained).
    pub options: RerankOptions,
}

/// Every candidate's score (under the options' blend) for `events`.
fn scores(ranker: &Ranker, events: &[Event], session: &Session, memo: &mut Memo) -> Result<Vec<f32>> {
    let scored = ready(ranker.score(events, Candidates::Listed(&session.candidates), &session.options, memo))?.scored;
    Ok(scored.terms(&ranker.weights()).iter().map(|t| order::blended(t, session.options.budget.personalization, &session.options.budget.terms)).collect())
}

/// Area of a deletion curve: scores after removing 0, 1, …, e events of `order`, as change from
/// the first, averaged. `at` is the item's server position.
fn area(ranker: &Ranker, session: &Session, events: &[Event], order: &[usize], items: &[usize], memo: &mut Memo) -> Result<Vec<f64>> {
    let mut sums = vec![0.0; items.len()];
    let full = scores(ranker, events, session, memo)?;
    for k in 1..=order.len() {
        let now = scores(ranker, &without(events, &order[..k]), session, memo)?;
        for (sum, &at) in sums.iter_mut().zip(items) {
            *sum += f64::from(now[at] - full[at]);
        }
    }
    Ok(sums.into_iter().map(|s| s / (order.len() + 1) as f64).collect())
}

/// Measure `sessions` (each cut to the model's window) with `random_orders` random deletion
/// orders per session.
pub fn measure(ranker: &Ranker, sessions: &[Session], random_orders: usize, seed: u64) -> Result<Report> {
    let mut report = Report::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut memo = Memo::new(100_000);
    let (mut explained_sum, mut attention_sum, mut random_sum) = (0.0, 0.0, 0.0);
    for session in sessions {
        let events = window(&session.events, ranker.max_events()).to_vec();
        let e = events.len();
        let scored = ready(ranker.score(&events, Candidates::Listed(&session.candidates), &session.options, &mut memo))?;
        let (mut ranked, _) = order::ranked(&session.candidates, scored.scored.terms(&ranker.weights()), scored.vectors.as_deref(), &session.options.budget);
        ready(ranker.explain(&events, None, &session.candidates, &mut ranked, &session.options, &mut memo))?;
        let explained: Vec<&crate::api::Ranked> = ranked.iter().filter(|r| r.why.is_some()).collect();
        if e == 0 || explained.is_empty() {
            continue;
        }
        report.sessions += 1;
        let items: Vec<usize> = explained.iter().map(|r| r.server_rank - 1).collect();
        // Each event left out alone, the whole list re-ranked: (scores, new positions).
        let mut full = vec![0.0; session.candidates.len()];
        for r in &ranked {
            full[r.server_rank - 1] = r.score;
        }
        let mut alone = Vec::with_capacity(e);
        for i in 0..e {
            let left = without(&events, &[i]);
            let s = scores(ranker, &left, session, &mut memo)?;
            let positions = order::budgeted_order(&s, &session.options.budget);
            let mut new_position = vec![0; positions.len()];
            for (position, &at) in positions.iter().enumerate() {
                new_position[at] = position;
            }
            alone.push((s, new_position));
        }
        let chosen: Vec<Candidate> = items.iter().map(|&at| session.candidates[at].clone()).collect();
        let occlusion = ready(ranker.occlusion(&events, None, &chosen, items.iter().copied(), &session.options, &mut memo))?;
        let attention = ranker.last_attention(&events, &mut memo)?;
        let attention_order = by_drop(&attention);
        let attention_areas = area(ranker, session, &events, &attention_order, &items, &mut memo)?;
        let mut random_areas = vec![0.0; items.len()];
        for _ in 0..random_orders {
            let mut shuffled: Vec<usize> = (0..e).collect();
            shuffled.shuffle(&mut rng);
            for (sum, a) in random_areas.iter_mut().zip(area(ranker, session, &events, &shuffled, &items, &mut memo)?) {
                *sum += a / random_orders.max(1) as f64;
            }
        }
        for (j, (item, &at)) in explained.iter().zip(&items).enumerate() {
            report.items += 1;
            let drops: Vec<f32> = alone.iter().map(|(s, _)| full[at] - s[at]).collect();
            let named: Vec<usize> = item.why.iter().flatten().filter_map(|w| w.event_index).fold(Vec::new(), |mut v, i| {
                if !v.contains(&i) {
                    v.push(i);
                }
                v
            });
            let explained_order = by_drop(&occlusion.drops(j, session.options.budget.personalization, &session.options.budget.terms));
            explained_sum += area(ranker, session, &events, &explained_order, &[at], &mut memo)?[0];
            attention_sum += attention_areas[j];
            random_sum += random_areas[j];
            let Some(&first) = named.first() else { continue };
            report.named += 1;
            let unnamed_max = (0..e).filter(|i| !named.contains(i)).map(|i| drops[i]).fold(f32::NEG_INFINITY, f32::max);
            report.first_beats_unnamed += usize::from(drops[first] >= unnamed_max - PART_TOLERANCE);
            report.named_beat_unnamed += usize::from(named.iter().all(|&i| drops[i] >= unnamed_max - PART_TOLERANCE));
            for &i in &named {
                let parts: f32 = item.why.iter().flatten().filter(|w| w.event_index == Some(i)).map(|w| w.weight).sum();
                report.worst_part_gap = report.worst_part_gap.max((parts - drops[i]).abs());
            }
            report.valid += usize::from(alone[first].1[at] >= 10);
        }
    }
    let n = report.items.max(1) as f64;
    report.area_explained = explained_sum / n;
    report.area_attention = attention_sum / n;
    report.area_random = random_sum / n;
    Ok(report)
}

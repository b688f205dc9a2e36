//! Learning beyond the window (`pocketrank eval --learn-beyond-window`): what the device can
//! know that the session transformer cannot read. For each user the frozen model ranks the
//! target with the last `window` events before it (all it reads); the device has also lived
//! through every older event, replayed visit by visit ([`play_visit`]: slates a server could
//! have shown, never holding the user's test or validation target unless it is the item
//! taken), learning its head and keeping its long-term profile as a shopper's browser would.
//! Four systems rank the same target with the same last `window` events:
//!
//! - frozen: the shipped head, no profile;
//! - head: the head learned on the older events, no profile;
//! - profile: the shipped head, the profile of the older events' purchases;
//! - both: the head and the profile of one replay with both on (the default settings).
//!
//! Figures are reported by history length (events before the target).

use rand::SeedableRng;
use serde::Serialize;

use crate::api::{EventKind, RerankOptions};
use crate::error::Result;
use crate::learn::LearnConfig;
use crate::offline::data::Dataset;
use crate::offline::eval::{Case, Metrics, mean_se, ndcg10, play_visit};
use crate::offline::servers::TransitionServer;
use crate::profile::Profile;
use crate::rank::score::Terms;
use crate::rank::{Candidates, Memo, order, ready};
use crate::Personalizer;

/// History-length groups a report splits users into: (label, shortest, longest).
pub const GROUPS: [(&str, usize, usize); 5] = [("≤ 50", 0, 50), ("51–100", 51, 100), ("101–200", 101, 200), ("> 200", 201, usize::MAX), ("> 50", 51, usize::MAX)];

/// The systems compared, in report order.
pub const SYSTEMS: [&str; 4] = ["frozen", "head", "profile", "both"];

/// One user's outcome: history length and the target's position under each of [`SYSTEMS`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Events before the target.
    pub history: usize,
    /// 0-based position of the target per system (None: not in the list).
    pub positions: [Option<usize>; 4],
}

/// One group's figures for one system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFigures {
    /// HR and NDCG over the group's users.
    pub metrics: Metrics,
    /// Standard error of HR@10 over users.
    pub hr10_se: f64,
    /// NDCG@10 over frozen's, minus 1.
    pub relative: f64,
    /// Mean per-user NDCG@10 difference against frozen, and its standard error.
    pub paired: (f64, f64),
    /// Users better and worse than frozen (NDCG@10).
    pub better: usize,
    /// See `better`.
    pub worse: usize,
}



/// The figures of `system` (an index into [`SYSTEMS`]) over the outcomes with a history in
/// `shortest..=longest`.
pub fn figures(outcomes: &[Outcome], system: usize, shortest: usize, longest: usize) -> GroupFigures {
    let group: Vec<&Outcome> = outcomes.iter().filter(|o| (shortest..=longest).contains(&o.history)).collect();
    let positions: Vec<Option<usize>> = group.iter().map(|o| o.positions[system]).collect();
    let hits: Vec<f64> = positions.iter().map(|p| f64::from(u8::from(p.is_some_and(|p| p < 10)))).collect();
    let differences: Vec<f64> = group.iter().map(|o| ndcg10(o.positions[system]) - ndcg10(o.positions[0])).collect();
    let metrics = Metrics::from_positions(&positions);
    let frozen = Metrics::from_positions(&group.iter().map(|o| o.positions[0]).collect::<Vec<_>>());
    GroupFigures {
        relative: metrics.ndcg10() / frozen.ndcg10().max(1e-12) - 1.0,
        metrics,
        hr10_se: mean_se(&hits).1,
        paired: mean_se(&differences),
        better: differences.iter().filter(|&&d| d > 0.0).count(),
        worse: differences.iter().filter(|&&d| d < 0.0).count(),
    }
}

/// One row of the report: a history group, a system, its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The history group's label ([`GROUPS`]).
    pub history: &'static str,
    /// The system ([`SYSTEMS`]).
    pub system: &'static str,
    /// Its figures over the group.
    pub figures: GroupFigures,
}

/// Every group × system's figures, in [`GROUPS`] then [`SYSTEMS`] order.
pub fn table(outcomes: &[Outcome]) -> Vec<Row> {
    GROUPS
        .iter()
        .flat_map(|&(history, shortest, longest)| SYSTEMS.iter().enumerate().map(move |(system, &name)| Row { history, system: name, figures: figures(outcomes, system, shortest, longest) }))
        .collect()
}

/// The target's position for a session of `recent` with the ranker's current head and `profile`.
fn position(personalizer: &Personalizer, data: &Dataset, case: &Case, recent: &[usize], profile: Option<&Profile>) -> Result<Option<usize>> {
    let ranker = personalizer.ranker();
    let candidates = data.candidate_list(&case.candidates);
    let options = RerankOptions::server_order(case.server_order);
    let scored = ready(ranker.score_for(&data.events(recent), profile, Candidates::Listed(&candidates), &options, &mut Memo::none()))?;
    let (ranked, _) = order::ranked(&candidates, scored.scored.terms(&ranker.weights()), None, &options.budget);
    Ok(ranked.iter().position(|r| r.id == data.ids[case.target]))
}

/// Replay `older` (visits of `visit` events) on a personalizer that starts afresh with
/// `learning`: its head and profile afterwards, as a device would hold them. With learning on,
/// each event is a lesson on a slate from `server`; without it (or without a server) the
/// events are only observed.
fn replay(personalizer: &mut Personalizer, data: &Dataset, server: Option<&TransitionServer>, case: &Case, older: &[usize], visit: usize, learning: &LearnConfig) -> Result<Profile> {
    personalizer.forget()?;
    personalizer.set_learning(learning.clone())?;
    let sequence = &data.users[case.user].1;
    // The user's held-out items: the validation and the test target.
    let keep_off: Vec<usize> = sequence.iter().rev().take(2).copied().collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(case.user as u64);
    for events in older.chunks(visit.max(1)) {
        personalizer.clear_session();
        if let (true, Some(server)) = (learning.enabled, server) {
            play_visit(personalizer, data, server, events, EventKind::Purchase, &keep_off, &mut rng)?;
        } else {
            // Nothing learns from slates: the events alone are what the device keeps.
            for event in data.events(events) {
                personalizer.observe(event)?;
            }
        }
    }
    personalizer.clear_session();
    Ok(personalizer.profile().clone())
}

/// Every case's outcome under the four systems. `learning` is the device's setting for the
/// head and the profile (the default, or `--learning`); the head-alone and profile-alone
/// systems switch the other part off.
pub fn evaluate_beyond_window(personalizer: &mut Personalizer, data: &Dataset, cases: &[Case], window: usize, visit: usize, learning: &LearnConfig, mut tick: impl FnMut()) -> Result<Vec<Outcome>> {
    let server = TransitionServer::fit(data);
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in cases {
        let history = &data.users[case.user].1[..case.history_len];
        let (older, recent) = history.split_at(history.len().saturating_sub(window));
        personalizer.forget()?;
        let frozen = position(personalizer, data, case, recent, None)?;
        let (head, profile, both) = if older.is_empty() {
            (frozen, frozen, frozen)
        } else {
            let profile_alone = replay(personalizer, data, Some(&server), case, older, visit, &LearnConfig { enabled: false, ..learning.clone() })?;
            personalizer.forget()?;
            let profile = position(personalizer, data, case, recent, Some(&profile_alone))?;
            replay(personalizer, data, Some(&server), case, older, visit, &LearnConfig { profile: false, ..learning.clone() })?;
            let head = position(personalizer, data, case, recent, None)?;
            let kept = replay(personalizer, data, Some(&server), case, older, visit, learning)?;
            let both = position(personalizer, data, case, recent, Some(&kept))?;
            (head, profile, both)
        };
        outcomes.push(Outcome { history: history.len(), positions: [frozen, head, profile, both] });
        tick();
    }
    personalizer.forget()?;
    personalizer.set_learning(learning.clone())?;
    Ok(outcomes)
}

/// The columns of [`repeat_features`]' rows.
pub const FEATURE_COLUMNS: [&str; 12] = ["user", "history", "item", "target", "fit", "rule", "window_times", "window_age", "profile_times", "profile_place", "older_fit", "repeat_rate"];

/// What the repeat prior could read, candidate by candidate, for an offline look at its
/// ceiling (`scripts/beyond_window_ceiling.py`): for each case with events beyond the window,
/// one row a candidate ([`FEATURE_COLUMNS`]): the shipped model's fit and rule term for the
/// last `window` events; how often the window bought the item and how many events ago it last
/// did (−1: never); how often the long-term profile of the older events (replayed visit by
/// visit, learning off) holds it and its place there (0: the most recently bought; −1: not
/// held); the fit for the `window` events before the window; and the user's repeat rate (the
/// share of the history's events that buy an item bought before).
pub fn repeat_features(personalizer: &mut Personalizer, data: &Dataset, cases: &[Case], window: usize, visit: usize, mut tick: impl FnMut()) -> Result<Vec<Vec<String>>> {
    let off = LearnConfig { enabled: false, ..personalizer.learning().clone() };
    let mut rows = Vec::new();
    for case in cases {
        let history = &data.users[case.user].1[..case.history_len];
        let (older, recent) = history.split_at(history.len().saturating_sub(window));
        if older.is_empty() {
            tick();
            continue;
        }
        let profile = replay(personalizer, data, None, case, older, visit, &off)?;
        let places: std::collections::HashMap<String, usize> = profile.entries().into_iter().rev().enumerate().map(|(place, (id, _))| (id, place)).collect();
        let ranker = personalizer.ranker();
        let candidates = data.candidate_list(&case.candidates);
        let options = RerankOptions::server_order(case.server_order);
        let fits = |events: &[usize]| -> Result<Vec<Terms>> { Ok(ready(ranker.score_for(&data.events(events), None, Candidates::Listed(&candidates), &options, &mut Memo::none()))?.scored.terms(&ranker.weights())) };
        let now = fits(recent)?;
        let before = fits(&older[older.len().saturating_sub(window)..])?;
        let mut seen = std::collections::HashSet::new();
        let repeats = history.iter().filter(|&&i| !seen.insert(i)).count();
        let repeat_rate = repeats as f64 / history.len().max(1) as f64;
        for ((&item, t), b) in case.candidates.iter().zip(&now).zip(&before) {
            let id = &data.ids[item];
            let window_times = recent.iter().filter(|&&i| i == item).count();
            let window_age = recent.iter().rev().position(|&i| i == item).map_or(-1, |age| age as i64);
            let place = places.get(id).map_or(-1, |&p| p as i64);
            rows.push(vec![
                data.users[case.user].0.clone(),
                history.len().to_string(),
                id.clone(),
                u8::from(item == case.target).to_string(),
                t.fit.to_string(),
                t.rule.to_string(),
                window_times.to_string(),
                window_age.to_string(),
                profile.times(id).to_string(),
                place.to_string(),
                b.fit.to_string(),
                format!("{repeat_rate:.6}"),
            ]);
        }
        tick();
    }
    personalizer.forget()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_by_group_with_paired_differences() {
        let outcomes = vec![
            Outcome { history: 30, positions: [Some(0), Some(0), Some(0), Some(0)] },
            Outcome { history: 80, positions: [Some(1), Some(1), Some(0), Some(0)] },
            Outcome { history: 300, positions: [None, Some(3), Some(0), Some(20)] },
        ];
        let long = figures(&outcomes, 2, 51, usize::MAX);
        assert_eq!(long.metrics.users, 2);
        let expected = (1.0 - 1.0 / 3f64.log2() + 1.0) / 2.0;
        assert!((long.paired.0 - expected).abs() < 1e-12);
        assert_eq!((long.better, long.worse), (2, 0));
        let both = figures(&outcomes, 3, 201, usize::MAX);
        assert_eq!((both.metrics.users, both.better, both.worse, both.paired.0), (1, 0, 0, 0.0), "position 20 is outside the top 10 as None is");
        assert_eq!(figures(&outcomes, 1, 0, 50).relative, 0.0);
    }
}

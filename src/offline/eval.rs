//! Offline evaluation protocols of `../shared/data/README.md` (native tools only).
//!
//! Every figure is read off the order [`Ranker::rerank`] returns, the same function the
//! browser calls; a target missing from the candidates counts 0.

use std::path::Path;

use serde::Serialize;

use crate::offline::data::{Dataset, Split};
use crate::error::{Error, Result};
use crate::api::RerankOptions;
use crate::catalog::window;
use crate::rank::Ranker;

/// Cut-offs reported for HR and NDCG.
pub const CUTOFFS: [usize; 3] = [5, 10, 20];

/// How candidates are built for each user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Target + the first 99 non-target items of `random.tsv`, sorted by item id, no server order.
    Sampled100,
    /// `sasrec.tsv` exactly as listed, in server order.
    ServerRerank,
    /// `mix21.tsv` exactly as listed, in server order.
    Mix21,
}

impl Protocol {
    /// All protocols.
    pub const ALL: [Protocol; 3] = [Protocol::Sampled100, Protocol::ServerRerank, Protocol::Mix21];

    /// The protocol's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Sampled100 => "sampled-100",
            Protocol::ServerRerank => "server-rerank",
            Protocol::Mix21 => "mix21",
        }
    }

    /// Parse a protocol name.
    pub fn parse(name: &str) -> Result<Protocol> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| Error::invalid("--protocol", format!("unknown protocol {name:?} (sampled-100, server-rerank or mix21)")))
    }

    /// The candidate file (`candidates/<name>.tsv`) the protocol reads by default.
    pub fn candidate_file(self) -> &'static str {
        match self {
            Protocol::Sampled100 => "random",
            Protocol::ServerRerank => "sasrec",
            Protocol::Mix21 => "mix21",
        }
    }
}

/// One user's ranking task.
#[derive(Debug, Clone)]
pub struct Case {
    /// Index into the data set's users.
    pub user: usize,
    /// History length (items before the target).
    pub history_len: usize,
    /// The held-out item.
    pub target: usize,
    /// Candidate item indices, in the order handed over.
    pub candidates: Vec<usize>,
    /// Whether that order is the server's ranking.
    pub server_order: bool,
}

/// Build the cases of `protocol` for the users of its candidate file, on `split`.
pub fn cases(data: &Dataset, dir: &Path, protocol: Protocol, split: Split) -> Result<Vec<Case>> {
    cases_from(data, dir, protocol, protocol.candidate_file(), split)
}

/// [`cases`] with another candidate file (`candidates/<file>.tsv`), e.g. a catalog whose
/// server lists come from another retriever.
pub fn cases_from(data: &Dataset, dir: &Path, protocol: Protocol, file: &str, split: Split) -> Result<Vec<Case>> {
    let lists = data.candidates(dir, file)?;
    let mut out = Vec::with_capacity(lists.len());
    for (user, list) in lists {
        let Some((history, target)) = data.history(user, split) else { continue };
        let (candidates, server_order) = match protocol {
            Protocol::Sampled100 => {
                let mut items: Vec<usize> = std::iter::once(target).chain(list.into_iter().filter(|&i| i != target).take(99)).collect();
                items.sort_by(|&a, &b| id_order(&data.ids[a], &data.ids[b]));
                (items, false)
            }
            Protocol::ServerRerank | Protocol::Mix21 => (list, true),
        };
        out.push(Case { user, history_len: history.len(), target, candidates, server_order });
    }
    Ok(out)
}

/// Numeric ids in numeric order, others after them in string order.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// NDCG@10 of one target position (None: not in the list).
pub fn ndcg10(position: Option<usize>) -> f64 {
    position.filter(|&p| p < 10).map_or(0.0, |p| 1.0 / ((p + 2) as f64).log2())
}

/// Mean of per-user values and its standard error (sample standard deviation / √n).
pub fn mean_se(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.len() < 2 {
        return (values.first().copied().unwrap_or(0.0), 0.0);
    }
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (variance / n).sqrt())
}

/// HR and NDCG at [`CUTOFFS`], averaged over users.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Metrics {
    /// Users averaged over.
    pub users: usize,
    /// HR@5, HR@10, HR@20.
    pub hr: [f64; 3],
    /// NDCG@5, NDCG@10, NDCG@20.
    pub ndcg: [f64; 3],
    /// Standard error of NDCG@10 over users (sample standard deviation / √users): how far a
    /// figure may move with another draw of users, so that two models' gap can be judged.
    pub ndcg10_se: f64,
}

impl Metrics {
    /// Metrics from the target's 0-based position in each returned list (`None`: absent).
    pub fn from_positions(positions: &[Option<usize>]) -> Metrics {
        let mut m = Metrics { users: positions.len(), ..Metrics::default() };
        let mut ndcg10_squares = 0.0;
        for &p in positions.iter().flatten() {
            for (k, &cut) in CUTOFFS.iter().enumerate() {
                if p < cut {
                    let gain = 1.0 / ((p + 2) as f64).log2();
                    m.hr[k] += 1.0;
                    m.ndcg[k] += gain;
                    if cut == 10 {
                        ndcg10_squares += gain * gain;
                    }
                }
            }
        }
        let n = positions.len().max(1) as f64;
        m.hr.iter_mut().chain(m.ndcg.iter_mut()).for_each(|x| *x /= n);
        if positions.len() > 1 {
            let variance = (ndcg10_squares - n * m.ndcg10() * m.ndcg10()) / (n - 1.0);
            m.ndcg10_se = (variance.max(0.0) / n).sqrt();
        }
        m
    }

    /// NDCG@10.
    pub fn ndcg10(&self) -> f64 {
        self.ndcg[1]
    }

    /// The JSON object the `eval` command prints.
    pub fn to_json(&self, protocol: Protocol, split: Split, seconds: f64) -> serde_json::Value {
        let mut obj = serde_json::json!({
            "protocol": protocol.name(),
            "split": split.name(),
            "users": self.users,
            "seconds": (seconds * 10.0).round() / 10.0,
        });
        for (k, cut) in CUTOFFS.iter().enumerate() {
            obj[format!("hr@{cut}")] = self.hr[k].into();
            obj[format!("ndcg@{cut}")] = self.ndcg[k].into();
        }
        obj["ndcg@10_se"] = self.ndcg10_se.into();
        obj
    }
}

/// The target's 0-based position in the list `ranker` returns for `case`.
pub fn target_position(ranker: &Ranker, data: &Dataset, case: &Case) -> Result<Option<usize>> {
    let history = &data.users[case.user].1[..case.history_len];
    position_with_history(ranker, data, case, window(history, ranker.max_events()))
}

/// Evaluate a ranker on the test split of every protocol whose candidate file exists in `dir`.
pub fn test_metrics(ranker: &Ranker, data: &Dataset, dir: &Path) -> Result<Vec<(Protocol, Metrics)>> {
    let mut out = Vec::new();
    for protocol in Protocol::ALL {
        if !dir.join("candidates").join(format!("{}.tsv", protocol.candidate_file())).exists() {
            continue;
        }
        let cases = cases(data, dir, protocol, Split::Test)?;
        out.push((protocol, evaluate(ranker, data, &cases, || {})?));
    }
    Ok(out)
}

/// Only the cases whose target is one of the item ids listed in `file` (one a line: e.g. a
/// cold-start model's withheld.txt).
pub fn only_targets(cases: Vec<Case>, data: &Dataset, file: &Path) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let ids: std::collections::HashSet<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    Ok(cases.into_iter().filter(|case| ids.contains(data.ids[case.target].as_str())).collect())
}

/// The cases `pocketrank eval` scores: `protocol`'s cases of `split` (with the candidate file
/// `candidates`, by default the protocol's own), only those whose target `only` lists when
/// given.
pub fn select_cases(data: &Dataset, dir: &Path, protocol: Protocol, candidates: Option<&str>, split: Split, only: Option<&Path>) -> Result<Vec<Case>> {
    let cases = cases_from(data, dir, protocol, candidates.unwrap_or(protocol.candidate_file()), split)?;
    match only {
        Some(path) => only_targets(cases, data, path),
        None => Ok(cases),
    }
}

/// Evaluate `cases`, calling `tick` after each.
pub fn evaluate(ranker: &Ranker, data: &Dataset, cases: &[Case], mut tick: impl FnMut()) -> Result<Metrics> {
    let positions = cases
        .iter()
        .map(|case| {
            let p = target_position(ranker, data, case);
            tick();
            p
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Metrics::from_positions(&positions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // positions 0 and 9 hit @10; 10 and absent miss.
        let m = Metrics::from_positions(&[Some(0), Some(9), Some(10), None]);
        assert_eq!(m.users, 4);
        assert!((m.hr[1] - 0.5).abs() < 1e-12);
        let expected = (1.0 + 1.0 / 11f64.log2()) / 4.0;
        assert!((m.ndcg10() - expected).abs() < 1e-12);
        assert!((m.hr[0] - 0.25).abs() < 1e-12);
        assert!((m.hr[2] - 0.75).abs() < 1e-12);
        // Per-user NDCG@10 values 1, 1/log2(11), 0, 0: sample standard deviation / √4.
        let values = [1.0, 1.0 / 11f64.log2(), 0.0, 0.0];
        let variance = values.iter().map(|v| (v - expected).powi(2)).sum::<f64>() / 3.0;
        assert!((m.ndcg10_se - (variance / 4.0).sqrt()).abs() < 1e-12);
        assert_eq!(Metrics::from_positions(&[Some(0)]).ndcg10_se, 0.0);
    }

    #[test]
    fn ids_sort_numerically() {
        let mut ids = vec!["10", "9", "b", "100", "a"];
        ids.sort_by(|a, b| id_order(a, b));
        assert_eq!(ids, vec!["9", "10", "100", "a", "b"]);
    }
}

/// Figures of the on-device learning protocol (see [`evaluate_learning`]).
#[derive(Debug, Clone, Serialize)]
pub struct LearningMetrics {
    /// Shipped head, only the last `k` events as session.
    pub frozen_k: Metrics,
    /// Personal head learned on the earlier visits, last `k` events as session.
    pub learned_k: Metrics,
    /// Shipped head with the whole history (what a design that keeps raw history would see).
    pub frozen_full: Metrics,
    /// Users whose NDCG@10 dropped with learning.
    pub worse: usize,
    /// Users whose NDCG@10 rose with learning.
    pub better: usize,
    /// Lessons (taken items) learned from, over all users.
    pub lessons: usize,
    /// Per user, NDCG@10 learned minus frozen (last k events).
    pub differences: Vec<f64>,
}

impl LearningMetrics {
    /// NDCG@10 learned over frozen, last k events, minus 1.
    pub fn relative_gain(&self) -> f64 {
        self.learned_k.ndcg10() / self.frozen_k.ndcg10().max(1e-12) - 1.0
    }

    /// The share of the gap from the last k events to the full history that learning closes.
    pub fn gap_closed(&self) -> f64 {
        (self.learned_k.ndcg10() - self.frozen_k.ndcg10()) / (self.frozen_full.ndcg10() - self.frozen_k.ndcg10())
    }

    /// Mean of the paired per-user differences and its standard error.
    pub fn paired_difference(&self) -> (f64, f64) {
        mean_se(&self.differences)
    }

    /// The figures as one JSON object, with the run they came from.
    pub fn to_json(&self, protocol: Protocol, split: Split, k: usize, learning: &crate::learn::LearnConfig, seconds: f64) -> serde_json::Value {
        serde_json::json!({
            "protocol": protocol.name(), "split": split.name(), "users": self.frozen_k.users, "k": k,
            "learning": learning, "lessons": self.lessons, "seconds": seconds,
            "ndcg@10 frozen_k": self.frozen_k.ndcg10(), "ndcg@10 learned_k": self.learned_k.ndcg10(), "ndcg@10 frozen_full": self.frozen_full.ndcg10(),
            "relative_gain": self.relative_gain(), "gap_closed": self.gap_closed(), "users_worse": self.worse, "users_better": self.better,
            "ndcg@10 paired difference": self.paired_difference().0, "paired difference se": self.paired_difference().1,
        })
    }
}

/// On-device learning, offline: for each case, the history without its last `k` events is
/// played as earlier visits of `k` events each (at most `max_visits`, the newest): at each
/// event the shopper is shown a slate in server order (the stand-in server's top 9 for the
/// visit so far with the true next item at a seeded random place among them, then 10 random
/// catalog items) and clicks the true item, with learning on; the visit's events are then dropped. The target is finally ranked
/// with only the last `k` events as session. The published server lists are never used in
/// the slates, so the test candidates are not pushed down by having been shown.
pub fn evaluate_learning(
    personalizer: &mut crate::Personalizer,
    data: &Dataset,
    cases: &[Case],
    k: usize,
    max_visits: usize,
    mut tick: impl FnMut(),
) -> Result<LearningMetrics> {
    use rand::SeedableRng;

    let server = crate::offline::servers::TransitionServer::fit(data);
    let (mut frozen_k, mut learned_k, mut frozen_full) = (Vec::new(), Vec::new(), Vec::new());
    let (mut worse, mut better, mut lessons) = (0, 0, 0);
    let mut differences = Vec::with_capacity(cases.len());
    let ndcg = |p: Option<usize>| Metrics::from_positions(&[p]).ndcg10();
    for case in cases {
        let history = &data.users[case.user].1[..case.history_len];
        let cut = history.len().saturating_sub(k);
        let (earlier, recent) = history.split_at(cut);
        let mut rng = rand::rngs::StdRng::seed_from_u64(case.user as u64);
        personalizer.forget()?;
        let visits: Vec<&[usize]> = earlier.chunks(k.max(1)).collect();
        for visit in window(&visits, max_visits) {
            personalizer.clear_session();
            lessons += play_visit(personalizer, data, &server, visit, crate::api::EventKind::Click, &[], &mut rng)?;
        }
        personalizer.clear_session();
        let learned = position_with_history(personalizer.ranker(), data, case, recent)?;
        personalizer.forget()?;
        let frozen = position_with_history(personalizer.ranker(), data, case, recent)?;
        let full = target_position(personalizer.ranker(), data, case)?;
        differences.push(ndcg(learned) - ndcg(frozen));
        match ndcg(learned).total_cmp(&ndcg(frozen)) {
            std::cmp::Ordering::Less => worse += 1,
            std::cmp::Ordering::Greater => better += 1,
            std::cmp::Ordering::Equal => {}
        }
        learned_k.push(learned);
        frozen_k.push(frozen);
        frozen_full.push(full);
        tick();
    }
    Ok(LearningMetrics {
        frozen_k: Metrics::from_positions(&frozen_k),
        learned_k: Metrics::from_positions(&learned_k),
        frozen_full: Metrics::from_positions(&frozen_full),
        worse,
        better,
        lessons,
        differences,
    })
}

/// One earlier visit played on the device: before each event the shopper is shown a slate in
/// server order (the stand-in server's top 9 for the visit so far with the true item at a
/// seeded random place among them, then random catalog items up to 20) and takes the true
/// item as an event of `kind`. No slate holds an item of `keep_off` other than the one taken
/// (an evaluation's held-out targets). Returns the lessons: takes after the visit's first event.
pub fn play_visit(
    personalizer: &mut crate::Personalizer,
    data: &Dataset,
    server: &crate::offline::servers::TransitionServer,
    visit: &[usize],
    kind: crate::api::EventKind,
    keep_off: &[usize],
    rng: &mut rand::rngs::StdRng,
) -> Result<usize> {
    use rand::Rng;

    let mut lessons = 0;
    for (j, &item) in visit.iter().enumerate() {
        let context = &visit[..j];
        let shown = |c: &usize| *c != item && !keep_off.contains(c);
        let mut slate: Vec<usize> = server.retrieve(context, 10 + keep_off.len()).into_iter().filter(shown).take(9).collect();
        slate.insert(rng.random_range(0..=slate.len()), item);
        // Up to 20 items, fewer in a catalog that has fewer.
        let available = data.ids.len().saturating_sub(keep_off.iter().filter(|&&c| c != item).count());
        while slate.len() < 20.min(available) {
            let c = rng.random_range(0..data.ids.len());
            if !slate.contains(&c) && shown(&c) {
                slate.push(c);
            }
        }
        personalizer.rerank(&data.candidate_list(&slate), &RerankOptions::default())?;
        let mut event = data.events(&[item]).remove(0);
        event.kind = kind;
        event.ts = j as f64;
        lessons += usize::from(!context.is_empty());
        personalizer.observe(event)?;
    }
    Ok(lessons)
}

fn position_with_history(ranker: &Ranker, data: &Dataset, case: &Case, history: &[usize]) -> Result<Option<usize>> {
    let events = data.events(history);
    let ranked = ranker.rerank(&events, &data.candidate_list(&case.candidates), &RerankOptions::server_order(case.server_order))?;
    Ok(ranked.iter().position(|r| r.id == data.ids[case.target]))
}

//! Basket completion on the retail data, time-based: what the model, the association rules
//! and the model-free baselines make of a cart.
//!
//! Protocol: invoices before the training cut train the model and mine the rules (and count
//! the baselines); each later invoice inside the evaluation window with at least two catalog
//! products holds out one of them (seeded), and the rest is the cart, handed to the model as
//! `cart` events with titles. Candidates: (a) `sampled-100`, the held-out product and 99
//! random catalog products outside the basket (seeded), in catalog order; (b) `catalog`,
//! every catalog product outside the cart. The metric is read off the order each system
//! returns, ties kept in candidate order: HR@10, NDCG@10, and the percentile rank p / (N − 1)
//! of the held-out product (0 = first), each with its standard error.
//!
//! Systems: popularity (baskets holding the item); pairwise co-occurrence with the cart items,
//! summed, as counts and as lift; the best rule's confidence; the model's fit; the model's
//! score with the rule term. The sparse ones (co-occurrence, rules) fall back to popularity
//! for items they do not score, as shops run them.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};

use crate::api::{Event, EventKind, RerankOptions};
use crate::error::Result;
use crate::offline::baskets::Basket;
use crate::offline::eval::{mean_se, ndcg10};
use crate::rank::score::Weights;
use crate::rank::{Candidates, EncodedCandidates, Memo, Ranker, ready};
use crate::relations::rules::Rules;

/// One held-out product with its cart, by catalog row (1-based, as the model's catalog).
#[derive(Debug, Clone)]
pub struct Case {
    /// The cart's rows, in the invoice's order.
    pub cart: Vec<u32>,
    /// The held-out row.
    pub target: u32,
    /// The sampled-100 candidates: rows, ascending.
    pub sampled: Vec<u32>,
}

/// The cases of `baskets` dated in `[from, until)` (`until` None: to the end), products outside
/// the catalog `row_of` knows dropped; `items` catalog rows (1..=items).
pub fn cases(baskets: &[Basket], from: &str, until: Option<&str>, row_of: impl Fn(&str) -> usize, items: usize, seed: u64) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    // 99 random products outside a basket need a catalog of more than 100.
    if items < 101 {
        return out;
    }
    for basket in baskets.iter().filter(|b| b.date.as_str() >= from && until.is_none_or(|u| b.date.as_str() < u)) {
        let rows: Vec<u32> = basket.items.iter().map(|id| row_of(id)).filter(|&r| r != 0).filter_map(|r| u32::try_from(r).ok()).collect();
        if rows.len() < 2 {
            continue;
        }
        let held = rng.random_range(0..rows.len());
        let target = rows[held];
        let cart: Vec<u32> = rows.iter().enumerate().filter(|&(i, _)| i != held).map(|(_, &r)| r).collect();
        let mut sampled = vec![target];
        // 99 distinct random products outside the basket.
        while sampled.len() < 100 {
            for i in sample(&mut rng, items, 100) {
                let row = (i + 1) as u32;
                if sampled.len() < 100 && !rows.contains(&row) && !sampled.contains(&row) {
                    sampled.push(row);
                }
            }
        }
        sampled.sort_unstable();
        out.push(Case { cart, target, sampled });
    }
    out
}

/// What the model-free systems count on the training baskets (rows as the model's catalog).
pub struct Counts {
    /// Baskets.
    baskets: usize,
    /// Row → baskets holding it.
    popularity: Vec<u32>,
    /// Row → (row → baskets holding both).
    pairs: Vec<HashMap<u32, u32>>,
}

impl Counts {
    /// Count `baskets` (each a list of rows) over `rows` catalog rows (items + 1).
    pub fn count(baskets: &[Vec<u32>], rows: usize) -> Counts {
        let mut popularity = vec![0u32; rows];
        let mut pairs: Vec<HashMap<u32, u32>> = vec![HashMap::new(); rows];
        for basket in baskets {
            let mut b: Vec<u32> = basket.iter().copied().filter(|&r| r != 0 && (r as usize) < rows).collect();
            b.sort_unstable();
            b.dedup();
            for &x in &b {
                popularity[x as usize] += 1;
                for &y in &b {
                    if x != y {
                        *pairs[x as usize].entry(y).or_default() += 1;
                    }
                }
            }
        }
        Counts { baskets: baskets.len(), popularity, pairs }
    }
}

/// A system's score for every catalog row (index = row; row 0 unused) given a case's cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// Baskets holding the item.
    Popularity,
    /// Σ over cart items of baskets holding both.
    CooccurrenceCount,
    /// Σ over cart items of lift(cart item, item).
    CooccurrenceLift,
    /// The best rule's confidence.
    Rules,
    /// The model's fit alone.
    Model,
    /// The model's score with the rule term under a weight (in thousandths).
    ModelWithRules(u32),
}

impl System {
    /// Its name in reports (the rule weight is given apart).
    pub fn name(self) -> &'static str {
        match self {
            System::Popularity => "popularity",
            System::CooccurrenceCount => "co-occurrence (count)",
            System::CooccurrenceLift => "co-occurrence (lift)",
            System::Rules => "FP-growth rules",
            System::Model => "model alone",
            System::ModelWithRules(_) => "model + rules",
        }
    }
}

/// HR@10, NDCG@10, percentile rank: means and standard errors.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Cases.
    pub cases: usize,
    /// Mean and standard error of HR@10.
    pub hr10: (f64, f64),
    /// Mean and standard error of NDCG@10.
    pub ndcg10: (f64, f64),
    /// Mean and standard error of the percentile rank (0 = first, 1 = last).
    pub mpr: (f64, f64),
}

impl Metrics {
    /// From the 0-based positions of the targets among `sizes` candidates.
    pub fn from_positions(positions: &[(usize, usize)]) -> Metrics {
        let hr: Vec<f64> = positions.iter().map(|&(p, _)| f64::from(u8::from(p < 10))).collect();
        let ndcg: Vec<f64> = positions.iter().map(|&(p, _)| ndcg10(Some(p))).collect();
        let pr: Vec<f64> = positions.iter().map(|&(p, n)| p as f64 / (n.saturating_sub(1).max(1)) as f64).collect();
        Metrics { cases: positions.len(), hr10: mean_se(&hr), ndcg10: mean_se(&ndcg), mpr: mean_se(&pr) }
    }
}

/// The 0-based position of `target` among `candidates` ordered by `score` (higher first,
/// ties in candidate order), and the number of candidates.
fn position(candidates: &[u32], target: u32, score: &[f64]) -> (usize, usize) {
    let s = |row: u32| score.get(row as usize).copied().unwrap_or(f64::NEG_INFINITY);
    let at = candidates.iter().position(|&r| r == target).unwrap_or(0);
    let t = s(target);
    let ahead = candidates.iter().enumerate().filter(|&(i, &r)| s(r) > t || (s(r) == t && i < at)).count();
    (ahead, candidates.len())
}

/// Everything one evaluation needs.
pub struct Evaluation<'a> {
    /// The model, its relations carrying `rules` (the rule term reads them).
    pub ranker: &'a Ranker,
    /// The whole catalog, encoded once.
    pub catalog: &'a EncodedCandidates,
    /// Catalog titles by row − 1.
    pub titles: &'a [String],
    /// The rule table mined on the training baskets.
    pub rules: &'a Rules,
    /// The model-free counts of the training baskets.
    pub counts: &'a Counts,
}

/// Per case, the target's 0-based position and the number of candidates, under
/// `[sampled-100, catalog]`.
pub type Positions = [Vec<(usize, usize)>; 2];

/// Every system's positions over a set of cases.
pub struct Scores {
    /// Per system.
    pub positions: Vec<(System, Positions)>,
}

impl Evaluation<'_> {
    /// Positions of every case's target under every system of `systems`.
    pub fn positions(&self, cases: &[Case], systems: &[System]) -> Result<Scores> {
        let rows = self.counts.popularity.len();
        let max_pop = f64::from(self.counts.popularity.iter().copied().max().unwrap_or(1).max(1));
        // A popularity back-off below any real score of the sparse systems.
        let backoff: Vec<f64> = self.counts.popularity.iter().map(|&p| 1e-6 * f64::from(p) / max_pop).collect();
        let mut out: Vec<(System, Positions)> = systems.iter().map(|&s| (s, [Vec::new(), Vec::new()])).collect();
        let base = self.ranker.weights();
        let options = RerankOptions::server_order(false);
        let all: Vec<u32> = (1..rows as u32).collect();
        for case in cases {
            let events: Vec<Event> = case
                .cart
                .iter()
                .enumerate()
                .map(|(i, &row)| {
                    let id = self.ranker.catalog().ids().get(row as usize - 1).cloned().unwrap_or_default();
                    Event { item_id: id, kind: EventKind::Cart, ts: i as f64, title: self.titles.get(row as usize - 1).cloned() }
                })
                .collect();
            let scored = ready(self.ranker.score(&events, Candidates::Encoded(self.catalog), &options, &mut Memo::none()))?.scored;
            let mut cart = case.cart.clone();
            cart.sort_unstable();
            cart.dedup();
            let catalog_candidates: Vec<u32> = all.iter().copied().filter(|r| cart.binary_search(r).is_err()).collect();
            for (system, positions) in &mut out {
                // The model's scores through the one scoring path: the rule term is the
                // ranker's own (its relations carry the mined table), under this weight.
                let model = match *system {
                    System::Model => scored.totals(&Weights { rule: 0.0, ..base }),
                    System::ModelWithRules(milli) => scored.totals(&Weights { rule: milli as f32 / 1000.0, ..base }),
                    _ => Vec::new(),
                };
                let mut score = vec![0.0f64; rows];
                for row in 1..rows {
                    let r = row as u32;
                    score[row] = match *system {
                        System::Popularity => f64::from(self.counts.popularity[row]),
                        System::CooccurrenceCount => cart.iter().map(|&x| f64::from(self.counts.pairs[x as usize].get(&r).copied().unwrap_or(0))).sum::<f64>() + backoff[row],
                        System::CooccurrenceLift => {
                            let n = self.counts.baskets as f64;
                            let lift = |x: u32| {
                                let both = f64::from(self.counts.pairs[x as usize].get(&r).copied().unwrap_or(0));
                                let (px, py) = (f64::from(self.counts.popularity[x as usize]), f64::from(self.counts.popularity[row]));
                                if both > 0.0 { both * n / (px * py) } else { 0.0 }
                            };
                            cart.iter().map(|&x| lift(x)).sum::<f64>() + backoff[row]
                        }
                        System::Rules => self.rules.complement(&cart, r).map_or(0.0, |(_, rule)| f64::from(rule.confidence)) + backoff[row],
                        System::Model | System::ModelWithRules(_) => f64::from(model.get(row - 1).copied().unwrap_or(f32::NEG_INFINITY)),
                    };
                }
                positions[0].push(position(&case.sampled, case.target, &score));
                positions[1].push(position(&catalog_candidates, case.target, &score));
            }
        }
        Ok(Scores { positions: out })
    }
}

//! Per-term scores. A candidate's score is the sum of its terms, kept apart until the ordering
//! stage: calibration re-weighs them, learning treats the fixed ones as fixed, and an
//! explanation can say which term (and which session item) moved an item.

use serde::{Deserialize, Serialize};

use crate::relations::transitions;

/// The weights of the terms that are not the model's fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Weight of −ln(server rank).
    pub rank: f32,
    /// Weight of the server's own score.
    pub server_score: f32,
    /// Score offset of an item the shopper already bought in the session.
    pub repeat: f32,
    /// Weight of the item-transition score.
    pub transition: f32,
    /// Weight of the association-rule term (the best rule's confidence).
    pub rule: f32,
}

/// One candidate's score, term by term.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Terms {
    /// How well the item fits the session: the model (0 for an empty session).
    pub fit: f32,
    /// What the server's rank and score add.
    pub server: f32,
    /// The repeat prior, when the shopper already bought the item in the session.
    pub repeat: f32,
    /// The item-transition term, the sum of `transition_from`.
    pub transition: f32,
    /// The transition term's parts: (index of the session event it follows, in the events
    /// as given; its weighted part).
    pub transition_from: Vec<(usize, f32)>,
    /// The association-rule term: the weighted confidence of the best rule whose antecedent
    /// is in the session's cart and whose consequent is this item.
    pub rule: f32,
    /// That rule's index in the bundle's rule table.
    pub rule_from: Option<usize>,
}

impl Terms {
    /// The score: fit and trust, plus the fixed terms.
    pub fn total(&self) -> f32 {
        (self.fit + self.server) + self.fixed()
    }

    /// The terms that learning leaves alone (the repeat prior, the transition and rule terms).
    pub fn fixed(&self) -> f32 {
        self.repeat + self.transition + self.rule
    }
}

/// The repeat prior's multiple for an item bought `times` beyond the window: log2(1 + times),
/// so once counts as much as a purchase in the window, and more purchases count for less each.
/// Chosen on validation (`eval --learn-beyond-window --split validation`, retail, sampled-100,
/// users with more than 50 events): NDCG@10 0.4910 frozen; 0.5173 with 1 for any count, 0.5179
/// with √times, 0.5182 with log2(1 + times) in place of the window's purchase, 0.5192 with it
/// added to the window's (this), 0.5121 and 0.5090 for 1.5 × 1 and 0.5 × times.
pub fn profile_factor(times: u32) -> f32 {
    if times == 0 { 0.0 } else { (1.0 + times as f32).log2() }
}

/// What a candidate brings to scoring besides the model's fit: the raw inputs of every other
/// term, so that the terms can be formed again under other weights (calibration).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// −ln(server rank), 0 without server order.
    pub log_rank: f32,
    /// The server's score, 0 when absent.
    pub server_score: f32,
    /// Whether the shopper bought the item in the session window.
    pub bought: bool,
    /// What the long-term profile adds to the repeat prior: [`profile_factor`] of the times
    /// the shopper bought the item beyond the window (0: never).
    pub bought_before: f32,
    /// Unweighted transition parts: (session event index, ½^j·P).
    pub transition_parts: Vec<(usize, f32)>,
    /// The best rule completing the cart: (its index in the rule table, its confidence).
    pub rule: Option<(usize, f32)>,
}

impl Features {
    /// The `[2]` server inputs of the head.
    pub fn server(&self) -> [f32; 2] {
        [self.log_rank, self.server_score]
    }

    /// The terms of a candidate with model fit `fit` under `weights`. The one place terms are
    /// formed.
    pub fn terms(&self, fit: f32, weights: &Weights) -> Terms {
        let raw = transitions::total(&self.transition_parts);
        Terms {
            fit,
            server: weights.rank * self.log_rank + weights.server_score * self.server_score,
            repeat: weights.repeat * (f32::from(u8::from(self.bought)) + self.bought_before),
            transition: weights.transition * raw,
            transition_from: self.transition_parts.iter().map(|&(event, p)| (event, weights.transition * p)).collect(),
            rule: self.rule.map_or(0.0, |(_, confidence)| weights.rule * confidence),
            rule_from: self.rule.map(|(index, _)| index),
        }
    }
}

/// A scored slate: every candidate's fit and features, in server order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scored {
    /// The model's fit of each candidate (zeros for an empty session).
    pub fit: Vec<f32>,
    /// The other terms' inputs of each candidate.
    pub features: Vec<Features>,
}

impl Scored {
    /// Every candidate's terms under `weights`.
    pub fn terms(&self, weights: &Weights) -> Vec<Terms> {
        self.fit.iter().zip(&self.features).map(|(&fit, f)| f.terms(fit, weights)).collect()
    }

    /// Every candidate's score under `weights`.
    pub fn totals(&self, weights: &Weights) -> Vec<f32> {
        self.terms(weights).iter().map(Terms::total).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_by_hand() {
        let f = Features { log_rank: -(2f32).ln(), server_score: 3.0, bought: true, bought_before: 0.0, transition_parts: vec![(4, 0.5), (2, 0.25)], rule: Some((7, 0.5)) };
        let w = Weights { rank: 2.0, server_score: 0.5, repeat: -3.0, transition: 8.0, rule: 4.0 };
        let t = f.terms(1.0, &w);
        assert!((t.server - (-2.0 * 2f32.ln() + 1.5)).abs() < 1e-6);
        assert_eq!((t.repeat, t.transition), (-3.0, 6.0));
        assert_eq!(t.transition_from, vec![(4, 4.0), (2, 2.0)]);
        assert_eq!((t.rule, t.rule_from), (2.0, Some(7)));
        assert!((t.total() - (1.0 + t.server - 3.0 + 6.0 + 2.0)).abs() < 1e-6);
        assert_eq!(t.fixed(), 5.0);
        // Bought twice beyond the window as well: the window's purchase plus log2(1 + 2).
        let again = Features { bought_before: profile_factor(2), ..f.clone() };
        assert!((again.terms(1.0, &w).repeat - (-3.0 * (1.0 + 3f32.log2()))).abs() < 1e-6);
        assert_eq!((profile_factor(0), profile_factor(1)), (0.0, 1.0));
    }
}

//! Explanations by occlusion: an event's part in an item's score is what the score loses when
//! that event is left out, the session state recomputed without it (Zeiler & Fergus 2014's
//! occlusion, applied to events), not what attention reads. All leave-one-out windows run as
//! one batch through the session transformer, and every term is formed again for each of them
//! ([`super::score::Features::terms`]), so a part says through which term (fit, transition,
//! rule, repeat) the event reached the score.
//!
//! Libraries looked at: no Rust crate explains recommenders; `shap`/`captum` are Python, and
//! attention weights are known to be unfaithful as explanations (Jain & Wallace 2019), which
//! is why the faithfulness report ([`crate::offline::faithfulness`]) compares against them.

use std::cmp::Ordering;

use burn::tensor::{Int, Tensor, TensorData};

use super::memo::ItemKey;
use super::score::Terms;
use super::{Memo, Ranker, read_floats};
use crate::api::{Candidate, Event, Ranked, RerankOptions, TermBlend, Why, WhyKind};
use crate::catalog::window;
use crate::error::{Error, Result};
use crate::profile::Profile;

/// Session events an explanation names per item: those whose occlusion takes most from it.
pub const NAMED_EVENTS: usize = 3;

/// The terms of some candidates for a session window and for each window with one event left
/// out.
pub struct Occlusion {
    /// Per candidate, for the whole window.
    pub full: Vec<Terms>,
    /// `[e][candidate]`: row `i` for the window without its `i`-th event.
    pub without: Vec<Vec<Terms>>,
}

impl Occlusion {
    /// What the `j`-th candidate's score (under the personalization blend `p`, each term times
    /// its share in `shares`) loses when event `i` of the window is left out, by term: [fit,
    /// transition, rule, repeat].
    pub fn parts(&self, i: usize, j: usize, p: f32, shares: &TermBlend) -> [f32; 4] {
        match (self.full.get(j), self.without.get(i).and_then(|row| row.get(j))) {
            (Some(full), Some(without)) => [
                p * shares.fit * (full.fit - without.fit),
                p * shares.transition * (full.transition - without.transition),
                p * shares.rule * (full.rule - without.rule),
                p * shares.repeat * (full.repeat - without.repeat),
            ],
            _ => [0.0; 4],
        }
    }

    /// The `j`-th candidate's drop for each window event, all terms together.
    pub fn drops(&self, j: usize, p: f32, shares: &TermBlend) -> Vec<f32> {
        (0..self.without.len()).map(|i| self.parts(i, j, p, shares).iter().sum()).collect()
    }
}

/// `events` without those at the indices `left_out`.
pub fn without(events: &[Event], left_out: &[usize]) -> Vec<Event> {
    events.iter().enumerate().filter(|(i, _)| !left_out.contains(i)).map(|(_, e)| e.clone()).collect()
}

/// Window events by what leaving them out takes from a score (`drops`), largest first; equal
/// drops put the newer event first.
pub fn by_drop(drops: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..drops.len()).collect();
    order.sort_by(|&a, &b| match (drops.get(a), drops.get(b)) {
        (Some(x), Some(y)) => y.total_cmp(x).then(b.cmp(&a)),
        _ => Ordering::Equal,
    });
    order
}

impl Ranker {
    /// Give the first `options.explain` items of `ranked` (the answer of a re-rank of
    /// `candidates` for the session `events`) their `why`: the server's term, and the
    /// [`NAMED_EVENTS`] window events whose occlusion takes most from the item's score (those
    /// that take something), each split by the term it flows through. Event indices count in
    /// `events` as given.
    ///
    /// An item the shopper bought beyond the window (`profile`) also names the repeat prior
    /// that holds for it whatever the window: a `repeat` term without an event.
    pub async fn explain(&self, events: &[Event], profile: Option<&Profile>, candidates: &[Candidate], ranked: &mut [Ranked], options: &RerankOptions, memo: &mut Memo) -> Result<()> {
        let k = options.explain.min(ranked.len());
        let Some(top) = ranked.get_mut(..k) else { return Ok(()) };
        let chosen: Vec<Candidate> = top.iter().filter_map(|r| candidates.get(r.server_rank.wrapping_sub(1)).cloned()).collect();
        if chosen.len() != top.len() {
            return Err(Error::model("an explained item is not among the candidates"));
        }
        let offset = events.len().saturating_sub(self.max_events());
        let window = window(events, self.max_events());
        let occlusion = self.occlusion(window, profile, &chosen, top.iter().map(|r| r.server_rank.saturating_sub(1)), options, memo).await?;
        let (p, shares) = (options.budget.personalization, &options.budget.terms);
        for (j, item) in top.iter_mut().enumerate() {
            let drops = occlusion.drops(j, p, shares);
            let mut why = Vec::new();
            for i in by_drop(&drops).into_iter().take(NAMED_EVENTS).filter(|&i| drops.get(i).is_some_and(|&d| d > 0.0)) {
                let Some(event) = window.get(i) else { continue };
                let kinds = [WhyKind::SessionItem, WhyKind::Transition, WhyKind::Rule, WhyKind::Repeat];
                for (kind, weight) in kinds.into_iter().zip(occlusion.parts(i, j, p, shares)).filter(|(_, w)| *w != 0.0) {
                    why.push(Why { kind, item_id: Some(event.item_id.clone()), event_index: Some(offset.saturating_add(i)), weight });
                }
            }
            let before = super::score::profile_factor(profile.map_or(0, |profile| profile.times(&item.id)));
            if before > 0.0 && self.weights().repeat != 0.0 {
                why.push(Why { kind: WhyKind::Repeat, item_id: Some(item.id.clone()), event_index: None, weight: p * shares.repeat * self.weights().repeat * before });
            }
            why.push(Why { kind: WhyKind::Server, item_id: None, event_index: None, weight: item.terms.server });
            item.why = Some(why);
        }
        Ok(())
    }

    /// The terms of `chosen` (listed at server positions `positions`) for `window` and for each
    /// window with one event left out. The leave-one-out session states are one batch
    /// `[e, e − 1]` through the session transformer: one readback.
    pub async fn occlusion(&self, window: &[Event], profile: Option<&Profile>, chosen: &[Candidate], positions: impl Iterator<Item = usize>, options: &RerankOptions, memo: &mut Memo) -> Result<Occlusion> {
        let d = self.config.item.d_model;
        let e = window.len();
        let rows: Vec<usize> = chosen.iter().map(|c| self.row(&c.id)).collect();
        let items: Vec<ItemKey> = window.iter().map(|ev| self.item_input(&ev.item_id, ev.title.as_deref())).chain(chosen.iter().zip(&rows).map(|(c, &row)| ItemKey { row, title: &c.title })).collect();
        let mut vectors = self.vectors(&items, memo).await?;
        let chosen_vectors = vectors.split_off(e.saturating_mul(d).min(vectors.len()));
        let positions: Vec<usize> = positions.collect();
        let weights = self.weights();
        // Each window's terms for the chosen items; `state` is None for an empty window.
        let terms = |events: &[Event], state: Option<&[f32]>| -> Vec<Terms> {
            let fit = match state {
                Some(state) => self.head.fit(&self.head.query(state), &chosen_vectors),
                None => vec![0.0; chosen.len()],
            };
            let features = self.features(events, profile, 0, chosen, &rows, options);
            fit.iter().zip(features).zip(&positions).map(|((&fit, mut f), &at)| {
                // The chosen items sit at their own server positions, not at 0..k.
                f.log_rank = if options.server_order { -(at.saturating_add(1) as f32).ln() } else { 0.0 };
                f.terms(fit, &weights)
            }).collect()
        };
        let full_state = match memo.session(window).map(<[f32]>::to_vec) {
            Some(state) => Some(state),
            None if e == 0 => None,
            None => Some(self.new_session_state(window, vectors.clone(), memo).await?),
        };
        let full = terms(window, full_state.as_deref());
        let left_out: Vec<Vec<Event>> = (0..e).map(|i| without(window, &[i])).collect();
        let states = match memo.left_out(window).map(<[f32]>::to_vec) {
            Some(states) => states,
            None if e >= 2 => {
                let states = self.left_out_states(&vectors, window).await?;
                memo.remember_left_out(window, states.clone());
                states
            }
            None => Vec::new(),
        };
        let without = left_out
            .iter()
            .enumerate()
            .map(|(i, events)| terms(events, states.get(i.saturating_mul(d)..i.saturating_add(1).saturating_mul(d))))
            .collect();
        Ok(Occlusion { full, without })
    }

    /// `[e · d]`: the session state of each window with one of its `e ≥ 2` events left out:
    /// by the fused pass that shares what the windows have in common (`crate::model::FusedSession`)
    /// where the ranker has it, else in one batch through burn. `vectors` are the window's
    /// `[e, d]` item vectors.
    async fn left_out_states(&self, vectors: &[f32], window: &[Event]) -> Result<Vec<f32>> {
        let types: Vec<usize> = window.iter().map(|ev| ev.kind.index()).collect();
        if let Some(states) = self.fused.as_ref().and_then(|fused| fused.left_out(vectors, &types)) {
            return Ok(states);
        }
        read_floats(self.model.session.left_out(vectors, &types, &self.device)).await // [e, d]
    }

    /// The attention the session transformer's last block pays from the newest event to each
    /// event of `window`, averaged over heads: the baseline explanations are compared with.
    pub fn last_attention(&self, window: &[Event], memo: &mut Memo) -> Result<Vec<f32>> {
        let d = self.config.item.d_model;
        let e = window.len();
        if e == 0 {
            return Ok(Vec::new());
        }
        let items: Vec<ItemKey> = window.iter().map(|ev| self.item_input(&ev.item_id, ev.title.as_deref())).collect();
        let vectors = crate::rank::ready(self.vectors(&items, memo))?;
        let types: Vec<i64> = window.iter().map(|ev| ev.kind.index() as i64).collect();
        let items = Tensor::<3>::from_data(TensorData::new(vectors, [1, e, d]), &self.device);
        let types = Tensor::<2, Int>::from_data(TensorData::new(types, [1, e]), &self.device);
        crate::rank::ready(read_floats(self.model.session.last_attention(items, types)))
    }
}

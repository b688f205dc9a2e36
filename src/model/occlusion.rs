//! The leave-one-out session states that explanations read (`crate::rank::explain`): for a
//! window of e events, the state after the newest event of each window with one event left
//! out, equal to [`SessionEncoder::newest`] on the batch `[e, e − 1]` (a test holds them within
//! 1e-5), in a fused plain-f32 pass that computes once what the variants share:
//!
//! - variant j equals the window without its newest event up to position j (the blocks are
//!   causal and the windows are left-padded to the same length), so those states come from one
//!   reference pass;
//! - past j every event sits one position earlier, and its first block's projections are the
//!   same in every variant that holds it, so they are computed once per event;
//! - the last block runs for the newest position only.
//!
//! So the first blocks run for about e²/2 tokens instead of e², with no tensor allocated per
//! operation: at 50 events 18.8 → 10.8 ms natively (`cargo bench --bench occlusion`), and an
//! explained re-rank 42.9 → 19.5 ms in chromium (`node benches/browser.mjs cpu`). burn's
//! batched attention cannot express variants of different lengths, hence plain loops; the
//! weights are read once, on the CPU, when the ranker is built.
//!
//! Pre-norm blocks with GELU and the plain softmax are what `SessionEncoderConfig` builds; an
//! encoder of another kind gets no fused pass and stays on burn's.
//!
//! Indexing is allowed here (the library denies it elsewhere): every index runs over sizes this
//! module checks on entry ([`FusedSession::left_out`] returns `None` for any other input).
#![allow(clippy::indexing_slicing)]

use burn::nn::{LayerNorm, Linear};
use burn::tensor::Tensor;

use super::session::{EVENT_TYPES, SessionEncoder};

fn floats<const D: usize>(t: Tensor<D>) -> Option<Vec<f32>> {
    t.into_data().try_to_vec::<f32>().ok()
}

/// A linear layer: `w` is `[d_in, d_out]` (burn's layout), `b` is `[d_out]`.
struct Lin {
    w: Vec<f32>,
    b: Vec<f32>,
    d_in: usize,
    d_out: usize,
}

impl Lin {
    fn of(l: &Linear) -> Option<Lin> {
        let [d_in, d_out] = l.weight.val().dims();
        let b = match &l.bias {
            Some(b) => floats(b.val())?,
            None => vec![0.0; d_out],
        };
        let w = floats(l.weight.val())?;
        (w.len() == d_in * d_out && b.len() == d_out).then_some(Lin { w, b, d_in, d_out })
    }

    /// `out = x·w + b` (`x`: `[d_in]`, `out`: `[d_out]`).
    fn apply(&self, x: &[f32], out: &mut [f32]) {
        out.copy_from_slice(&self.b);
        for (&xi, row) in x.iter().zip(self.w.chunks_exact(self.d_out)) {
            for (o, &w) in out.iter_mut().zip(row) {
                *o += xi * w;
            }
        }
    }
}

/// A layer norm with burn's default epsilon, which `SessionEncoderConfig` keeps.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

const EPSILON: f32 = 1e-5;

impl Norm {
    fn of(n: &LayerNorm) -> Option<Norm> {
        Some(Norm { gamma: floats(n.gamma.val())?, beta: floats(n.beta.as_ref()?.val())? })
    }

    fn apply(&self, x: &[f32], out: &mut [f32]) {
        let n = x.len() as f32;
        let mean = x.iter().sum::<f32>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + EPSILON).sqrt();
        for (((o, &v), &g), &b) in out.iter_mut().zip(x).zip(&self.gamma).zip(&self.beta) {
            *o = (v - mean) * inv * g + b;
        }
    }
}

/// A pre-norm block: attention reads `attention_norm` of the input, the feed-forward
/// `feed_norm` of the residual (burn's `norm_2` and `norm_1`).
struct Block {
    query: Lin,
    key: Lin,
    value: Lin,
    output: Lin,
    inner: Lin,
    outer: Lin,
    attention_norm: Norm,
    feed_norm: Norm,
}

/// One token at one block: its input, and the projections of its normed input.
struct Token {
    x: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
}

/// GELU, exact (erf), as burn's.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x / std::f32::consts::SQRT_2))
}

/// The session encoder's weights as plain numbers, for [`FusedSession::left_out`].
pub struct FusedSession {
    blocks: Vec<Block>,
    last_norm: Norm,
    types: Vec<f32>,
    positions: Vec<f32>,
    max_events: usize,
    d: usize,
    heads: usize,
}

impl FusedSession {
    /// Read `encoder`'s weights (on a backend that answers at once); `None` for an encoder this
    /// pass does not cover (post-norm blocks, the quiet softmax, another activation).
    pub fn of(encoder: &SessionEncoder) -> Option<FusedSession> {
        let t = &encoder.transformer;
        let plain = t.layers.iter().all(|l| l.norm_first && matches!(&l.pwff.activation, burn::nn::activation::Activation::Gelu(g) if !g.approximate));
        if !plain || t.quiet_softmax || t.layers.is_empty() || t.n_heads == 0 || !t.d_model.is_multiple_of(t.n_heads) {
            return None;
        }
        let blocks = t
            .layers
            .iter()
            .map(|l| {
                Some(Block {
                    query: Lin::of(&l.mha.query)?,
                    key: Lin::of(&l.mha.key)?,
                    value: Lin::of(&l.mha.value)?,
                    output: Lin::of(&l.mha.output)?,
                    inner: Lin::of(&l.pwff.linear_inner)?,
                    outer: Lin::of(&l.pwff.linear_outer)?,
                    attention_norm: Norm::of(&l.norm_2)?,
                    feed_norm: Norm::of(&l.norm_1)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let d = t.d_model;
        let square = |l: &Lin, d_in: usize, d_out: usize| l.d_in == d_in && l.d_out == d_out;
        let shapes = blocks.iter().all(|b| {
            [&b.query, &b.key, &b.value, &b.output].iter().all(|l| square(l, d, d)) && b.inner.d_in == d && square(&b.outer, b.inner.d_out, d) && [&b.attention_norm, &b.feed_norm].iter().all(|n| n.gamma.len() == d && n.beta.len() == d)
        });
        let types = floats(encoder.type_embedding.weight.val())?;
        let positions = floats(encoder.position_embedding.weight.val())?;
        let last_norm = Norm::of(&encoder.norm)?;
        let fits = types.len() == EVENT_TYPES * d && positions.len() == encoder.max_events * d && last_norm.gamma.len() == d && last_norm.beta.len() == d;
        (shapes && fits).then_some(FusedSession { blocks, last_norm, types, positions, max_events: encoder.max_events, d, heads: t.n_heads })
    }

    /// Block `b`'s token for input `x`.
    fn token(&self, b: &Block, x: Vec<f32>) -> Token {
        let d = self.d;
        let mut normed = vec![0.0; d];
        b.attention_norm.apply(&x, &mut normed);
        let (mut q, mut k, mut v) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
        b.query.apply(&normed, &mut q);
        b.key.apply(&normed, &mut k);
        b.value.apply(&normed, &mut v);
        Token { x, q, k, v }
    }

    /// Block `b`'s output for `query` attending over `keys` (itself among them, last).
    fn block(&self, b: &Block, query: &Token, keys: &[&Token], scores: &mut Vec<f32>) -> Vec<f32> {
        let d = self.d;
        let dk = d / self.heads;
        let scale = 1.0 / (dk as f32).sqrt();
        let mut context = vec![0.0; d];
        for h in 0..self.heads {
            let r = h * dk..(h + 1) * dk;
            scores.clear();
            let mut top = f32::NEG_INFINITY;
            for k in keys {
                let s = query.q[r.clone()].iter().zip(&k.k[r.clone()]).map(|(a, b)| a * b).sum::<f32>() * scale;
                top = top.max(s);
                scores.push(s);
            }
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                *s = (*s - top).exp();
                sum += *s;
            }
            let c = &mut context[r.clone()];
            for (s, k) in scores.iter().zip(keys) {
                let p = s / sum;
                for (c, v) in c.iter_mut().zip(&k.v[r.clone()]) {
                    *c += p * v;
                }
            }
        }
        let mut y = vec![0.0; d];
        b.output.apply(&context, &mut y);
        y.iter_mut().zip(&query.x).for_each(|(y, x)| *y += x);
        let mut normed = vec![0.0; d];
        b.feed_norm.apply(&y, &mut normed);
        let mut hidden = vec![0.0; b.inner.d_out];
        b.inner.apply(&normed, &mut hidden);
        hidden.iter_mut().for_each(|h| *h = gelu(*h));
        let mut feed = vec![0.0; d];
        b.outer.apply(&hidden, &mut feed);
        y.iter_mut().zip(&feed).for_each(|(y, f)| *y += f);
        y
    }

    /// `[e · d]`: the state of each window of `items` (`[e, d]` item vectors) and `types`
    /// (event type ids) with one event left out, as [`SessionEncoder::newest`] gives it for
    /// the batch of those windows. `None` unless 2 ≤ e ≤ max_events + 1 and the sizes fit.
    pub fn left_out(&self, items: &[f32], types: &[usize]) -> Option<Vec<f32>> {
        let (d, e) = (self.d, types.len());
        if e < 2 || e - 1 > self.max_events || items.len() != e * d || types.iter().any(|&t| t >= EVENT_TYPES) {
            return None;
        }
        let l = e - 1;
        let first = self.max_events - l;
        let input = |event: usize, position: usize| -> Vec<f32> { (0..d).map(|c| items[event * d + c] + self.types[types[event] * d + c] + self.positions[position * d + c]).collect() };
        let (head, rest) = self.blocks.split_first()?;
        let mut scores = Vec::with_capacity(e);
        // The reference: events 0..l at positions first + i, each block's tokens. Variant j
        // shares its first j positions with it.
        let mut reference: Vec<Vec<Token>> = vec![(0..l).map(|i| self.token(head, input(i, first + i))).collect()];
        for b in rest {
            let below = reference.last()?;
            let next: Vec<Token> = (0..l).map(|t| self.token(b, self.block(&self.blocks[reference.len() - 1], &below[t], &below[..=t].iter().collect::<Vec<_>>(), &mut scores))).collect();
            reference.push(next);
        }
        // Event i one position earlier (after a left-out event before it), first block.
        let shifted: Vec<Token> = (1..e).map(|i| self.token(head, input(i, first + i - 1))).collect();
        let last = self.blocks.len() - 1;
        let mut states = vec![0.0; e * d];
        for (j, state) in states.chunks_exact_mut(d).enumerate() {
            // Variant j's tokens at each block past position j (events j + 1..e); at the first
            // block the shifted ones (None), later its own.
            let mut suffix: Option<Vec<Token>> = None;
            for (b, below) in reference.iter().enumerate().take(last) {
                let next = {
                    let current: Vec<&Token> = suffix.as_ref().map_or_else(|| shifted[j..].iter().collect(), |s| s.iter().collect());
                    let mut keys: Vec<&Token> = below[..j].iter().collect();
                    let mut next = Vec::with_capacity(current.len());
                    for token in current {
                        keys.push(token);
                        next.push(self.token(&self.blocks[b + 1], self.block(&self.blocks[b], token, &keys, &mut scores)));
                    }
                    next
                };
                suffix = Some(next);
            }
            let current: Vec<&Token> = suffix.as_ref().map_or_else(|| shifted[j..].iter().collect(), |s| s.iter().collect());
            let keys: Vec<&Token> = reference[last][..j].iter().chain(current).collect();
            let newest = *keys.last()?;
            let out = self.block(&self.blocks[last], newest, &keys, &mut scores);
            self.last_norm.apply(&out, state);
        }
        Some(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionEncoderConfig;
    use burn::tensor::{Device, Distribution};

    #[test]
    fn left_out_states_equal_burns_batched_pass() {
        let device = Device::flex();
        for layers in [1, 2, 3] {
            let encoder = SessionEncoderConfig::new().with_dropout(0.0).with_n_layers(layers).init(&device);
            let fused = FusedSession::of(&encoder).expect("the encoder the config builds");
            for e in [2usize, 3, 7, 20, 50, 51] {
                let items: Vec<f32> = Tensor::<2>::random([e, 64], Distribution::Normal(0.0, 1.0), &device).into_data().try_to_vec::<f32>().unwrap();
                let types: Vec<usize> = (0..e).map(|i| (i * 7 + 3) % EVENT_TYPES).collect();
                let reference = encoder.left_out(&items, &types, &device).into_data().try_to_vec::<f32>().unwrap();
                let mine = fused.left_out(&items, &types).unwrap();
                let gap = mine.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(gap < 1e-5, "{layers} blocks, {e} events: {gap}");
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_compute() {
        let encoder = SessionEncoderConfig::new().with_dropout(0.0).init(&Device::flex());
        let fused = FusedSession::of(&encoder).unwrap();
        assert!(fused.left_out(&[0.0; 64], &[0]).is_none(), "one event leaves nothing out");
        assert!(fused.left_out(&[0.0; 128], &[0, 4]).is_none(), "an unknown event type");
        assert!(fused.left_out(&[0.0; 100], &[0, 1]).is_none(), "vectors of the wrong size");
        assert!(fused.left_out(&vec![0.0; 52 * 64], &[0; 52]).is_none(), "longer than the window");
    }
}

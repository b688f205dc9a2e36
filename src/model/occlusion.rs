//! The leave-one-out session states that explanations read (`crate::rank::explain`): for a
//! window of e events, the state after the newest event of each window with one event left
//! out, equal to [`SessionEncoder::newest`] on the batch `[e, e − 1]` (a test holds them within
//! 1e-5 for one to three blocks), computing once what the variants share:
//!
//! - variant j equals the window without its newest event (the reference) below position j
//!   (the blocks are causal and the windows are left-padded to the same length), so those
//!   tokens are the reference's at every block;
//! - from position j on, every event sits one position earlier, so at the first block its
//!   query, key and value are the same in every variant that holds it: projected once, and its
//!   attention over the reference's keys before j and its shifted ones from j on is two running
//!   softmax sums kept once and merged per variant (`FusedSession::attend_first`);
//! - the last block runs for each variant's newest token only.
//!
//! So the blocks run for about e²/2 tokens instead of e², and every variant's own tokens of a
//! block are one batch: the projections and the feed-forward's two layers run through the
//! encoder's own burn `Linear` modules on the whole batch, where the multiply-adds are (burn's
//! CPU backend: `gemm`, simd128 in the browser); attention (burn's batched attention cannot
//! express variants of different lengths), layer norms and GELU are plain f32 loops. At 50
//! events the states take 2.1 ms natively on one core against 21 ms for burn's batch of whole
//! windows (`RAYON_NUM_THREADS=1 cargo bench --bench occlusion`), and an explained re-rank
//! 6.7 ms p50 in chromium (`node benches/browser.mjs cpu`; the README has the runs).
//!
//! Pre-norm blocks with exact GELU and the plain softmax are what `SessionEncoderConfig`
//! builds; an encoder of another kind gets no fused pass and stays on
//! [`SessionEncoder::left_out`].
//!
//! Indexing is allowed here (the library denies it elsewhere): every index runs over sizes this
//! module checks on entry ([`FusedSession::left_out`] returns `None` for any other input).
#![allow(clippy::indexing_slicing)]

use burn::nn::activation::Activation;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::session::{EVENT_TYPES, SessionEncoder};

fn floats<const D: usize>(t: Tensor<D>) -> Option<Vec<f32>> {
    t.into_data().try_to_vec::<f32>().ok()
}

/// A token of some variant: `variant` j leaves event j out (j = e − 1, the newest: the
/// reference), `position` is its place in that variant's window of e − 1 events.
#[derive(Clone, Copy)]
struct Token {
    variant: usize,
    position: usize,
}

/// Where each token's numbers sit in a block's rows: the reference's tokens first (rows
/// 0..l, shared by every variant below its left-out event), then each variant's own tokens.
struct Layout {
    l: usize,
    /// `own[j]`: the row of variant j's token at position j (its first own one).
    own: Vec<usize>,
}

impl Layout {
    fn new(l: usize) -> Layout {
        let own = (0..=l).scan(l, |next, j| {
            let at = *next;
            *next += l.saturating_sub(j);
            Some(at)
        });
        Layout { l, own: own.collect() }
    }

    /// The row of `token` at a block past the first.
    fn row(&self, token: Token) -> usize {
        if token.position < token.variant { token.position } else { self.own[token.variant] + token.position - token.variant }
    }

    /// The row of `token` among the first block's inputs: the reference's (rows 0..l), then
    /// each event one position earlier (row l + p holds event p + 1 at position p).
    fn first_row(&self, token: Token) -> usize {
        if token.position < token.variant { token.position } else { self.l + token.position }
    }

    /// Every token, in row order.
    fn tokens(&self) -> impl Iterator<Item = Token> + '_ {
        let reference = (0..self.l).map(|position| Token { variant: self.l, position });
        reference.chain((0..self.l).flat_map(move |variant| (variant..self.l).map(move |position| Token { variant, position })))
    }

    /// Each variant's newest token, variant 0 first: what the last block computes.
    fn newest(&self) -> impl Iterator<Item = Token> + '_ {
        (0..=self.l).map(|variant| Token { variant, position: self.l - 1 })
    }
}

/// One block's inputs as rows: `x` the residual, `q`, `k`, `v` the projections of its normed
/// input (`q` for every row, or for the queries asked for, in their order).
struct Rows {
    x: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
}

impl Rows {
    fn key(&self, row: usize, head: std::ops::Range<usize>, d: usize) -> (&[f32], &[f32]) {
        let at = row * d + head.start..row * d + head.end;
        (&self.k[at.clone()], &self.v[at])
    }
}

/// `a · b`, in eight lanes so that it vectorises (a sum in one lane would keep the order).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Exact GELU, `x/2 · (1 + erf(x/√2))`, with erf by the rational approximation of Eigen's
/// `generic_fast_erf_float` (also XNNPACK's): within 4e-7 of burn's GELU (relative to
/// max(|x|, 1); a test holds it), branch-free so that it vectorises. burn's CPU GELU calls
/// libm's `erff` per element, which was a fifth of this pass at 50 events.
fn gelu(x: f32) -> f32 {
    // Eigen's coefficients as published (more digits than f32 holds).
    #[allow(clippy::excessive_precision)]
    const NUMERATOR: [f32; 7] = [-1.60960333262415e-02, -2.95459980854025e-03, -7.34990630326855e-04, -5.69250639462346e-05, -2.10102402082508e-06, 2.77068142495902e-08, -2.72614225801306e-10];
    #[allow(clippy::excessive_precision)]
    const DENOMINATOR: [f32; 5] = [-1.42647390514189e-02, -7.37332916720468e-03, -1.68282697438203e-03, -2.13374055278905e-04, -1.45660718464996e-05];
    // Beyond ±4 erf is ±1 in f32.
    let z = (x * std::f32::consts::FRAC_1_SQRT_2).clamp(-4.0, 4.0);
    let z2 = z * z;
    let p = NUMERATOR.iter().rev().fold(0.0, |acc, &c| acc * z2 + c);
    let q = DENOMINATOR.iter().rev().fold(0.0, |acc, &c| acc * z2 + c);
    0.5 * x * (1.0 + z * p / q)
}

/// One head's softmax-weighted sum of values, kept as it runs (the online softmax of flash
/// attention): the largest score so far, the sum of `exp(score − top)` and the weighted values
/// on the same scale. Two such sums over disjoint keys merge into the softmax over both.
#[derive(Clone)]
struct Mix {
    top: f32,
    sum: f32,
    values: Vec<f32>,
}

impl Mix {
    fn new(dk: usize) -> Mix {
        Mix { top: f32::NEG_INFINITY, sum: 0.0, values: vec![0.0; dk] }
    }

    fn add(&mut self, score: f32, value: &[f32]) {
        let (old, new) = if score > self.top { ((self.top - score).exp(), 1.0) } else { (1.0, (score - self.top).exp()) };
        self.top = self.top.max(score);
        self.sum = self.sum * old + new;
        for (acc, v) in self.values.iter_mut().zip(value) {
            *acc = *acc * old + new * v;
        }
    }

    /// The softmax-weighted values over this sum's keys and `other`'s, into `out`.
    fn merge_into(&self, other: &Mix, out: &mut [f32]) {
        let top = self.top.max(other.top);
        let scale = |m: &Mix| if m.sum > 0.0 { (m.top - top).exp() } else { 0.0 };
        let (a, b) = (scale(self), scale(other));
        let total = self.sum * a + other.sum * b;
        for ((o, x), y) in out.iter_mut().zip(&self.values).zip(&other.values) {
            *o = (x * a + y * b) / total;
        }
    }
}

/// A layer norm's parameters, applied row by row in plain f32: burn's CPU layer norm without
/// its SIMD kernels (left out of the wasm builds for their size) took a quarter of this pass.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// burn's default, which `SessionEncoderConfig` keeps (the module does not expose it).
const EPSILON: f32 = 1e-5;

impl Norm {
    fn of(n: &LayerNorm, d: usize) -> Option<Norm> {
        let norm = Norm { gamma: floats(n.gamma.val())?, beta: floats(n.beta.as_ref()?.val())? };
        (norm.gamma.len() == d && norm.beta.len() == d).then_some(norm)
    }

    /// `rows` (`[n, d]`) normalised, each row on its own.
    fn apply(&self, rows: &[f32]) -> Vec<f32> {
        let d = self.gamma.len();
        let mut out = vec![0.0; rows.len()];
        for (x, o) in rows.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let mean = x.iter().sum::<f32>() / d as f32;
            let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + EPSILON).sqrt();
            for (((o, &v), &g), &b) in o.iter_mut().zip(x).zip(&self.gamma).zip(&self.beta) {
                *o = (v - mean) * inv * g + b;
            }
        }
        out
    }
}

/// A block's two layer norms: attention reads `attention` of the input, the feed-forward
/// `feed` of the residual (burn's `norm_2` and `norm_1`).
struct Norms {
    attention: Norm,
    feed: Norm,
}

/// The session encoder (its burn modules, on the CPU, and its layer norms as numbers) and the
/// checks that it is one this pass covers, for [`FusedSession::left_out`].
pub struct FusedSession {
    encoder: SessionEncoder,
    norms: Vec<Norms>,
    last_norm: Norm,
    device: Device,
    d: usize,
    heads: usize,
}

impl FusedSession {
    /// Keep `encoder` (on `device`, a backend that answers at once); `None` for an encoder this
    /// pass does not cover (post-norm blocks, the quiet softmax, another activation, no blocks).
    pub fn of(encoder: &SessionEncoder, device: &Device) -> Option<FusedSession> {
        let t = &encoder.transformer;
        let covered = t.layers.iter().all(|l| l.norm_first && matches!(&l.pwff.activation, Activation::Gelu(g) if !g.approximate)) && !t.quiet_softmax && !t.layers.is_empty() && t.n_heads > 0 && t.d_model.is_multiple_of(t.n_heads);
        if !covered {
            return None;
        }
        let d = t.d_model;
        let norms = t.layers.iter().map(|l| Some(Norms { attention: Norm::of(&l.norm_2, d)?, feed: Norm::of(&l.norm_1, d)? })).collect::<Option<Vec<_>>>()?;
        Some(FusedSession { encoder: encoder.clone(), norms, last_norm: Norm::of(&encoder.norm, d)?, device: device.clone(), d, heads: t.n_heads })
    }

    fn heads(&self) -> impl Iterator<Item = std::ops::Range<usize>> {
        let dk = self.d / self.heads;
        (0..self.heads).map(move |h| h * dk..(h + 1) * dk)
    }

    fn scale(&self) -> f32 {
        1.0 / ((self.d / self.heads) as f32).sqrt()
    }

    /// `layer` applied to `rows` (`[n, d_in]`): where the multiply-adds are, so through burn
    /// (its CPU backend multiplies with `gemm`, simd128 in the browser).
    fn linear(&self, layer: &Linear, rows: Vec<f32>) -> Option<Vec<f32>> {
        let [d_in, _] = layer.weight.dims();
        let n = rows.len() / d_in;
        floats(layer.forward(Tensor::<2>::from_data(TensorData::new(rows, [n, d_in]), &self.device)))
    }

    /// Block `b`'s inputs from `x` (`[n, d]`): the residual, and the projections of its normed
    /// rows, k and v for every row, q for every row or for the rows `queries`.
    fn project(&self, b: usize, x: Vec<f32>, queries: Option<&[usize]>) -> Option<Rows> {
        let (mha, d) = (&self.encoder.transformer.layers.get(b)?.mha, self.d);
        let normed = self.norms.get(b)?.attention.apply(&x);
        let asked = match queries {
            Some(rows) => rows.iter().flat_map(|&r| normed[r * d..(r + 1) * d].iter().copied()).collect(),
            None => normed.clone(),
        };
        Some(Rows { q: self.linear(&mha.query, asked)?, k: self.linear(&mha.key, normed.clone())?, v: self.linear(&mha.value, normed)?, x })
    }

    /// The attention context (`[queries, d]`) and residual of each of `queries` (a token and
    /// its row in `rows.q`) over its variant's tokens up to itself; `row_of` gives a token's
    /// row in `rows.k`, `rows.v` and `rows.x`.
    fn attend(&self, rows: &Rows, queries: &[(Token, usize)], row_of: impl Fn(Token) -> usize) -> (Vec<f32>, Vec<f32>) {
        let (d, scale) = (self.d, self.scale());
        let mut context = vec![0.0; queries.len() * d];
        let mut residual = Vec::with_capacity(queries.len() * d);
        let empty = Mix::new(d / self.heads);
        for (&(token, q_row), out) in queries.iter().zip(context.chunks_exact_mut(d)) {
            let me = row_of(token);
            residual.extend_from_slice(&rows.x[me * d..(me + 1) * d]);
            for head in self.heads() {
                let q = &rows.q[q_row * d + head.start..q_row * d + head.end];
                let mut mix = empty.clone();
                for position in 0..=token.position {
                    let (k, v) = rows.key(row_of(Token { position, ..token }), head.clone(), d);
                    mix.add(dot(q, k) * scale, v);
                }
                mix.merge_into(&empty, &mut out[head]);
            }
        }
        (context, residual)
    }

    /// The first block's attention context for every token in row order (`[rows, d]`), when
    /// it is not the last block, and the residuals. A variant's own token at position p holds
    /// event p + 1 one position earlier: the same query, keys and values in every variant j ≤ p,
    /// which differ only in where the reference's keys stop and the shifted ones start. So per
    /// such token the sums over the reference's keys before j (for every j) and over the
    /// shifted keys from j on are kept once and merged per variant: e² work instead of e³.
    fn attend_first(&self, rows: &Rows, layout: &Layout) -> (Vec<f32>, Vec<f32>) {
        let (d, l, scale) = (self.d, layout.l, self.scale());
        let reference: Vec<(Token, usize)> = (0..l).map(|position| (Token { variant: l, position }, position)).collect();
        let (mut context, mut residual) = self.attend(rows, &reference, |t| layout.first_row(t));
        let total = layout.own[l];
        context.resize(total * d, 0.0);
        residual.resize(total * d, 0.0);
        let empty = Mix::new(d / self.heads);
        let mut before = vec![empty.clone(); l];
        for p in 0..l {
            let shifted = l + p;
            for variant in 0..=p {
                let row = layout.row(Token { variant, position: p });
                residual[row * d..(row + 1) * d].copy_from_slice(&rows.x[shifted * d..(shifted + 1) * d]);
            }
            for head in self.heads() {
                let q = &rows.q[shifted * d + head.start..shifted * d + head.end];
                // before[j]: the reference's keys 0..j.
                let mut running = empty.clone();
                for (j, slot) in before.iter_mut().enumerate().take(p + 1) {
                    slot.clone_from(&running);
                    let (k, v) = rows.key(j, head.clone(), d);
                    running.add(dot(q, k) * scale, v);
                }
                // The shifted keys j..=p, j falling.
                let mut after = empty.clone();
                for variant in (0..=p).rev() {
                    let (k, v) = rows.key(l + variant, head.clone(), d);
                    after.add(dot(q, k) * scale, v);
                    let row = layout.row(Token { variant, position: p });
                    before[variant].merge_into(&after, &mut context[row * d + head.start..row * d + head.end]);
                }
            }
        }
        (context, residual)
    }

    /// The rest of block `b` (pre-norm, as `TransformerEncoderLayer::forward`; dropout is off
    /// outside training): the output projection, the residual and the feed-forward.
    fn finish(&self, b: usize, (context, residual): (Vec<f32>, Vec<f32>)) -> Option<Vec<f32>> {
        let layer = self.encoder.transformer.layers.get(b)?;
        let mut y = self.linear(&layer.mha.output, context)?;
        y.iter_mut().zip(&residual).for_each(|(y, r)| *y += r);
        let mut hidden = self.linear(&layer.pwff.linear_inner, self.norms.get(b)?.feed.apply(&y))?;
        hidden.iter_mut().for_each(|h| *h = gelu(*h));
        let feed = self.linear(&layer.pwff.linear_outer, hidden)?;
        y.iter_mut().zip(&feed).for_each(|(y, f)| *y += f);
        Some(y)
    }

    /// `[e · d]`: the state of each window of `items` (`[e, d]` item vectors) and `types`
    /// (event type ids) with one event left out, as [`SessionEncoder::newest`] gives it for
    /// the batch of those windows. `None` unless 2 ≤ e ≤ max_events + 1 and the sizes fit.
    pub fn left_out(&self, items: &[f32], types: &[usize]) -> Option<Vec<f32>> {
        let (d, e, encoder) = (self.d, types.len(), &self.encoder);
        if e < 2 || e - 1 > encoder.max_events || items.len() != e * d || types.iter().any(|&t| t >= EVENT_TYPES) {
            return None;
        }
        let layout = Layout::new(e - 1);
        let l = layout.l;
        let first = encoder.max_events - l;
        // The first block's inputs: events 0..l at positions first + p, then events 1..e one
        // position earlier.
        let events: Vec<usize> = (0..l).chain(1..e).collect();
        let positions: Vec<i64> = (0..l).chain(0..l).map(|p| (first + p) as i64).collect();
        let ids = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [1, 2 * l]), &self.device);
        let kinds = ids(events.iter().map(|&i| types[i] as i64).collect());
        let mut x = floats(encoder.type_embedding.forward(kinds) + encoder.position_embedding.forward(ids(positions)))?;
        x.iter_mut().zip(events.iter().flat_map(|&i| &items[i * d..(i + 1) * d])).for_each(|(x, v)| *x += v);
        // The last block: each variant's newest token, its query alone projected.
        let newest: Vec<Token> = layout.newest().collect();
        let last_queries = |row: &dyn Fn(Token) -> usize| -> (Vec<(Token, usize)>, Vec<usize>) { (newest.iter().enumerate().map(|(i, &t)| (t, i)).collect(), newest.iter().map(|&t| row(t)).collect()) };
        let last = encoder.transformer.layers.len() - 1;
        let y = if last == 0 {
            let (queries, q_rows) = last_queries(&|t| layout.first_row(t));
            let rows = self.project(0, x, Some(&q_rows))?;
            self.finish(0, self.attend(&rows, &queries, |t| layout.first_row(t)))?
        } else {
            let mut y = self.finish(0, self.attend_first(&self.project(0, x, None)?, &layout))?;
            let all: Vec<(Token, usize)> = layout.tokens().map(|t| (t, layout.row(t))).collect();
            for b in 1..last {
                y = self.finish(b, self.attend(&self.project(b, y, None)?, &all, |t| layout.row(t)))?;
            }
            let (queries, q_rows) = last_queries(&|t| layout.row(t));
            let rows = self.project(last, y, Some(&q_rows))?;
            self.finish(last, self.attend(&rows, &queries, |t| layout.row(t)))?
        };
        Some(self.last_norm.apply(&y))
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
            let fused = FusedSession::of(&encoder, &device).expect("the encoder the config builds");
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
    fn gelu_is_burns_within_float_rounding() {
        // Every 1e-4 in [-8, 8], then every 0.01 out to ±30: the error relative to max(|x|, 1).
        let grid = (-80_000..=80_000).map(|i| i as f32 / 10_000.0).chain((-3_000..=3_000).map(|i| i as f32 / 100.0));
        let worst = grid.map(|x| ((gelu(x) - 0.5 * x * (1.0 + libm::erff(x / std::f32::consts::SQRT_2))) / x.abs().max(1.0)).abs()).fold(0.0f32, f32::max);
        assert!(worst < 4e-7, "{worst}");
    }

    #[test]
    fn refuses_what_it_cannot_compute() {
        let encoder = SessionEncoderConfig::new().with_dropout(0.0).init(&Device::flex());
        let fused = FusedSession::of(&encoder, &Device::flex()).unwrap();
        assert!(fused.left_out(&[0.0; 64], &[0]).is_none(), "one event leaves nothing out");
        assert!(fused.left_out(&[0.0; 128], &[0, 4]).is_none(), "an unknown event type");
        assert!(fused.left_out(&[0.0; 100], &[0, 1]).is_none(), "vectors of the wrong size");
        assert!(fused.left_out(&vec![0.0; 52 * 64], &[0; 52]).is_none(), "longer than the window");
    }
}

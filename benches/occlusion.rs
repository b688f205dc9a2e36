//! Explanation cost, the next step (group `flex/occlusion`): the leave-one-out session states
//! of a 50-event (and a 20-event) window, as `Ranker::occlusion` computes them today (burn, one
//! batch `[e, e − 1, d]` through `SessionEncoder::newest`), against a prototype that is not in
//! the library yet: a fused plain-f32 pass that computes the states every variant shares once.
//! Variant j (event j left out) equals the window without its newest event up to position j;
//! past it, every event sits one position earlier, and its first block's projections are the
//! same in every variant that holds it. So the first block runs for e²/2 tokens instead of e²,
//! the last block for the newest position only, and no tensor is allocated per operation.
//! Setup checks that both give the same states (within 1e-5) with the shipped Games weights.

use std::hint::black_box;
use std::path::Path;

use burn::tensor::{Int, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pocketrank::model::SessionEncoder;
use pocketrank::{Bundle, Ranker};
use rand::{Rng, SeedableRng};

fn data(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 weights")
}

fn data2(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 weights")
}

/// A linear layer: `w` is `[d_in, d_out]` (burn's layout), `b` is `[d_out]`.
struct Lin {
    w: Vec<f32>,
    b: Vec<f32>,
    dout: usize,
}

impl Lin {
    fn of(l: &burn::nn::Linear) -> Lin {
        let [_, dout] = l.weight.val().dims();
        Lin { w: data2(l.weight.val()), b: l.bias.as_ref().map(|b| data(b.val())).unwrap_or(vec![0.0; dout]), dout }
    }

    fn apply(&self, x: &[f32], out: &mut [f32]) {
        out.copy_from_slice(&self.b);
        for (i, &xi) in x.iter().enumerate() {
            let row = &self.w[i * self.dout..(i + 1) * self.dout];
            for (o, &w) in out.iter_mut().zip(row) {
                *o += xi * w;
            }
        }
    }
}

/// A layer norm; burn's default epsilon, which the session encoder's config keeps.
struct Norm {
    g: Vec<f32>,
    b: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn of(n: &burn::nn::LayerNorm) -> Norm {
        Norm { g: data(n.gamma.val()), b: n.beta.as_ref().map(|b| data(b.val())).expect("a bias"), eps: 1e-5 }
    }

    fn apply(&self, x: &[f32], out: &mut [f32]) {
        let n = x.len() as f32;
        let mean = x.iter().sum::<f32>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + self.eps).sqrt();
        for i in 0..x.len() {
            out[i] = (x[i] - mean) * inv * self.g[i] + self.b[i];
        }
    }
}

/// A pre-norm transformer block: attention after `n_att`, the feed-forward after `n_ff`.
struct Block {
    q: Lin,
    k: Lin,
    v: Lin,
    o: Lin,
    inner: Lin,
    outer: Lin,
    n_att: Norm,
    n_ff: Norm,
}

/// GELU, exact (erf), as burn's.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x / std::f32::consts::SQRT_2))
}

/// Width, heads and head width of the shipped session encoder (checked in `Fused::of`).
const D: usize = 64;
const H: usize = 2;
const DK: usize = 32;

/// One query attending over rows of keys and values, head by head: writes the context `[D]`.
fn attend(q: &[f32], keys: &[&[f32]], values: &[&[f32]], ctx: &mut [f32], scores: &mut Vec<f32>) {
    let scale = 1.0 / (DK as f32).sqrt();
    for h in 0..H {
        let r = h * DK..(h + 1) * DK;
        scores.clear();
        let mut m = f32::NEG_INFINITY;
        for k in keys {
            let s: f32 = q[r.clone()].iter().zip(&k[r.clone()]).map(|(a, b)| a * b).sum::<f32>() * scale;
            m = m.max(s);
            scores.push(s);
        }
        let mut z = 0.0;
        for s in scores.iter_mut() {
            *s = (*s - m).exp();
            z += *s;
        }
        let c = &mut ctx[r.clone()];
        c.iter_mut().for_each(|x| *x = 0.0);
        for (s, v) in scores.iter().zip(values) {
            let p = s / z;
            for (cc, vv) in c.iter_mut().zip(&v[r.clone()]) {
                *cc += p * vv;
            }
        }
    }
}

/// The rest of a pre-norm block for one token after attention: writes its output to `out`.
fn finish(b: &Block, x: &[f32], ctx: &[f32], out: &mut [f32]) {
    let mut att = [0.0; D];
    b.o.apply(ctx, &mut att);
    let mut y = [0.0; D];
    for i in 0..D {
        y[i] = x[i] + att[i];
    }
    let mut n = [0.0; D];
    b.n_ff.apply(&y, &mut n);
    let mut hid = vec![0.0; b.inner.dout];
    b.inner.apply(&n, &mut hid);
    hid.iter_mut().for_each(|h| *h = gelu(*h));
    let mut f = [0.0; D];
    b.outer.apply(&hid, &mut f);
    for i in 0..D {
        out[i] = y[i] + f[i];
    }
}

/// One token of a block: its input and the attention's projections of its normed input.
struct Tok {
    x: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
}

fn project(b: &Block, x: Vec<f32>) -> Tok {
    let mut n = vec![0.0; D];
    b.n_att.apply(&x, &mut n);
    let (mut q, mut k, mut v) = (vec![0.0; D], vec![0.0; D], vec![0.0; D]);
    b.q.apply(&n, &mut q);
    b.k.apply(&n, &mut k);
    b.v.apply(&n, &mut v);
    Tok { x, q, k, v }
}

/// The shipped session encoder's weights as plain f32 (2 pre-norm blocks, d = 64, 2 heads).
struct Fused {
    blocks: Vec<Block>,
    last_norm: Norm,
    types: Vec<f32>,
    positions: Vec<f32>,
    max: usize,
}

impl Fused {
    fn of(enc: &SessionEncoder) -> Fused {
        assert!(enc.transformer.layers.iter().all(|l| l.norm_first) && enc.transformer.layers.len() == 2 && enc.transformer.n_heads == H);
        let blocks = enc
            .transformer
            .layers
            .iter()
            .map(|l| Block { q: Lin::of(&l.mha.query), k: Lin::of(&l.mha.key), v: Lin::of(&l.mha.value), o: Lin::of(&l.mha.output), inner: Lin::of(&l.pwff.linear_inner), outer: Lin::of(&l.pwff.linear_outer), n_att: Norm::of(&l.norm_2), n_ff: Norm::of(&l.norm_1) })
            .collect();
        Fused { blocks, last_norm: Norm::of(&enc.norm), types: data2(enc.type_embedding.weight.val()), positions: data2(enc.position_embedding.weight.val()), max: enc.max_events }
    }

    /// `[e · d]`: the state of each window with one of its e ≥ 2 events left out.
    fn left_out(&self, items: &[f32], types: &[usize]) -> Vec<f32> {
        let e = types.len();
        let l = e - 1;
        let p0 = self.max - l;
        let input = |ev: usize, pos: usize| -> Vec<f32> { (0..D).map(|c| items[ev * D + c] + self.types[types[ev] * D + c] + self.positions[pos * D + c]).collect() };
        let (b1, b2) = (&self.blocks[0], &self.blocks[1]);
        let mut scores = Vec::with_capacity(e);
        // Event i at position p0 + i (the shared prefix) and at p0 + i − 1 (after a left-out event).
        let un: Vec<Tok> = (0..l).map(|i| project(b1, input(i, p0 + i))).collect();
        let sh: Vec<Option<Tok>> = (0..e).map(|i| if i == 0 { None } else { Some(project(b1, input(i, p0 + i - 1))) }).collect();
        let mut ctx = [0.0; D];
        let mut prefix: Vec<Tok> = Vec::with_capacity(l);
        for t in 0..l {
            let keys: Vec<&[f32]> = un[..=t].iter().map(|k| k.k.as_slice()).collect();
            let vals: Vec<&[f32]> = un[..=t].iter().map(|k| k.v.as_slice()).collect();
            attend(&un[t].q, &keys, &vals, &mut ctx, &mut scores);
            let mut out = vec![0.0; D];
            finish(b1, &un[t].x, &ctx, &mut out);
            prefix.push(project(b2, out));
        }
        let mut states = vec![0.0; e * D];
        for j in 0..e {
            let mut suffix: Vec<Tok> = Vec::with_capacity(l - j);
            let mut keys: Vec<&[f32]> = un[..j].iter().map(|k| k.k.as_slice()).collect();
            let mut vals: Vec<&[f32]> = un[..j].iter().map(|k| k.v.as_slice()).collect();
            for t in j..l {
                let tok = sh[t + 1].as_ref().expect("shifted from event 1");
                keys.push(tok.k.as_slice());
                vals.push(tok.v.as_slice());
                attend(&tok.q, &keys, &vals, &mut ctx, &mut scores);
                let mut out = vec![0.0; D];
                finish(b1, &tok.x, &ctx, &mut out);
                suffix.push(project(b2, out));
            }
            // The last block for the newest position only.
            let newest = suffix.last().unwrap_or_else(|| prefix.last().expect("e ≥ 2"));
            let keys: Vec<&[f32]> = prefix[..j].iter().chain(suffix.iter()).map(|k| k.k.as_slice()).collect();
            let vals: Vec<&[f32]> = prefix[..j].iter().chain(suffix.iter()).map(|k| k.v.as_slice()).collect();
            attend(&newest.q, &keys, &vals, &mut ctx, &mut scores);
            let mut out = vec![0.0; D];
            finish(b2, &newest.x, &ctx, &mut out);
            self.last_norm.apply(&out, &mut states[j * D..(j + 1) * D]);
        }
        states
    }
}

/// What `Ranker::left_out_states` runs: the batch of every window without one event.
fn burn_left_out(enc: &SessionEncoder, device: &burn::tensor::Device, items: &[f32], types: &[usize]) -> Vec<f32> {
    let e = types.len();
    let l = e - 1;
    let mut batch = Vec::with_capacity(e * l * D);
    let mut kinds = Vec::with_capacity(e * l);
    for i in 0..e {
        for j in (0..e).filter(|&j| j != i) {
            batch.extend_from_slice(&items[j * D..(j + 1) * D]);
            kinds.push(types[j] as i64);
        }
    }
    let items = Tensor::<3>::from_data(TensorData::new(batch, [e, l, D]), device);
    let kinds = Tensor::<2, Int>::from_data(TensorData::new(kinds, [e, l]), device);
    enc.newest(items, kinds).into_data().try_to_vec::<f32>().expect("f32 states")
}

fn occlusion(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("models/games/model.bundle")).expect("shipped model");
    let ranker = Ranker::from_bundle(&Bundle::from_bytes(&bytes).expect("bundle"), burn::tensor::Device::flex()).expect("loads");
    let enc = &ranker.model().session;
    let fused = Fused::of(enc);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut group = c.benchmark_group("flex/occlusion");
    for e in [20usize, 50] {
        let items: Vec<f32> = (0..e * D).map(|_| rng.random_range(-2.0..2.0)).collect();
        let types: Vec<usize> = (0..e).map(|_| rng.random_range(0..4)).collect();
        let reference = burn_left_out(enc, ranker.device(), &items, &types);
        let gap = fused.left_out(&items, &types).iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(gap < 1e-5, "the fused pass differs from burn's by {gap}");
        group.bench_with_input(BenchmarkId::from_parameter(format!("burn-batched-{e}ev")), &e, |b, _| b.iter(|| black_box(burn_left_out(enc, ranker.device(), black_box(&items), &types))));
        group.bench_with_input(BenchmarkId::from_parameter(format!("fused-prefix-{e}ev")), &e, |b, _| b.iter(|| black_box(fused.left_out(black_box(&items), &types))));
    }
    group.finish();
}

criterion_group!(benches, occlusion);
criterion_main!(benches);

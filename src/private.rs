//! Opt-in private aggregate updates: what a shopper may choose to share instead of clicks.
//!
//! Mechanism (Gaussian mechanism, one release): the change of the head's shareable part (its
//! bias and server weights, d + 2 numbers) from the shipped head, Δ = θ − θ₀, is clipped to L2
//! norm C, then each coordinate gets independent noise N(0, σ²). Clipping bounds one shopper's
//! influence (L2 sensitivity C). σ is the analytic Gaussian mechanism's (Balle & Wang, ICML
//! 2018, Theorem 8): the smallest σ with Φ(C/2σ − εσ/C) − e^ε·Φ(−C/2σ − εσ/C) ≤ δ, which makes
//! the release (ε, δ)-differentially private for every ε > 0 (the classical
//! σ = C·√(2 ln(1.25/δ))/ε holds for ε < 1 only, and is larger). Averaging n releases shrinks
//! the noise by √n, so the aggregate learns what many shoppers share while no single update
//! reveals much about its owner.
//!
//! Libraries looked at: OpenDP and Google's differential-privacy library implement the
//! analytic calibration, but neither builds for wasm32 without a C++ or large Rust tree; the
//! calibration is a bisection over the standard normal CDF (`libm::erfc`).

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Privacy settings of one release.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyParams {
    /// L2 norm the update is clipped to.
    pub clip: f32,
    /// ε, in (0, 100].
    pub epsilon: f64,
    /// δ, in (0, 1).
    pub delta: f64,
}

impl PrivacyParams {
    /// Check the ranges the mechanism's guarantee holds for.
    pub fn validate(&self, path: &str) -> Result<()> {
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return Err(Error::invalid(format!("{path}.clip"), "must be a positive number"));
        }
        if !(self.epsilon > 0.0 && self.epsilon <= MAX_EPSILON) {
            return Err(Error::invalid(format!("{path}.epsilon"), format!("must be in (0, {MAX_EPSILON}]")));
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(Error::invalid(format!("{path}.delta"), "must be in (0, 1)"));
        }
        // The released values are f32: a noise scale beyond f32's range would release
        // ±Infinity, which tells nothing and breaks every average it enters.
        if !(self.sigma().is_finite() && self.sigma() <= 1e30) {
            return Err(Error::invalid(path, "the noise scale for this clip, epsilon and delta is too large to release as 32-bit floats; raise epsilon or lower clip"));
        }
        Ok(())
    }

    /// Noise standard deviation: the analytic Gaussian mechanism's σ for sensitivity `clip`.
    pub fn sigma(&self) -> f64 {
        self.clip as f64 * unit_sigma(self.epsilon, self.delta)
    }
}

/// The largest ε accepted: beyond it the noise is negligible and the guarantee says little.
pub const MAX_EPSILON: f64 = 100.0;

/// Standard normal CDF.
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// δ that noise σ gives at ε for sensitivity 1 (Balle & Wang 2018, Theorem 8).
pub fn delta_at(sigma: f64, epsilon: f64) -> f64 {
    let (a, b) = (0.5 / sigma, epsilon * sigma);
    phi(a - b) - epsilon.exp() * phi(-a - b)
}

/// The smallest σ (sensitivity 1) whose δ at ε is at most `delta`: bisection, δ falling in σ.
fn unit_sigma(epsilon: f64, delta: f64) -> f64 {
    if !(epsilon > 0.0 && delta > 0.0 && delta < 1.0) {
        return f64::INFINITY;
    }
    let (mut low, mut high) = (1e-6, 1.0);
    while delta_at(high, epsilon) > delta {
        high *= 2.0;
        if high > 1e300 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if delta_at(mid, epsilon) > delta { low = mid } else { high = mid }
    }
    high
}

/// One shopper's released update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivateUpdate {
    /// Always `"gaussian"`.
    pub mechanism: String,
    /// sha256 (hex) of the weights the update is relative to.
    pub model: String,
    /// The privacy settings it was released with.
    pub privacy: PrivacyParams,
    /// Clipped, noised head change (flat head layout).
    pub values: Vec<f32>,
}

/// Clip `delta` to `params.clip` and add Gaussian noise drawn from `rng`.
pub fn privatize(delta: &[f32], params: &PrivacyParams, rng: &mut StdRng) -> Result<Vec<f32>> {
    params.validate("privacy")?;
    let scale = crate::learn::clip_factor(delta, params.clip);
    let noise = Normal::new(0.0, params.sigma()).map_err(|e| Error::invalid("privacy", e))?;
    Ok(delta.iter().map(|x| x * scale + noise.sample(rng) as f32).collect())
}

/// A generator seeded from the operating system (the browser's crypto in wasm).
pub fn os_seeded_rng() -> Result<StdRng> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::model(format!("no randomness source: {e}")))?;
    Ok(StdRng::from_seed(seed))
}

/// Mean of several updates' values; all must be relative to `model` and of equal length.
pub fn average(updates: &[PrivateUpdate], model: &str) -> Result<Vec<f32>> {
    if let Some(i) = updates.iter().position(|u| u.model != model) {
        return Err(Error::invalid(format!("updates[{i}].model"), "made for another model"));
    }
    mean(&updates.iter().map(|u| u.values.as_slice()).collect::<Vec<_>>(), "updates")
}

/// Coordinate-wise mean of equally long vectors (accumulated in f64); `path` names them in errors.
pub fn mean(vectors: &[&[f32]], path: &str) -> Result<Vec<f32>> {
    let first = vectors.first().ok_or_else(|| Error::invalid(path, "none given"))?;
    let n = first.len();
    let mut sum = vec![0f64; n];
    for (i, v) in vectors.iter().enumerate() {
        if v.len() != n {
            return Err(Error::invalid(format!("{path}[{i}].values"), format!("{} values, expected {n}", v.len())));
        }
        sum.iter_mut().zip(v.iter()).for_each(|(s, x)| *s += *x as f64);
    }
    Ok(sum.into_iter().map(|s| (s / vectors.len() as f64) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_is_the_smallest_that_meets_delta_and_below_the_classical_one() {
        for (epsilon, delta) in [(0.5, 1e-5), (0.9, 1e-6), (1.0, 1e-6), (4.0, 1e-6), (8.0, 1e-6)] {
            let p = PrivacyParams { clip: 2.0, epsilon, delta };
            let unit = p.sigma() / 2.0;
            assert!(delta_at(unit, epsilon) <= delta * (1.0 + 1e-9), "ε {epsilon}: δ {} at σ", delta_at(unit, epsilon));
            assert!(delta_at(unit * 0.999, epsilon) > delta, "ε {epsilon}: a smaller σ would do");
            if epsilon < 1.0 {
                let classical = (2.0 * (1.25 / delta).ln()).sqrt() / epsilon;
                assert!(unit < classical, "ε {epsilon}: {unit} vs classical {classical}");
            }
        }
        // ε = 1, δ = 1e-5: σ ≈ 3.73, where the classical formula (outside its range) says 4.84.
        let s = PrivacyParams { clip: 1.0, epsilon: 1.0, delta: 1e-5 }.sigma();
        assert!((s - 3.73).abs() < 0.01, "{s}");
    }

    #[test]
    fn clipping_bounds_the_signal() {
        // σ scales with the clip (here σ ≈ 6.7e-4), so a clipped 100 stays within a few σ of 1e-3.
        let p = PrivacyParams { clip: 1e-3, epsilon: 0.999, delta: 0.999 };
        let mut rng = StdRng::seed_from_u64(1);
        let out = privatize(&[100.0, 0.0], &p, &mut rng).unwrap();
        assert_eq!(out.len(), 2);
        assert!((out[0] - 1e-3).abs() < 6.0 * p.sigma() as f32, "{out:?}");
        assert!(out[1].abs() < 6.0 * p.sigma() as f32, "{out:?}");
        let bad = PrivacyParams { epsilon: 200.0, ..p };
        assert_eq!(privatize(&[1.0], &bad, &mut rng).unwrap_err().to_string(), "privacy.epsilon: must be in (0, 100]");
    }
}

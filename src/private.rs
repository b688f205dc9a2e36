//! Opt-in private aggregate updates: what a shopper may choose to share instead of clicks.
//!
//! Mechanism (Gaussian mechanism, one release): the change of the head's shareable part (its
//! bias and server weights, d + 2 numbers) from the shipped head, Δ = θ − θ₀, is clipped to L2 norm C, then each coordinate gets independent
//! noise N(0, σ²) with σ = C·√(2·ln(1.25/δ))/ε. Clipping bounds one shopper's influence
//! (L2 sensitivity C), so the release is (ε, δ)-differentially private for ε < 1 (Dwork &
//! Roth, Theorem 3.22). Averaging n releases shrinks the noise by √n, so the aggregate learns
//! what many shoppers share while no single update reveals much about its owner.

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
    /// ε, in (0, 1).
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
        if !(self.epsilon > 0.0 && self.epsilon < 1.0) {
            return Err(Error::invalid(format!("{path}.epsilon"), "must be in (0, 1) for the Gaussian mechanism's guarantee"));
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(Error::invalid(format!("{path}.delta"), "must be in (0, 1)"));
        }
        // The released values are f32: a noise scale beyond f32's range would release
        // ±Infinity, which tells nothing and breaks every average it enters.
        if !(self.sigma().is_finite() && self.sigma() <= 1e30) {
            return Err(Error::invalid(path, "the noise scale clip·√(2 ln(1.25/δ))/ε is too large to release as 32-bit floats; raise epsilon or lower clip"));
        }
        Ok(())
    }

    /// Noise standard deviation σ = C·√(2·ln(1.25/δ))/ε.
    pub fn sigma(&self) -> f64 {
        self.clip as f64 * (2.0 * (1.25 / self.delta).ln()).sqrt() / self.epsilon
    }
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
    let norm = delta.iter().map(|x| x * x).sum::<f32>().sqrt();
    let scale = if norm > params.clip { params.clip / norm } else { 1.0 };
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
    let first = updates.first().ok_or_else(|| Error::invalid("updates", "none given"))?;
    let n = first.values.len();
    let mut sum = vec![0f64; n];
    for (i, u) in updates.iter().enumerate() {
        if u.model != model {
            return Err(Error::invalid(format!("updates[{i}].model"), "made for another model"));
        }
        if u.values.len() != n {
            return Err(Error::invalid(format!("updates[{i}].values"), format!("{} values, expected {n}", u.values.len())));
        }
        sum.iter_mut().zip(&u.values).for_each(|(s, v)| *s += *v as f64);
    }
    Ok(sum.into_iter().map(|s| (s / updates.len() as f64) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_matches_the_formula() {
        let p = PrivacyParams { clip: 1.0, epsilon: 0.5, delta: 1e-5 };
        let expected = (2.0f64 * (1.25e5f64).ln()).sqrt() / 0.5;
        assert!((p.sigma() - expected).abs() < 1e-12);
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
        let bad = PrivacyParams { epsilon: 2.0, ..p };
        assert_eq!(privatize(&[1.0], &bad, &mut rng).unwrap_err().to_string(), "privacy.epsilon: must be in (0, 1) for the Gaussian mechanism's guarantee");
    }
}

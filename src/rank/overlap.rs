//! How far a page is from the server's order: rank-biased overlap (Webber, Moffat, Zobel
//! 2010), which the ordering stage's overlap floor keeps and the consistency sweep reports, and
//! Kendall's τ. Both compare a ranking of server positions with the identity order.

/// The persistence p of the rank-biased overlap the floor and the reports use: a shopper's
/// attention at depth d weighs p^(d−1), so the first 10 places carry 65 % of it.
pub const RBO_PERSISTENCE: f64 = 0.9;

/// Extrapolated rank-biased overlap (RBO_EXT) of `ranking` with the identity order 0..n, for
/// two orderings of the same n items: 1 when equal.
pub fn rbo_with_identity(ranking: &[usize], p: f64) -> f64 {
    let n = ranking.len();
    if n == 0 {
        return 1.0;
    }
    let mut seen = vec![0u8; n];
    let mut overlap = 0usize;
    let mut sum = 0.0;
    let mut weight = 1.0;
    for (depth, &item) in ranking.iter().enumerate() {
        // Depth d = depth + 1 adds `item` to one prefix and `depth` to the other.
        for x in [item, depth] {
            if let Some(s) = seen.get_mut(x) {
                *s = s.saturating_add(1);
                if *s == 2 {
                    overlap = overlap.saturating_add(1);
                }
            }
        }
        weight *= p;
        sum += weight * overlap as f64 / (depth as f64 + 1.0);
    }
    // X_k / k · p^k + (1 − p)/p · Σ_d X_d / d · p^d, with X_k = k (same items).
    weight + (1.0 - p) / p * sum
}

/// Kendall's τ of `ranking` against the identity order (no ties): 1 when equal, −1 reversed.
pub fn kendall_tau_with_identity(ranking: &[usize]) -> f64 {
    let n = ranking.len();
    if n < 2 {
        return 1.0;
    }
    let later = |i: usize| ranking.get(i.saturating_add(1)..).unwrap_or(&[]);
    let discordant = ranking.iter().enumerate().map(|(i, &a)| later(i).iter().filter(|&&b| a > b).count()).fold(0usize, usize::saturating_add);
    let pairs = n as f64 * (n as f64 - 1.0) / 2.0;
    1.0 - 2.0 * discordant as f64 / pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbo_and_tau_by_hand() {
        assert_eq!(rbo_with_identity(&[0, 1, 2, 3], 0.9), 1.0);
        assert_eq!(kendall_tau_with_identity(&[0, 1, 2, 3]), 1.0);
        assert_eq!(kendall_tau_with_identity(&[3, 2, 1, 0]), -1.0);
        // One adjacent swap of 4: 1 discordant pair of 6.
        assert!((kendall_tau_with_identity(&[1, 0, 2, 3]) - (1.0 - 2.0 / 6.0)).abs() < 1e-12);
        // [1, 0]: X_1 = 0, X_2 = 2 → p² + (1 − p)/p · (0 + p² · 2/2) = p² + (1 − p)·p.
        let p = 0.9;
        assert!((rbo_with_identity(&[1, 0], p) - (p * p + (1.0 - p) * p)).abs() < 1e-12);
        assert!(rbo_with_identity(&[3, 2, 1, 0], p) < rbo_with_identity(&[0, 1, 3, 2], p));
    }
}

//! The one grid search for a weight chosen on validation.

/// The value of `grid` with the highest `score`, and that score; the first of equals wins
/// (grids run from the simplest setting up, so a tie keeps the simpler one). An empty grid
/// gives `(default, f64::MIN)`.
pub fn best<W: Copy + Default>(grid: impl IntoIterator<Item = W>, mut score: impl FnMut(W) -> f64) -> (W, f64) {
    grid.into_iter().map(|w| (w, score(w))).fold((W::default(), f64::MIN), |best, x| if x.1 > best.1 { x } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_of_equals_wins() {
        assert_eq!(best([0.0, 1.0, 2.0, 3.0], |w: f64| -(w - 1.5f64).abs()), (1.0, -0.5));
        assert_eq!(best([3, 1, 2], |w| f64::from(w % 2)), (3, 1.0));
        assert_eq!(best(std::iter::empty::<u8>(), |_| 0.0), (0, f64::MIN));
    }
}

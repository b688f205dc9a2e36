//! Session encoder: a causal transformer over the shopper's recent events.

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::attention::MhaInput;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

/// Number of event types (view, click, cart, purchase).
pub const EVENT_TYPES: usize = 4;

/// Configuration of [`SessionEncoder`].
#[derive(Config, Debug)]
pub struct SessionEncoderConfig {
    /// Width of the item vectors and the hidden state.
    #[config(default = 64)]
    pub d_model: usize,
    /// Attention heads.
    #[config(default = 2)]
    pub n_heads: usize,
    /// Transformer blocks.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Width of the feed-forward layer.
    #[config(default = 128)]
    pub d_ff: usize,
    /// Events in the window; older ones are dropped.
    #[config(default = 50)]
    pub max_events: usize,
    /// Dropout while training.
    #[config(default = 0.2)]
    pub dropout: f64,
}

/// Event window → one hidden state per position (causal: position i sees events ≤ i).
#[derive(Module, Debug)]
pub struct SessionEncoder {
    /// `[EVENT_TYPES, d_model]`, zero at start so an untrained type adds nothing.
    pub type_embedding: Embedding,
    /// `[max_events, d_model]`, absolute positions in a left-padded window.
    pub position_embedding: Embedding,
    /// Causal pre-norm transformer.
    pub transformer: TransformerEncoder,
    /// Final normalisation of the hidden states.
    pub norm: LayerNorm,
    /// Window length the positions were trained for.
    pub max_events: usize,
}

impl SessionEncoderConfig {
    /// Build with random weights (the device carries the seed).
    pub fn init(&self, device: &Device) -> SessionEncoder {
        SessionEncoder {
            type_embedding: EmbeddingConfig::new(EVENT_TYPES, self.d_model)
                .with_initializer(Initializer::Zeros)
                .init(device),
            position_embedding: EmbeddingConfig::new(self.max_events, self.d_model)
                .with_initializer(Initializer::Normal { mean: 0.0, std: 0.1 })
                .init(device),
            transformer: TransformerEncoderConfig::new(self.d_model, self.d_ff, self.n_heads, self.n_layers)
                .with_dropout(self.dropout)
                .with_norm_first(true)
                .init(device),
            norm: LayerNormConfig::new(self.d_model).init(device),
            max_events: self.max_events,
        }
    }
}

impl SessionEncoder {
    /// Encode left-padded windows of `l ≤ max_events` events. The newest event always sits at
    /// the last trained position, so a window cut to a batch's longest history (training
    /// buckets users by length) reads the same as the full window with more padding.
    ///
    /// - `items`: `[b, l, d]` item vectors (anything at padded positions)
    /// - `types`: `[b, l]` event type ids
    /// - `padding`: `[b, l]`, true where the position is padding
    /// - returns `[b, l, d]`
    pub fn forward(&self, items: Tensor<3>, types: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<3> {
        let [batch, length, _] = items.dims();
        let device = items.device();
        let first = self.max_events.saturating_sub(length) as i64;
        let positions = Tensor::<1, Int>::arange(first..first + length as i64, &device)
            .reshape([1, length])
            .expand([batch, length]); // [b, l]
        let x = items + self.type_embedding.forward(types) + self.position_embedding.forward(positions); // [b, l, d]
        let causal = Tensor::<2, Bool>::tril_mask([length, length], 0, &device).expand([batch, length, length]);
        let input = TransformerEncoderInput::new(x).mask_pad(padding).mask_attn(causal);
        self.norm.forward(self.transformer.forward(input)) // [b, l, d]
    }

    /// The state after the newest event of each of `b` full windows (no padding): what
    /// scoring reads, `[b, d]`, equal to the last position of [`SessionEncoder::forward`]. The
    /// blocks run one by one and the last one for the newest position only: its keys and
    /// values still come from every event, but its query, output projection and feed-forward
    /// (three quarters of a block's multiply-adds) run for one position instead of `l`.
    ///
    /// - `items`: `[b, l, d]`, `types`: `[b, l]`
    pub fn newest(&self, items: Tensor<3>, types: Tensor<2, Int>) -> Tensor<2> {
        let [batch, length, d] = items.dims();
        let device = items.device();
        let first = self.max_events.saturating_sub(length) as i64;
        let positions = Tensor::<1, Int>::arange(first..first + length as i64, &device).reshape([1, length]).expand([batch, length]);
        let mut x = items + self.type_embedding.forward(types) + self.position_embedding.forward(positions);
        let causal = Tensor::<2, Bool>::tril_mask([length, length], 0, &device).expand([batch, length, length]);
        let newest = length.saturating_sub(1)..length;
        let Some((last, before)) = self.transformer.layers.split_last() else {
            return self.norm.forward(x.slice([0..batch, newest, 0..d])).reshape([batch, d]);
        };
        for layer in before {
            x = layer.forward(x, None, Some(causal.clone()));
        }
        // `TransformerEncoderLayer::forward` for the newest position (pre-norm: the config sets
        // norm_first; dropout is off outside training). It sees every event, so no mask.
        let normed = if last.norm_first { last.norm_2.forward(x.clone()) } else { x.clone() };
        let query = normed.clone().slice([0..batch, newest.clone(), 0..d]);
        let context = last.mha.forward(MhaInput::new(query, normed.clone(), normed)).context; // [b, 1, d]
        let mut y = x.slice([0..batch, newest, 0..d]) + context;
        let feed = if last.norm_first {
            last.norm_1.forward(y.clone())
        } else {
            y = last.norm_1.forward(y);
            y.clone()
        };
        let mut y = y + last.pwff.forward(feed);
        if !last.norm_first {
            y = last.norm_2.forward(y);
        }
        self.norm.forward(y).reshape([batch, d])
    }

    /// The state after the newest event of each window of `items` (`[e, d]` item vectors,
    /// row-major) and `types` (event type ids) with one of its e ≥ 2 events left out: the batch
    /// `[e, e − 1]` of those windows through [`SessionEncoder::newest`], `[e, d]`. What
    /// explanations read; `crate::model::FusedSession::left_out` computes the same faster.
    pub fn left_out(&self, items: &[f32], types: &[usize], device: &Device) -> Tensor<2> {
        let e = types.len();
        let d = items.len().checked_div(e).unwrap_or(0).max(1);
        let l = e.saturating_sub(1);
        let mut batch = Vec::with_capacity(e * l * d);
        let mut kinds = Vec::with_capacity(e * l);
        for i in 0..e {
            for (j, (row, &kind)) in items.chunks_exact(d).zip(types).enumerate() {
                if j != i {
                    batch.extend_from_slice(row);
                    kinds.push(kind as i64);
                }
            }
        }
        let items = Tensor::<3>::from_data(TensorData::new(batch, [e, l, d]), device);
        let kinds = Tensor::<2, Int>::from_data(TensorData::new(kinds, [e, l]), device);
        self.newest(items, kinds)
    }

    /// The attention weights of the last block from the newest event to every event of one
    /// window, averaged over heads: the blocks of [`TransformerEncoder::forward`] run one by
    /// one, the last one's attention read out (burn's encoder returns only the states).
    ///
    /// - `items`: `[1, l, d]`, `types`: `[1, l]`
    /// - returns `[l]`
    pub fn last_attention(&self, items: Tensor<3>, types: Tensor<2, Int>) -> Tensor<1> {
        let [_, length, _] = items.dims();
        let device = items.device();
        let first = self.max_events.saturating_sub(length) as i64;
        let positions = Tensor::<1, Int>::arange(first..first + length as i64, &device).reshape([1, length]);
        let mut x = items + self.type_embedding.forward(types) + self.position_embedding.forward(positions);
        let causal = Tensor::<2, Bool>::tril_mask([length, length], 0, &device).reshape([1, length, length]);
        let Some((last, before)) = self.transformer.layers.split_last() else { return Tensor::zeros([length], &device) };
        for layer in before {
            x = layer.forward(x, None, Some(causal.clone()));
        }
        // Pre-norm blocks (the config sets norm_first): attention reads the normalised input.
        let input = if last.norm_first { last.norm_2.forward(x) } else { x };
        let weights = last.mha.forward(MhaInput::self_attn(input).mask_attn(causal)).weights; // [1, h, l, l]
        let [_, heads, _, _] = weights.dims();
        weights.slice([0..1, 0..heads, length.saturating_sub(1)..length, 0..length]).mean_dim(1).reshape([length])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn newest_is_the_last_position_of_forward() {
        let device = Device::flex();
        let encoder = SessionEncoderConfig::new().with_dropout(0.0).init(&device);
        for (batch, length) in [(1, 1), (1, 7), (5, 49), (3, 50)] {
            let items = Tensor::<3>::random([batch, length, 64], Distribution::Normal(0.0, 1.0), &device);
            let types = Tensor::<2, Int>::from_data(TensorData::new((0..batch * length).map(|i| (i % 4) as i64).collect::<Vec<_>>(), [batch, length]), &device);
            let padding = Tensor::<2, Bool>::from_data(TensorData::new(vec![false; batch * length], [batch, length]), &device);
            let full = encoder.forward(items.clone(), types.clone(), padding).slice([0..batch, length - 1..length, 0..64]).reshape([batch, 64]);
            let newest = encoder.newest(items, types);
            let gap: f32 = (full - newest).abs().max().into_scalar();
            assert!(gap < 1e-5, "batch {batch}, length {length}: {gap}");
        }
    }
}

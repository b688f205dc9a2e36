//! burn modules only: item encoder, session encoder, head. No I/O, no tokenizer, no JS.

mod head;
mod item;
mod session;

pub use head::{Head, HeadConfig};
pub use item::{ItemEncoder, ItemEncoderConfig};
pub use session::{EVENT_TYPES, SessionEncoder, SessionEncoderConfig};

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Device;

/// The whole re-ranker's architecture; written as `config.json` in every bundle.
#[derive(Config, Debug)]
pub struct ModelConfig {
    /// Item encoder.
    pub item: ItemEncoderConfig,
    /// Session encoder.
    pub session: SessionEncoderConfig,
    /// Scoring head.
    pub head: HeadConfig,
}

/// The re-ranker.
#[derive(Module, Debug)]
pub struct Model {
    /// Item vectors from IDs and titles.
    pub item: ItemEncoder,
    /// Hidden state of the session.
    pub session: SessionEncoder,
    /// Candidate scores.
    pub head: Head,
}

impl ModelConfig {
    /// A model of `n_items` catalog items, a `vocab_size` tokenizer, width `d_model` and
    /// `title_tokens` tokens per title; other sizes at their defaults.
    pub fn sized(n_items: usize, vocab_size: usize, d_model: usize, title_tokens: usize) -> Self {
        ModelConfig::new(
            ItemEncoderConfig::new(n_items, vocab_size).with_d_model(d_model).with_max_title_tokens(title_tokens),
            SessionEncoderConfig::new().with_d_model(d_model),
            HeadConfig::new().with_d_model(d_model),
        )
    }

    /// Build with random weights.
    pub fn init(&self, device: &Device) -> Model {
        Model {
            item: self.item.init(device),
            session: self.session.init(device),
            head: self.head.init(device),
        }
    }
}

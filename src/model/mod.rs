//! burn modules only: item encoder, session encoder, head. No I/O, no tokenizer, no JS.
//!
//! The library denies `clippy::arithmetic_side_effects`; here it is allowed: the arithmetic is
//! tensor arithmetic (`Add` on tensors whose shapes this module builds) and sizes from a config
//! that `ModelConfig::problems` has range-checked before anything is built.
#![allow(clippy::arithmetic_side_effects)]

mod head;
mod item;
mod occlusion;
mod session;

pub use head::{Head, HeadConfig, HeadParams, scale};
pub use item::{ItemEncoder, ItemEncoderConfig};
pub use occlusion::FusedSession;
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

    /// Problems that would make building the model fail or exhaust memory, in words; a
    /// bundle's config is checked with this before anything is allocated.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let d = self.item.d_model;
        let mut check = |ok: bool, what: String| if !ok { out.push(what) };
        check((1..=1024).contains(&d), format!("item.d_model {d} is outside 1..=1024"));
        check(self.session.d_model == d && self.head.d_model == d, "session, head and item widths differ".into());
        check((1..=10_000_000).contains(&self.item.n_items), format!("item.n_items {} is outside 1..=10000000", self.item.n_items));
        check((1..=1_000_000).contains(&self.item.vocab_size), format!("item.vocab_size {} is outside 1..=1000000", self.item.vocab_size));
        check((1..=256).contains(&self.item.max_title_tokens), format!("item.max_title_tokens {} is outside 1..=256", self.item.max_title_tokens));
        check((1..=512).contains(&self.session.max_events), format!("session.max_events {} is outside 1..=512", self.session.max_events));
        check((1..=64).contains(&self.session.n_layers), format!("session.n_layers {} is outside 1..=64", self.session.n_layers));
        check((1..=8192).contains(&self.session.d_ff), format!("session.d_ff {} is outside 1..=8192", self.session.d_ff));
        check((0.0..1.0).contains(&self.session.dropout), format!("session.dropout {} is outside [0, 1)", self.session.dropout));
        check(self.head.repeat_log_odds.is_finite() && self.head.repeat_log_odds.abs() <= 1e3, format!("head.repeat_log_odds {} is not a finite number within ±1000", self.head.repeat_log_odds));
        check(self.session.n_heads >= 1 && d.is_multiple_of(self.session.n_heads.max(1)), format!("session.n_heads {} does not divide d_model {d}", self.session.n_heads));
        out
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

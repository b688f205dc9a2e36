#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod bundle;
pub mod error;
pub mod input;
pub mod learn;
pub mod model;
pub mod personalizer;
pub mod private;
pub mod quant;
pub mod rank;
pub mod state;
pub mod text;
pub mod transitions;

pub use bundle::Bundle;
pub use error::{Error, ErrorKind, Result};
pub use input::{Candidate, Event, EventKind, Ranked, RerankOptions};
pub use personalizer::Personalizer;
pub use rank::Ranker;

#[cfg(feature = "cli")]
pub mod convert;
#[cfg(feature = "cli")]
pub mod data;
#[cfg(feature = "cli")]
pub mod eval;
#[cfg(feature = "cli")]
pub mod train;

#[cfg(target_arch = "wasm32")]
mod wasm;

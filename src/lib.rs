#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod api;
pub mod backend;
pub mod bundle;
pub mod catalog;
pub mod error;
pub mod learn;
pub mod model;
pub mod personalizer;
pub mod private;
pub mod rank;
pub mod relations;
pub mod state;
pub mod text;

pub use api::{Candidate, Event, EventKind, Ranked, RerankOptions};
pub use bundle::Bundle;
pub use error::{Error, ErrorKind, Result};
pub use personalizer::Personalizer;
pub use rank::Ranker;

#[cfg(feature = "cli")]
pub mod offline;
#[cfg(feature = "cli")]
pub mod pipeline;
#[cfg(feature = "cli")]
pub mod train;

#[cfg(target_arch = "wasm32")]
mod wasm;

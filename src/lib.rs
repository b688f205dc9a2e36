#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
// No panics by construction in what runs in a shopper's browser: a panic aborts the wasm
// module and the shopper's state with it. Tests may unwrap; the native-only modules below
// (training, evaluation, the pipeline) are allowed to, since a panic there stops a command,
// not a page. CI runs clippy with these denied (test.sh).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects))]

pub mod api;
pub mod backend;
pub mod bundle;
pub mod catalog;
pub mod error;
#[doc(hidden)]
#[cfg(not(target_arch = "wasm32"))]
pub mod fuzzing;
pub mod learn;
pub mod model;
pub mod personalizer;
pub mod private;
pub mod profile;
pub mod rank;
pub mod relations;
pub mod state;
pub mod text;

pub use api::{Budget, Candidate, Complement, Event, EventCounts, EventKind, Limits, Ranked, RerankOptions, StateSummary};
pub use bundle::Bundle;
pub use error::{Error, ErrorKind, Result};
pub use personalizer::Personalizer;
pub use rank::Ranker;

#[cfg(feature = "cli")]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub mod offline;
#[cfg(feature = "cli")]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub mod pipeline;
#[cfg(feature = "cli")]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub mod train;

#[cfg(target_arch = "wasm32")]
mod wasm;

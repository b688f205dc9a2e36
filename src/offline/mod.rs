//! Offline work on real data (feature `cli`, never in the wasm build): data sets, other
//! catalogs converted to the shared format, the evaluation protocols, stand-in servers, and
//! the choice of weights on validation.

pub mod baskets;
pub mod beyond;
pub mod calibrate;
pub mod completion;
pub mod consistency;
pub mod convert;
pub mod data;
pub mod eval;
pub mod faithfulness;
pub mod fpgrowth;
pub mod population;
pub mod search;
pub mod servers;

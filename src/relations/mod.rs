//! Item-to-item knowledge shipped in the bundle beside the model: what shoppers took after
//! what (transitions). Each kind is an optional bundle part with its own module; the scoring
//! path reads them through [`Relations`].

pub mod transitions;

use crate::bundle::{Bundle, Part};
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use transitions::Transitions;

/// The relation tables a model ships with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relations {
    /// The pruned item-transition table, when the bundle carries one.
    pub transitions: Option<Transitions>,
}

impl Relations {
    /// Read the optional relation parts of `bundle` for a catalog of `rows` rows (items + 1),
    /// and check them against the weights `config` gives them.
    pub fn decode(bundle: &Bundle, config: &ModelConfig, rows: usize) -> Result<Relations> {
        let transitions = bundle.part(Part::Transitions).map(|bytes| Transitions::from_bytes(bytes, rows)).transpose()?;
        let weight = config.head.transition_weight;
        if !weight.is_finite() || (weight != 0.0 && transitions.is_none()) {
            return Err(Error::bundle(format!("config.json: head.transition_weight {weight} needs a finite value and the transitions.bin part")));
        }
        Ok(Relations { transitions })
    }

    /// Put these tables into `bundle` (replacing, or removing, what it had).
    pub fn write(&self, bundle: Bundle) -> Bundle {
        match &self.transitions {
            Some(table) => bundle.with(Part::Transitions, table.to_bytes()),
            None => bundle.without(Part::Transitions),
        }
    }
}

//! Item-to-item knowledge shipped in the bundle beside the model: what shoppers took after
//! what (transitions) and what they bought together (association rules). Each kind is an
//! optional bundle part with its own module; the scoring path reads them through [`Relations`].

pub mod rules;
pub mod transitions;

use crate::bundle::{Bundle, Part};
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use rules::Rules;
use transitions::Transitions;

/// The relation tables a model ships with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relations {
    /// The pruned item-transition table, when the bundle carries one.
    pub transitions: Option<Transitions>,
    /// The association rules, when the bundle carries them.
    pub rules: Option<Rules>,
}

impl Relations {
    /// Read the optional relation parts of `bundle` for its catalog (`catalog.txt`'s bytes,
    /// `rows` rows: items + 1), and check them against the weights `config` gives them.
    pub fn decode(bundle: &Bundle, config: &ModelConfig, catalog: &[u8], rows: usize) -> Result<Relations> {
        let transitions = bundle.part(Part::Transitions).map(|bytes| Transitions::from_bytes(bytes, rows)).transpose()?;
        let rules = bundle.part(Part::Rules).map(|bytes| Rules::from_bytes(bytes, catalog, rows)).transpose()?;
        for (name, weight, present, part) in [("transition_weight", config.head.transition_weight, transitions.is_some(), "transitions.bin"), ("rule_weight", config.head.rule_weight, rules.is_some(), "rules.bin")] {
            if !weight.is_finite() || (weight != 0.0 && !present) {
                return Err(Error::bundle(format!("config.json: head.{name} {weight} needs a finite value and the {part} part")));
            }
        }
        Ok(Relations { transitions, rules })
    }

    /// Put these tables into `bundle` (replacing, or removing, what it had).
    pub fn write(&self, bundle: Bundle) -> Bundle {
        let bundle = match &self.transitions {
            Some(table) => bundle.with(Part::Transitions, table.to_bytes()),
            None => bundle.without(Part::Transitions),
        };
        match &self.rules {
            Some(table) => bundle.with(Part::Rules, table.to_bytes()),
            None => bundle.without(Part::Rules),
        }
    }
}

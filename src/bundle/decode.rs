//! A verified bundle's parts turned into what scoring needs: the configuration (with its
//! migrations), the catalog, the tokenizer, the weights on a device, and the optional item
//! relations. Every part is checked against the configuration before anything is allocated.

use burn::tensor::Device;

use super::{Bundle, Part, quant};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::model::{Model, ModelConfig};
use crate::relations::Relations;
use crate::text::TitleTokenizer;

/// A bundle, decoded.
pub struct Decoded {
    /// The architecture and the head's fixed weights.
    pub config: ModelConfig,
    /// Item id ↔ ID-embedding row.
    pub catalog: Catalog,
    /// Titles → token ids.
    pub tokenizer: TitleTokenizer,
    /// The weights, for inference, on the device they were decoded for.
    pub model: Model,
    /// Item-to-item knowledge shipped with the model.
    pub relations: Relations,
    /// sha256 of what scores ([`Bundle::fingerprint`]).
    pub fingerprint: [u8; 32],
}

/// `config.json`, migrated to today's fields and range-checked.
///
/// Migrations: a config written before the transition or the rule term existed has no
/// `head.transition_weight` or `head.rule_weight`; each reads as 0.
pub fn read_config(bytes: &[u8]) -> Result<ModelConfig> {
    let mut config: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::bundle(format!("config.json: {e}")))?;
    if let Some(head) = config.get_mut("head").and_then(serde_json::Value::as_object_mut) {
        head.entry("transition_weight").or_insert(0.0.into());
        head.entry("rule_weight").or_insert(0.0.into());
    }
    let config: ModelConfig = serde_json::from_value(config).map_err(|e| Error::bundle(format!("config.json: {e}")))?;
    if let Some(problem) = config.problems().first() {
        return Err(Error::bundle(format!("config.json: {problem}")));
    }
    Ok(config)
}

/// Decode `bundle` with its weights on `device`.
pub fn decode(bundle: &Bundle, device: &Device) -> Result<Decoded> {
    let config = read_config(bundle.required(Part::Config)?)?;
    let tokenizer = TitleTokenizer::from_bytes(bundle.required(Part::Tokenizer)?, config.item.max_title_tokens)?;
    if tokenizer.vocab_size() > config.item.vocab_size || tokenizer.largest_id() >= config.item.vocab_size {
        return Err(Error::bundle(format!(
            "tokenizer has {} tokens with ids up to {}, the model's token table only {} rows",
            tokenizer.vocab_size(),
            tokenizer.largest_id(),
            config.item.vocab_size
        )));
    }
    let catalog_text = bundle.required(Part::Catalog)?;
    let catalog = Catalog::from_text(catalog_text)?;
    // Rows must stay inside the ID table.
    if catalog.len() != config.item.n_items {
        return Err(Error::bundle(format!("catalog.txt lists {} items; the model has {}", catalog.len(), config.item.n_items)));
    }
    let relations = Relations::decode(bundle, &config, catalog_text, catalog.len().saturating_add(1))?;
    let model = quant::unpack(&config, bundle.required(Part::Weights)?, bundle.part(Part::Quantized), device)?;
    Ok(Decoded { config, catalog, tokenizer, model, relations, fingerprint: bundle.fingerprint() })
}

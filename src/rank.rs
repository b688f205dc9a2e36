//! Scoring → re-ranked list. This is the one place where a session and server candidates
//! become scores; the CLI, the evaluation and the browser all call [`Ranker::rerank`].

use std::collections::HashMap;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bool, Bytes, Device, Int, Tensor, TensorData};

use crate::bundle::Bundle;
use crate::error::{Error, Result};
use crate::input::{Candidate, Event, Ranked, RerankOptions};
use crate::model::{Model, ModelConfig};
use crate::text::{TitleTokenizer, TokenBatch};

/// A loaded model with its tokenizer and catalog, ready to score.
pub struct Ranker {
    model: Model,
    config: ModelConfig,
    tokenizer: TitleTokenizer,
    /// Catalog item id → ID-embedding row (rows start at 1; 0 is "unknown").
    catalog: HashMap<String, usize>,
    device: Device,
}

/// The inputs of one item to the item encoder.
struct ItemInput<'a> {
    row: usize,
    title: &'a str,
}

impl Ranker {
    /// Load a verified bundle onto `device`.
    pub fn from_bundle(bundle: &Bundle, device: Device) -> Result<Ranker> {
        let config: ModelConfig = serde_json::from_slice(&bundle.config)
            .map_err(|e| Error::bundle(format!("config.json: {e}")))?;
        let tokenizer = TitleTokenizer::from_bytes(&bundle.tokenizer, config.item.max_title_tokens)?;
        if tokenizer.vocab_size() > config.item.vocab_size {
            return Err(Error::bundle(format!(
                "tokenizer has {} tokens, the model only {}",
                tokenizer.vocab_size(),
                config.item.vocab_size
            )));
        }
        let catalog_text = std::str::from_utf8(&bundle.catalog).map_err(|_| Error::bundle("catalog.txt is not UTF-8"))?;
        let catalog: HashMap<String, usize> =
            catalog_text.lines().enumerate().map(|(i, id)| (id.to_string(), i + 1)).collect();
        if catalog.len() != config.item.n_items {
            return Err(Error::bundle(format!(
                "catalog.txt lists {} distinct items, the model has {}",
                catalog.len(),
                config.item.n_items
            )));
        }
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bundle.weights.clone()))
            .map_err(|e| Error::bundle(format!("weights.bpk: {e}")))?;
        let model = config
            .init(&device)
            .try_load_record(record)
            .map_err(|e| Error::bundle(format!("weights.bpk does not fit the architecture: {e}")))?
            .valid();
        Ok(Ranker { model, config, tokenizer, catalog, device })
    }

    /// Wrap a model in memory (training validates with the same code path it ships).
    pub fn from_parts(model: Model, config: ModelConfig, tokenizer: TitleTokenizer, catalog: HashMap<String, usize>, device: Device) -> Ranker {
        Ranker { model: model.valid(), config, tokenizer, catalog, device }
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The model (read-only).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Whether `id` has a learned ID embedding.
    pub fn knows(&self, id: &str) -> bool {
        self.catalog.contains_key(id)
    }

    /// Number of events the session window holds.
    pub fn max_events(&self) -> usize {
        self.config.session.max_events
    }

    /// Re-rank `candidates` (in server order) for a session of `events` (oldest first).
    ///
    /// An empty session leaves only the server term, so the server's order is kept. Equal
    /// scores keep the server's order too.
    pub fn rerank(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<Vec<Ranked>> {
        let scores = self.score(events, candidates, options)?;
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        // Stable sort: ties stay in server order.
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        Ok(order
            .into_iter()
            .enumerate()
            .map(|(position, index)| Ranked {
                id: candidates[index].id.clone(),
                score: scores[index],
                rank: position + 1,
                server_rank: index + 1,
            })
            .collect())
    }

    /// Scores of `candidates`, in their given order.
    pub fn score(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<Vec<f32>> {
        let n = candidates.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let window = self.max_events();
        let events = &events[events.len().saturating_sub(window)..];
        let items: Vec<ItemInput> = events
            .iter()
            .map(|e| ItemInput { row: self.row(&e.item_id), title: e.title.as_deref().unwrap_or("") })
            .chain(candidates.iter().map(|c| ItemInput { row: self.row(&c.id), title: &c.title }))
            .collect();
        let vectors = self.encode_items(&items)?; // [e + n, d]
        let d = self.config.item.d_model;
        let e = events.len();
        let candidate_vectors = vectors.clone().slice([e..e + n, 0..d]); // [n, d]

        let server: Vec<f32> = candidates
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                let log_rank = if options.server_order { -((i + 1) as f32).ln() } else { 0.0 };
                [log_rank, c.server_score.unwrap_or(0.0) as f32]
            })
            .collect();
        let server = Tensor::<2>::from_data(TensorData::new(server, [n, 2]), &self.device);

        let head = &self.model.head;
        let scores = if e == 0 {
            // Nothing known about the shopper: no fit term, the server decides.
            head.trust(server)
        } else {
            let session = self.session_state(vectors.slice([0..e, 0..d]), events)?;
            head.fit(session, candidate_vectors) + head.trust(server)
        };
        scores
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| Error::model(format!("reading scores: {e:?}")))
    }

    fn row(&self, id: &str) -> usize {
        self.catalog.get(id).copied().unwrap_or(0)
    }

    /// `[m, d]` vectors of `items`.
    fn encode_items(&self, items: &[ItemInput]) -> Result<Tensor<2>> {
        let tokens = items.iter().map(|item| self.tokenizer.encode(item.title)).collect::<Result<Vec<_>>>()?;
        let batch = TokenBatch::pack(tokens.iter().map(Vec::as_slice), self.tokenizer.max_tokens());
        let m = items.len();
        let rows: Vec<i64> = items.iter().map(|item| item.row as i64).collect();
        let rows = Tensor::<1, Int>::from_data(TensorData::new(rows, [m]), &self.device);
        let token_ids = Tensor::<2, Int>::from_data(TensorData::new(batch.ids, [m, batch.width]), &self.device);
        let token_mask = Tensor::<2>::from_data(TensorData::new(batch.mask, [m, batch.width]), &self.device);
        Ok(self.model.item.forward(rows, token_ids, token_mask))
    }

    /// `[1, d]` session state after the newest of `events` (`vectors`: `[e, d]`).
    fn session_state(&self, vectors: Tensor<2>, events: &[Event]) -> Result<Tensor<2>> {
        let window = self.max_events();
        let d = self.config.item.d_model;
        let e = events.len();
        let pad = window - e;
        let items = Tensor::cat(vec![Tensor::<2>::zeros([pad, d], &self.device), vectors], 0).reshape([1, window, d]);
        let types: Vec<i64> = std::iter::repeat_n(0, pad).chain(events.iter().map(|ev| ev.kind.index() as i64)).collect();
        let types = Tensor::<2, Int>::from_data(TensorData::new(types, [1, window]), &self.device);
        let padding: Vec<bool> = (0..window).map(|i| i < pad).collect();
        let padding = Tensor::<2, Bool>::from_data(TensorData::new(padding, [1, window]), &self.device);
        let states = self.model.session.forward(items, types, padding); // [1, window, d]
        Ok(states.slice([0..1, window - 1..window, 0..d]).reshape([1, d]))
    }
}

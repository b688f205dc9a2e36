//! Scoring → re-ranked list. This is the one place where a session and server candidates
//! become scores; the CLI, the evaluation and the browser all call [`Ranker::rerank`].

use std::collections::HashMap;
use std::task::{Context, Poll, Waker};

use burn::module::{Module, Param};
use sha2::Digest;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::bundle::Bundle;
use crate::error::{Error, Result};
use crate::input::{Candidate, Event, Ranked, RerankOptions};
use crate::learn::{HeadParams, Slate};
use crate::model::{Model, ModelConfig};
use crate::text::{TitleTokenizer, TokenBatch};
use crate::transitions::Transitions;

/// A loaded model with its tokenizer and catalog, ready to score.
pub struct Ranker {
    model: Model,
    config: ModelConfig,
    tokenizer: TitleTokenizer,
    /// Catalog item id → ID-embedding row (rows start at 1; 0 is "unknown").
    catalog: HashMap<String, usize>,
    device: Device,
    /// sha256 of the weights (and transition table): personal state and private updates are
    /// tied to it.
    fingerprint: [u8; 32],
    /// The item-transition table, when the bundle carries one.
    transitions: Option<Transitions>,
}

/// Candidates encoded once ([`Ranker::encode_candidates`]).
pub struct EncodedCandidates {
    candidates: Vec<Candidate>,
    /// `[n, d]`; `None` when there are no candidates.
    vectors: Option<Tensor<2>>,
}

/// What the encoders make of one call's inputs.
struct Encoded {
    /// `[1, d]` state after the newest event; `None` for an empty session.
    session: Option<Tensor<2>>,
    /// `[n, d]` candidate vectors.
    candidates: Tensor<2>,
    /// `[n, 2]` server features, row-major: −ln(rank) (0 without server order), server score.
    server: Vec<f32>,
    /// `[n]` fixed score offsets (the repeat-purchase prior and the transition term), also as
    /// numbers for learning.
    offsets: Vec<f32>,
}

async fn read_floats<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    let failed = |e: &dyn std::fmt::Debug| Error::model(format!("reading a result back: {}", one_line(&format!("{e:?}"))));
    let data = tensor.into_data_async().await.map_err(|e| failed(&e))?;
    data.try_to_vec::<f32>().map_err(|e| failed(&e))
}

/// A backend's multi-line error report ("X / Caused by: / Y / Backtrace: ...") as "X: Y",
/// fit for a message a page shows or logs.
fn one_line(report: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in report.lines().map(str::trim) {
        if line.starts_with("Backtrace") || line.starts_with("No backtrace") {
            break;
        }
        if !line.is_empty() && line != "Caused by:" && parts.last() != Some(&line) {
            parts.push(line);
        }
    }
    parts.join(": ")
}

/// The result of a future that its backend completes at once (the CPU backends do). Lets the
/// native tools share the async scoring path instead of keeping a second, blocking copy; a
/// future that is still pending (a GPU readback) is an error, not a wait.
pub fn ready<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(Error::model("this backend answers asynchronously; use the async API")),
    }
}

/// The inputs of one item to the item encoder.
struct ItemInput<'a> {
    row: usize,
    title: &'a str,
}

impl Ranker {
    /// Load a verified bundle onto `device`.
    pub fn from_bundle(bundle: &Bundle, device: Device) -> Result<Ranker> {
        let mut config: serde_json::Value = serde_json::from_slice(&bundle.config).map_err(|e| Error::bundle(format!("config.json: {e}")))?;
        // Bundles written before the transition term existed have no weight for it: 0.
        if let Some(head) = config.get_mut("head").and_then(serde_json::Value::as_object_mut) {
            head.entry("transition_weight").or_insert(0.0.into());
        }
        let config: ModelConfig = serde_json::from_value(config).map_err(|e| Error::bundle(format!("config.json: {e}")))?;
        if let Some(problem) = config.problems().first() {
            return Err(Error::bundle(format!("config.json: {problem}")));
        }
        let tokenizer = TitleTokenizer::from_bytes(&bundle.tokenizer, config.item.max_title_tokens)?;
        if tokenizer.vocab_size() > config.item.vocab_size {
            return Err(Error::bundle(format!(
                "tokenizer has {} tokens, the model only {}",
                tokenizer.vocab_size(),
                config.item.vocab_size
            )));
        }
        let catalog_text = std::str::from_utf8(&bundle.catalog).map_err(|_| Error::bundle("catalog.txt is not UTF-8"))?;
        let lines = catalog_text.lines().count();
        let catalog: HashMap<String, usize> =
            catalog_text.lines().enumerate().map(|(i, id)| (id.to_string(), i + 1)).collect();
        // Rows must stay inside the ID table: as many distinct ids as lines as table rows.
        if catalog.len() != config.item.n_items || lines != catalog.len() {
            return Err(Error::bundle(format!(
                "catalog.txt lists {lines} lines, {} distinct items; the model has {}",
                catalog.len(),
                config.item.n_items
            )));
        }
        let transitions = bundle.transitions.as_deref().map(|bytes| Transitions::from_bytes(bytes, config.item.n_items + 1)).transpose()?;
        let weight = config.head.transition_weight;
        if !weight.is_finite() || (weight != 0.0 && transitions.is_none()) {
            return Err(Error::bundle(format!("config.json: head.transition_weight {weight} needs a finite value and the transitions.bin part")));
        }
        let model = crate::quant::unpack(&config, &bundle.weights, bundle.quantized.as_deref(), &device)?;
        let mut digest = sha2::Sha256::new();
        digest.update(&bundle.weights);
        if let Some(quantized) = &bundle.quantized {
            digest.update(quantized);
        }
        if let Some(table) = &bundle.transitions {
            digest.update(table);
        }
        let fingerprint = digest.finalize().into();
        Ok(Ranker { model, config, tokenizer, catalog, device, fingerprint, transitions })
    }

    /// Wrap a model in memory (training validates with the same code path it ships).
    pub fn from_parts(model: Model, config: ModelConfig, tokenizer: TitleTokenizer, catalog: HashMap<String, usize>, device: Device) -> Ranker {
        Ranker { model: model.valid(), config, tokenizer, catalog, device, fingerprint: [0; 32], transitions: None }
    }

    /// The item-transition table, when the bundle carries one.
    pub fn transitions(&self) -> Option<&Transitions> {
        self.transitions.as_ref()
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// sha256 of the weights this ranker was loaded from (zeros for an in-memory model).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// The title tokenizer.
    pub fn tokenizer(&self) -> &TitleTokenizer {
        &self.tokenizer
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
        Ok(self.rerank_slate(events, candidates, options)?.0)
    }

    /// [`Ranker::rerank`], plus what on-device learning needs to remember about the slate
    /// (`None` for an empty session or no candidates). The one path every front end takes.
    pub fn rerank_slate(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<(Vec<Ranked>, Option<Slate>)> {
        ready(self.rerank_slate_async(events, candidates, options))
    }

    /// Scores of `candidates`, in their given order.
    pub fn score(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<Vec<f32>> {
        Ok(self.score_slate(events, candidates, options)?.0)
    }

    /// Scores, plus what learning needs to remember about this slate. For backends that
    /// answer at once (the CPU); an accelerator needs [`Ranker::score_slate_async`].
    pub fn score_slate(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<(Vec<f32>, Option<Slate>)> {
        ready(self.score_slate_async(events, candidates, options))
    }

    /// [`Ranker::rerank_slate`] for any backend: a GPU reads its results back asynchronously.
    pub async fn rerank_slate_async(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<(Vec<Ranked>, Option<Slate>)> {
        let (scores, slate) = self.score_slate_async(events, candidates, options).await?;
        Ok((ranking(candidates, &scores), slate))
    }

    /// The one scoring path. Everything the caller needs back (scores, and for learning the
    /// candidate and session vectors) is packed into one tensor and read back once: on a GPU
    /// each readback is a round trip to the device.
    pub async fn score_slate_async(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<(Vec<f32>, Option<Slate>)> {
        let Some(encoded) = self.encode(events, candidates, options)? else { return Ok((Vec::new(), None)) };
        let scores = self.head_scores(&encoded);
        let Some(session) = encoded.session else {
            // An empty session scores by the server alone; there is nothing to learn from.
            return Ok((read_floats(scores).await?, None));
        };
        let (n, d) = (candidates.len(), self.config.item.d_model);
        let packed = Tensor::cat(vec![scores, encoded.candidates.reshape([n * d]), session.reshape([d])], 0);
        let mut values = read_floats(packed).await?;
        let session = values.split_off(n + n * d);
        let vectors = values.split_off(n);
        let slate = Slate { ids: candidates.iter().map(|c| c.id.clone()).collect(), vectors, server: encoded.server, offsets: encoded.offsets, session };
        Ok((values, Some(slate)))
    }

    /// The head's current parameters.
    pub fn head_params(&self) -> Result<HeadParams> {
        let head = &self.model.head;
        let bias = match &head.query.bias {
            Some(b) => ready(read_floats(b.val()))?,
            None => vec![0.0; self.config.item.d_model],
        };
        let server = ready(read_floats(head.server.val()))?;
        Ok(HeadParams {
            d: self.config.item.d_model,
            weight: ready(read_floats(head.query.weight.val()))?,
            bias,
            server: [server.first().copied().unwrap_or(0.0), server.get(1).copied().unwrap_or(0.0)],
        })
    }

    /// Replace the head's parameters (a personal head, or the shipped one back).
    pub fn set_head(&mut self, params: &HeadParams) -> Result<()> {
        let d = self.config.item.d_model;
        if params.d != d || params.weight.len() != d * d || params.bias.len() != d {
            return Err(Error::invalid("head", format!("parameters for width {} do not fit this model (width {d})", params.d)));
        }
        let head = &mut self.model.head;
        head.query.weight = Param::from_data(TensorData::new(params.weight.clone(), [d, d]), &self.device);
        head.query.bias = Some(Param::from_data(TensorData::new(params.bias.clone(), [d]), &self.device));
        head.server = Param::from_data(TensorData::new(params.server.to_vec(), [2]), &self.device);
        Ok(())
    }

    /// Encoders' output for one call; `None` when there are no candidates.
    fn encode(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<Option<Encoded>> {
        let n = candidates.len();
        if n == 0 {
            return Ok(None);
        }
        let events = self.window(events);
        let items: Vec<ItemInput> = events
            .iter()
            .map(|e| ItemInput { row: self.row(&e.item_id), title: e.title.as_deref().unwrap_or("") })
            .chain(candidates.iter().map(|c| ItemInput { row: self.row(&c.id), title: &c.title }))
            .collect();
        let vectors = self.encode_items(&items)?; // [e + n, d]
        let d = self.config.item.d_model;
        let e = events.len();
        let server: Vec<f32> = candidates
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                let log_rank = if options.server_order { -((i + 1) as f32).ln() } else { 0.0 };
                [log_rank, c.server_score.unwrap_or(0.0) as f32]
            })
            .collect();
        let session = if e == 0 { None } else { Some(self.session_state(vectors.clone().slice([0..e, 0..d]), events)?) };
        Ok(Some(Encoded {
            session,
            candidates: vectors.slice([e..e + n, 0..d]),
            server,
            offsets: self.offsets(events, candidates),
        }))
    }

    /// The newest events the session window holds.
    fn window<'e>(&self, events: &'e [Event]) -> &'e [Event] {
        &events[events.len().saturating_sub(self.max_events())..]
    }

    /// `[n]` fixed score offsets of `candidates` for a session of `events` (the window):
    /// the repeat prior on items the shopper already bought, plus the weighted transition
    /// score from the most recent items when the bundle carries a table.
    fn offsets(&self, events: &[Event], candidates: &[Candidate]) -> Vec<f32> {
        let repeat = self.config.head.repeat_log_odds as f32;
        let bought: std::collections::HashSet<&str> =
            events.iter().filter(|ev| ev.kind == crate::input::EventKind::Purchase).map(|ev| ev.item_id.as_str()).collect();
        let mut offsets: Vec<f32> = candidates.iter().map(|c| if bought.contains(c.id.as_str()) { repeat } else { 0.0 }).collect();
        if let Some(table) = &self.transitions {
            let weight = self.config.head.transition_weight as f32;
            let recent: Vec<usize> = events.iter().rev().take(crate::transitions::RECENT_ITEMS).map(|ev| self.row(&ev.item_id)).collect();
            let rows: Vec<usize> = candidates.iter().map(|c| self.row(&c.id)).collect();
            for (offset, score) in offsets.iter_mut().zip(table.scores(&recent, &rows)) {
                *offset += weight * score;
            }
        }
        offsets
    }

    /// Encode `candidates` once, to score many sessions against them with
    /// [`Ranker::score_encoded`] (retrieval over a whole catalog).
    pub fn encode_candidates(&self, candidates: &[Candidate]) -> Result<EncodedCandidates> {
        let mut chunks = Vec::new();
        // In chunks: one tokenised batch of a whole catalog would pad every title to the longest.
        for chunk in candidates.chunks(2048) {
            let items: Vec<ItemInput> = chunk.iter().map(|c| ItemInput { row: self.row(&c.id), title: &c.title }).collect();
            chunks.push(self.encode_items(&items)?);
        }
        let vectors = if chunks.is_empty() { None } else { Some(Tensor::cat(chunks, 0)) };
        Ok(EncodedCandidates { candidates: candidates.to_vec(), vectors })
    }

    /// The scores [`Ranker::score`] gives `encoded`'s candidates without server order: the
    /// model's fit plus the offsets (0 for an empty session).
    pub fn score_encoded(&self, events: &[Event], encoded: &EncodedCandidates) -> Result<Vec<f32>> {
        let n = encoded.candidates.len();
        let Some(vectors) = &encoded.vectors else { return Ok(Vec::new()) };
        let events = self.window(events);
        if events.is_empty() {
            return Ok(vec![0.0; n]);
        }
        let items: Vec<ItemInput> = events.iter().map(|e| ItemInput { row: self.row(&e.item_id), title: e.title.as_deref().unwrap_or("") }).collect();
        let session = self.session_state(self.encode_items(&items)?, events)?;
        let encoded = Encoded { session: Some(session), candidates: vectors.clone(), server: vec![0.0; 2 * n], offsets: self.offsets(events, &encoded.candidates) };
        ready(read_floats(self.head_scores(&encoded)))
    }

    /// `[n]` scores: fit + trust + offsets, or trust alone when nothing is known about the
    /// shopper (no session, so nothing was bought either).
    fn head_scores(&self, encoded: &Encoded) -> Tensor<1> {
        let head = &self.model.head;
        let n = encoded.offsets.len();
        let server = Tensor::<2>::from_data(TensorData::new(encoded.server.clone(), [n, 2]), &self.device);
        let trust = head.trust(server);
        match &encoded.session {
            None => trust,
            Some(session) => {
                let offsets = Tensor::<1>::from_data(TensorData::new(encoded.offsets.clone(), [n]), &self.device);
                head.fit(session.clone(), encoded.candidates.clone()) + trust + offsets
            }
        }
    }

    /// A full-window session and `n` candidates made of catalog items (ids as titles), to time
    /// backends on the work a real call does without touching anyone's data.
    pub fn synthetic_request(&self, n: usize) -> (Vec<Event>, Vec<Candidate>) {
        let mut ids: Vec<(&String, &usize)> = self.catalog.iter().collect();
        ids.sort_by_key(|&(_, row)| *row);
        let mut ids = ids.into_iter().map(|(id, _)| id.clone()).cycle();
        let events = (0..self.max_events())
            .map(|ts| {
                let id = ids.next().unwrap_or_default();
                Event { title: Some(id.clone()), item_id: id, kind: crate::input::EventKind::Click, ts: ts as f64 }
            })
            .collect();
        let candidates = (0..n)
            .map(|_| {
                let id = ids.next().unwrap_or_default();
                Candidate { title: id.clone(), id, category: None, price: None, server_score: None }
            })
            .collect();
        (events, candidates)
    }

    /// The device this ranker computes on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// `id`'s row of the ID table (0 = not in the catalog: known by its title alone).
    pub fn row(&self, id: &str) -> usize {
        self.catalog.get(id).copied().unwrap_or(0)
    }

    /// `[m, d]` vectors of `items`.
    fn encode_items(&self, items: &[ItemInput]) -> Result<Tensor<2>> {
        let tokens = items.iter().map(|item| self.tokenizer.encode(item.title)).collect::<Result<Vec<_>>>()?;
        // As wide as the longest title of this call (each is already cut to the model's limit):
        // padding is masked out of the mean, so a narrower batch scores the same for less work.
        let width = tokens.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let batch = TokenBatch::pack(tokens.iter().map(Vec::as_slice), width);
        let m = items.len();
        let rows: Vec<i64> = items.iter().map(|item| item.row as i64).collect();
        let rows = Tensor::<1, Int>::from_data(TensorData::new(rows, [m]), &self.device);
        let (token_ids, token_mask) = batch.into_tensors(&self.device);
        Ok(self.model.item.forward(rows, token_ids, token_mask))
    }

    /// `[1, d]` session state after the newest of `events` (`vectors`: `[e, d]`, e ≤ the window).
    ///
    /// The window is cut to the session's own length: padding is masked out of attention
    /// anyway, and the newest event keeps its trained position, so a short session reads the
    /// same for a fraction of the work.
    fn session_state(&self, vectors: Tensor<2>, events: &[Event]) -> Result<Tensor<2>> {
        let d = self.config.item.d_model;
        let e = events.len();
        let types: Vec<i64> = events.iter().map(|ev| ev.kind.index() as i64).collect();
        let types = Tensor::<2, Int>::from_data(TensorData::new(types, [1, e]), &self.device);
        let padding = Tensor::<2, Bool>::from_data(TensorData::new(vec![false; e], [1, e]), &self.device);
        let states = self.model.session.forward(vectors.reshape([1, e, d]), types, padding); // [1, e, d]
        Ok(states.slice([0..1, e - 1..e, 0..d]).reshape([1, d]))
    }
}

/// Candidates ordered by score, best first; ties keep the server's order.
fn ranking(candidates: &[Candidate], scores: &[f32]) -> Vec<Ranked> {
    let mut order: Vec<usize> = (0..candidates.len().min(scores.len())).collect();
    // Stable sort: ties stay in server order.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
        .into_iter()
        .enumerate()
        .map(|(position, index)| Ranked { id: candidates[index].id.clone(), score: scores[index], rank: position + 1, server_rank: index + 1 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn backend_reports_fold_to_one_line() {
        let report = "The device is poisoned\nCaused by:\n  The device is poisoned\nCaused by:\n  Destroyed: Device was destroyed.\nBacktrace:\nNo backtrace available";
        assert_eq!(one_line(report), "The device is poisoned: Destroyed: Device was destroyed.");
    }
}

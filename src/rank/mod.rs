//! Session + server candidates → scores (per term) → re-ranked list. [`Ranker::score`] is
//! the one scoring path: the CLI, evaluation, calibration and the browser all take it, and
//! [`order`] is the one ordering stage after it.

pub mod explain;
pub mod memo;
pub mod order;
pub mod overlap;
pub mod score;

use std::task::{Context, Poll, Waker};

use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::api::{Candidate, Complement, Event, EventKind, Ranked, RerankOptions};
use crate::profile::Profile;
use crate::bundle::Bundle;
use crate::catalog::{Catalog, window};
use crate::error::{Error, Result};
use crate::learn::{HeadParams, Slate};
use crate::model::{Model, ModelConfig};
use crate::relations::Relations;
use crate::relations::transitions::RECENT_ITEMS;
use crate::text::{TitleTokenizer, TokenBatch};
pub use memo::Memo;
use memo::ItemKey;
use score::{Features, Scored, Weights};

/// A loaded model with its tokenizer, catalog and relation tables, ready to score.
pub struct Ranker {
    model: Model,
    config: ModelConfig,
    tokenizer: TitleTokenizer,
    catalog: Catalog,
    device: Device,
    /// sha256 of what scores (weights and relation tables): personal state and private
    /// updates are tied to it.
    fingerprint: [u8; 32],
    relations: Relations,
    /// The head as numbers: what scoring computes with (the tensors hold the same values, for
    /// training and for packing a bundle).
    head: HeadParams,
    /// The leave-one-out states of explanations, fused: on the CPU only (a GPU ranker reads
    /// nothing back), absent for an encoder the fused pass does not cover.
    fused: Option<crate::model::FusedSession>,
}

/// Candidates encoded once ([`Ranker::encode_candidates`]), to score many sessions against.
pub struct EncodedCandidates {
    candidates: Vec<Candidate>,
    /// `[n, d]`, row-major.
    vectors: Vec<f32>,
}

/// The candidates of one scoring call.
#[derive(Clone, Copy)]
pub enum Candidates<'a> {
    /// Candidates as the server sent them: encoded in this call.
    Listed(&'a [Candidate]),
    /// Candidates encoded beforehand (a whole catalog).
    Encoded(&'a EncodedCandidates),
}

impl Candidates<'_> {
    fn list(&self) -> &[Candidate] {
        match self {
            Candidates::Listed(c) => c,
            Candidates::Encoded(e) => &e.candidates,
        }
    }
}

/// One scoring call's result: every candidate's fit and features, and, for a non-empty
/// session, what learning needs to remember about the slate.
pub struct ScoredSlate {
    /// Fit and features, in server order.
    pub scored: Scored,
    /// The slate for learning (`None` for an empty session or no candidates).
    pub slate: Option<Slate>,
    /// The listed candidates' `[n, d]` item vectors, when the ordering stage needs them (a
    /// diversity above 0); `None` otherwise.
    pub vectors: Option<Vec<f32>>,
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

/// The head's parameters read from its tensors, on a backend that answers at once (the CPU);
/// zeros where the backend cannot answer at once.
fn read_head(model: &Model, d: usize) -> HeadParams {
    let read = || -> Result<HeadParams> {
        let head = &model.head;
        let bias = match &head.query.bias {
            Some(b) => ready(read_floats(b.val()))?,
            None => vec![0.0; d],
        };
        let server = ready(read_floats(head.server.val()))?;
        Ok(HeadParams { d, weight: ready(read_floats(head.query.weight.val()))?, bias, server: [server.first().copied().unwrap_or(0.0), server.get(1).copied().unwrap_or(0.0)] })
    };
    read().unwrap_or_else(|_| HeadParams { d, weight: vec![0.0; d.saturating_mul(d)], bias: vec![0.0; d], server: [0.0; 2] })
}

impl Ranker {
    /// Load a verified bundle onto the CPU (or another backend that answers at once: the
    /// head's numbers are read from its tensors).
    pub fn from_bundle(bundle: &Bundle, device: Device) -> Result<Ranker> {
        let decoded = crate::bundle::decode(bundle, &device)?;
        let head = read_head(&decoded.model, decoded.config.item.d_model);
        let fused = crate::model::FusedSession::of(&decoded.model.session, &device);
        Ok(Ranker { fused, ..Ranker::from_decoded(decoded, device, head) })
    }

    /// Load a verified bundle onto a GPU with `head`'s numbers (the CPU ranker's), reading
    /// nothing back: a readback started and abandoned there leaves a staging buffer mapped,
    /// and the device's next submission fails ("used in submit while mapped").
    pub fn on_gpu(bundle: &Bundle, device: Device, head: &HeadParams) -> Result<Ranker> {
        let mut ranker = Ranker::from_decoded(crate::bundle::decode(bundle, &device)?, device, head.clone());
        // The decoded tensors hold the shipped head; the numbers say which one scores.
        ranker.set_head(head)?;
        Ok(ranker)
    }

    fn from_decoded(decoded: crate::bundle::Decoded, device: Device, head: HeadParams) -> Ranker {
        let crate::bundle::Decoded { config, catalog, tokenizer, model, relations, fingerprint } = decoded;
        Ranker { model: model.valid(), config, tokenizer, catalog, device, fingerprint, relations, head, fused: None }
    }

    /// Wrap a model in memory (training validates with the same code path it ships), without
    /// relation tables, on a backend that answers at once: the head's numbers are read from
    /// its tensors ([`read_head`]).
    pub fn from_parts(model: Model, config: ModelConfig, tokenizer: TitleTokenizer, catalog: Catalog, device: Device) -> Ranker {
        let head = read_head(&model, config.item.d_model);
        let fused = crate::model::FusedSession::of(&model.session, &device);
        Ranker { model: model.valid(), config, tokenizer, catalog, device, fingerprint: [0; 32], relations: Relations::default(), head, fused }
    }

    /// The same ranker with other relation tables (calibration scores with a table counted
    /// on the training split alone).
    pub fn with_relations(mut self, relations: Relations) -> Ranker {
        self.relations = relations;
        self
    }

    /// The relation tables it scores with.
    pub fn relations(&self) -> &Relations {
        &self.relations
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// sha256 of the bundle parts this ranker scores with (zeros for an in-memory model).
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

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Whether `id` has a learned ID embedding.
    pub fn knows(&self, id: &str) -> bool {
        self.catalog.contains(id)
    }

    /// Number of events the session window holds.
    pub fn max_events(&self) -> usize {
        self.config.session.max_events
    }

    /// `id`'s row of the ID table (0 = not in the catalog: known by its title alone).
    pub fn row(&self, id: &str) -> usize {
        self.catalog.row(id)
    }

    /// The device this ranker computes on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The weights of the terms other than the fit, as the head and the config hold them.
    pub fn weights(&self) -> Weights {
        Weights {
            rank: self.head.server[0],
            server_score: self.head.server[1],
            repeat: self.config.head.repeat_log_odds as f32,
            transition: self.config.head.transition_weight as f32,
            rule: self.config.head.rule_weight as f32,
        }
    }

    /// Re-rank `candidates` (in server order) for a session of `events` (oldest first), on a
    /// backend that answers at once (the CPU), remembering nothing: [`Ranker::score`], then
    /// [`order::ranked`].
    ///
    /// An empty session leaves only the server term, so the server's order is kept. Equal
    /// scores keep the server's order too.
    pub fn rerank(&self, events: &[Event], candidates: &[Candidate], options: &RerankOptions) -> Result<Vec<Ranked>> {
        let scored = ready(self.score(events, Candidates::Listed(candidates), options, &mut Memo::none()))?;
        Ok(order::ranked(candidates, scored.scored.terms(&self.weights()), scored.vectors.as_deref(), &options.budget).0)
    }

    /// The one scoring path: the session window's state, each candidate's fit and the inputs
    /// of every other term.
    ///
    /// What the model computes is remembered in `memo`: the session state until the window
    /// changes, item vectors by row and title. A call whose window and items `memo` holds runs
    /// no model at all, only the head's arithmetic; otherwise the items it lacks (events' and
    /// candidates') are encoded in one batch, then the session transformer runs if the window
    /// is new: at most two readbacks, each a round trip on a GPU.
    pub async fn score(&self, events: &[Event], candidates: Candidates<'_>, options: &RerankOptions, memo: &mut Memo) -> Result<ScoredSlate> {
        self.score_for(events, None, candidates, options, memo).await
    }

    /// [`Ranker::score`] for a shopper who also has a long-term `profile`: what they bought
    /// beyond the window has the repeat prior too.
    pub async fn score_for(&self, events: &[Event], profile: Option<&Profile>, candidates: Candidates<'_>, options: &RerankOptions, memo: &mut Memo) -> Result<ScoredSlate> {
        let list = candidates.list();
        let n = list.len();
        let offset = events.len().saturating_sub(self.max_events());
        let events = window(events, self.max_events());
        // Each candidate's catalog row, looked up once: the transition term and its vector read it.
        let rows: Vec<usize> = list.iter().map(|c| self.row(&c.id)).collect();
        let features = self.features(events, profile, offset, list, &rows, options);
        let diverse = options.budget.diversity > 0.0;
        if n == 0 || events.is_empty() {
            // No session: nothing for the model to fit, nothing to learn from.
            let listed: Vec<ItemKey> = if diverse { list.iter().zip(&rows).map(|(c, &row)| ItemKey { row, title: &c.title }).collect() } else { Vec::new() };
            let vectors = if listed.is_empty() { None } else { Some(self.vectors(&listed, memo).await?) };
            return Ok(ScoredSlate { scored: Scored { fit: vec![0.0; n], features }, slate: None, vectors });
        }
        let d = self.config.item.d_model;
        let known = memo.session(events).map(<[f32]>::to_vec);
        let event_items: Vec<ItemKey> = if known.is_some() { Vec::new() } else { events.iter().map(|ev| self.item_input(&ev.item_id, ev.title.as_deref())).collect() };
        let e = event_items.len();
        let listed: &[Candidate] = if let Candidates::Listed(list) = candidates { list } else { &[] };
        let items: Vec<ItemKey> = event_items.into_iter().chain(listed.iter().zip(&rows).map(|(c, &row)| ItemKey { row, title: &c.title })).collect();
        let mut vectors = self.vectors(&items, memo).await?;
        // n ≤ Limits::candidates ≤ 10,000 and d ≤ 1024 (api and config checks): no product overflows.
        let listed_vectors = vectors.split_off(e.saturating_mul(d).min(vectors.len()));
        let session = match known {
            Some(state) => state,
            None => self.new_session_state(events, vectors, memo).await?,
        };
        let query = self.head.query(&session);
        if let Candidates::Encoded(encoded) = candidates {
            // A whole catalog: learning never remembers it, so only the fit comes back.
            return Ok(ScoredSlate { scored: Scored { fit: self.head.fit(&query, &encoded.vectors), features }, slate: None, vectors: None });
        }
        let scored = Scored { fit: self.head.fit(&query, &listed_vectors), features };
        let vectors = diverse.then(|| listed_vectors.clone());
        let weights = self.weights();
        let slate = Slate {
            ids: list.iter().map(|c| c.id.clone()).collect(),
            vectors: listed_vectors,
            server: scored.features.iter().flat_map(Features::server).collect(),
            offsets: scored.terms(&weights).iter().map(score::Terms::fixed).collect(),
            session,
        };
        Ok(ScoredSlate { scored, slate: Some(slate), vectors })
    }

    /// The session state of the window `events` (`vectors`: their `[e, d]` item vectors),
    /// computed and remembered in `memo`.
    async fn new_session_state(&self, events: &[Event], vectors: Vec<f32>, memo: &mut Memo) -> Result<Vec<f32>> {
        let e = events.len();
        let d = self.config.item.d_model;
        let state = read_floats(self.session_state(Tensor::from_data(TensorData::new(vectors, [e, d]), &self.device), events)?).await?;
        memo.remember_session(events, state.clone());
        Ok(state)
    }

    /// Flat `[m, d]` vectors of `items`: those `memo` holds, the others encoded in one batch
    /// (each distinct item once), read back and remembered.
    async fn vectors(&self, items: &[ItemKey<'_>], memo: &mut Memo) -> Result<Vec<f32>> {
        let d = self.config.item.d_model.max(1);
        let mut out = vec![0.0; items.len().saturating_mul(d)];
        // Items the memo lacks, each once, and (row of `out`, index into `missing`) to fill.
        let mut fresh: foldhash::HashMap<ItemKey, usize> = foldhash::HashMap::default();
        let mut missing: Vec<&ItemKey> = Vec::new();
        let mut pending: Vec<(usize, usize)> = Vec::new();
        for (i, (item, row)) in items.iter().zip(out.chunks_exact_mut(d)).enumerate() {
            if let Some(vector) = memo.vector(*item) {
                row.copy_from_slice(vector);
            } else {
                let next = missing.len();
                let at = *fresh.entry(*item).or_insert(next);
                if at == next {
                    missing.push(item);
                }
                pending.push((i, at));
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let encoded = read_floats(self.encode_items(&missing)?).await?;
        let rows: Vec<&[f32]> = encoded.chunks_exact(d).collect();
        if rows.len() != missing.len() {
            return Err(Error::model("the item encoder returned the wrong number of vectors"));
        }
        let mut slots: Vec<&mut [f32]> = out.chunks_exact_mut(d).collect();
        for &(i, at) in &pending {
            if let (Some(slot), Some(row)) = (slots.get_mut(i), rows.get(at)) {
                slot.copy_from_slice(row);
            }
        }
        // In the items' order, so the least recently used go first out of a full memo.
        for item in items {
            if let Some(row) = fresh.remove(item).and_then(|at| rows.get(at)) {
                memo.remember(*item, row.to_vec());
            }
        }
        Ok(out)
    }

    /// The inputs of every term but the fit, for a session window `events` that starts at
    /// index `offset` of the events as given, and the shopper's long-term `profile`; `rows`
    /// holds each candidate's catalog row.
    fn features(&self, events: &[Event], profile: Option<&Profile>, offset: usize, candidates: &[Candidate], rows: &[usize], options: &RerankOptions) -> Vec<Features> {
        let bought: foldhash::HashSet<&str> = events.iter().filter(|ev| ev.kind == EventKind::Purchase).map(|ev| ev.item_id.as_str()).collect();
        let bought_before = |id: &str| score::profile_factor(profile.map_or(0, |p| p.times(id)));
        let parts = match &self.relations.transitions {
            Some(table) => {
                let recent: Vec<usize> = events.iter().rev().take(RECENT_ITEMS).map(|ev| self.row(&ev.item_id)).collect();
                table.parts(&recent, rows)
            }
            None => vec![Vec::new(); candidates.len()],
        };
        let cart = self.cart(events);
        let rules = self.relations.rules.as_ref().filter(|_| !cart.is_empty());
        // Part j of a transition score follows the j-th most recent event of the window.
        let newest = offset.saturating_add(events.len());
        candidates
            .iter()
            .zip(parts)
            .zip(rows)
            .enumerate()
            .map(|(i, ((c, parts), &row))| Features {
                log_rank: if options.server_order { -(i.saturating_add(1) as f32).ln() } else { 0.0 },
                server_score: c.server_score.unwrap_or(0.0) as f32,
                bought: bought.contains(c.id.as_str()),
                bought_before: bought_before(&c.id),
                transition_parts: parts.into_iter().map(|(j, p)| (newest.saturating_sub(j.saturating_add(1)), p)).collect(),
                rule: rules.and_then(|table| table.complement(&cart, u32::try_from(row).ok()?)).map(|(index, rule)| (index, rule.confidence)),
            })
            .collect()
    }

    /// The cart of a session window: the catalog rows of what it put in the cart or bought,
    /// sorted (items outside the catalog have no rules).
    fn cart(&self, events: &[Event]) -> Vec<u32> {
        let mut cart: Vec<u32> = events
            .iter()
            .filter(|ev| matches!(ev.kind, EventKind::Cart | EventKind::Purchase))
            .filter_map(|ev| u32::try_from(self.row(&ev.item_id)).ok())
            .filter(|&row| row != 0)
            .collect();
        cart.sort_unstable();
        cart.dedup();
        cart
    }

    /// Up to `k` items for the cart of the session `events` (its window), straight from the
    /// bundle's association rules ([`crate::relations::rules::Rules::complements`]); none when
    /// the bundle carries no rules or the cart is empty.
    pub fn complements(&self, events: &[Event], k: usize) -> Vec<Complement> {
        let Some(rules) = &self.relations.rules else { return Vec::new() };
        let id = |row: u32| self.catalog.ids().get((row as usize).wrapping_sub(1)).cloned().unwrap_or_default();
        rules
            .complements(&self.cart(window(events, self.max_events())), k)
            .into_iter()
            .map(|p| Complement { id: id(p.row), because: p.rule.antecedent.iter().map(|&row| id(row)).collect(), confidence: p.rule.confidence, lift: p.rule.lift, support: p.rule.support })
            .collect()
    }

    /// The head's current parameters.
    pub fn head_params(&self) -> Result<HeadParams> {
        Ok(self.head.clone())
    }

    /// Replace the head's parameters (a personal head, or the shipped one back).
    pub fn set_head(&mut self, params: &HeadParams) -> Result<()> {
        let d = self.config.item.d_model;
        if params.d != d || params.weight.len() != d.saturating_mul(d) || params.bias.len() != d {
            return Err(Error::invalid("head", format!("parameters for width {} do not fit this model (width {d})", params.d)));
        }
        let head = &mut self.model.head;
        head.query.weight = Param::from_data(TensorData::new(params.weight.clone(), [d, d]), &self.device);
        head.query.bias = Some(Param::from_data(TensorData::new(params.bias.clone(), [d]), &self.device));
        head.server = Param::from_data(TensorData::new(params.server.to_vec(), [2]), &self.device);
        self.head = params.clone();
        Ok(())
    }

    /// Encode `candidates` once, to score many sessions against them with
    /// [`Candidates::Encoded`] (retrieval over a whole catalog).
    pub fn encode_candidates(&self, candidates: &[Candidate]) -> Result<EncodedCandidates> {
        let mut vectors = Vec::new();
        // In chunks: one tokenised batch of a whole catalog would pad every title to the longest.
        for chunk in candidates.chunks(2048) {
            let items: Vec<ItemKey> = chunk.iter().map(|c| self.item_input(&c.id, Some(&c.title))).collect();
            vectors.extend(ready(read_floats(self.encode_items(&items.iter().collect::<Vec<_>>())?))?);
        }
        Ok(EncodedCandidates { candidates: candidates.to_vec(), vectors })
    }

    /// `e` events and `n` candidates made of catalog items (ids as titles), to time backends
    /// on the work a real call does without touching anyone's data.
    pub fn synthetic_request(&self, n: usize, e: usize) -> (Vec<Event>, Vec<Candidate>) {
        let mut ids = self.catalog.ids().iter().cycle();
        let events = (0..e)
            .map(|ts| {
                let id = ids.next().cloned().unwrap_or_default();
                Event { title: Some(id.clone()), item_id: id, kind: EventKind::Click, ts: ts as f64 }
            })
            .collect();
        let candidates = (0..n)
            .map(|_| {
                let id = ids.next().cloned().unwrap_or_default();
                Candidate { title: id.clone(), id, category: None, price: None, server_score: None }
            })
            .collect();
        (events, candidates)
    }

    fn item_input<'a>(&self, id: &str, title: Option<&'a str>) -> ItemKey<'a> {
        ItemKey { row: self.row(id), title: title.unwrap_or("") }
    }

    /// `[m, d]` vectors of `items`.
    fn encode_items(&self, items: &[&ItemKey]) -> Result<Tensor<2>> {
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
        Ok(self.model.session.newest(vectors.reshape([1, e, d]), types))
    }
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

//! What callers hand in: session events, server candidates, re-rank options; and what they
//! get back. Parsed from JSON values with errors that name the exact field, so the CLI
//! (JSON files) and the browser (JS objects) share one validator.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What one caller may hand in, and what is kept: every bound configurable (the page's
/// `Personalizer.create(bytes, { limits })`, natively [`crate::Personalizer::set_limits`]) within
/// a ceiling, so nothing grows without bound whatever a page sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Limits {
    /// Most candidates one `rerank` call accepts (default 1,000; at most 10,000).
    pub candidates: usize,
    /// Longest title kept, in characters; a longer one is cut (default 512; 16..=4,096). The
    /// model reads a title's first 16 tokens, and titles are kept in the session and the
    /// personal state, so a 1 MB title would cost time and storage for nothing.
    pub title_chars: usize,
    /// Longest id accepted, in bytes (default 256; at most 1,024).
    pub id_bytes: usize,
    /// Most session events kept (default 50; 1..=1,000); the model reads at most its window
    /// (50 for the shipped one), so more than that keeps nothing more.
    pub events: usize,
    /// Largest personal state `importState` reads, in bytes (default 4 MiB; at most 64 MiB).
    pub state_bytes: usize,
    /// Largest bundle `create` reads, in bytes (default 64 MiB; at most 256 MiB).
    pub bundle_bytes: usize,
    /// Item vectors kept between calls (default 4,096, about 1.7 MB; at most 100,000); 0 keeps
    /// nothing, not even the session state: every call recomputes everything.
    pub item_cache: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { candidates: 1000, title_chars: 512, id_bytes: 256, events: 50, state_bytes: 4 << 20, bundle_bytes: 64 << 20, item_cache: 4096 }
    }
}

impl Limits {
    /// Check every bound against its range; `path` names the object in errors.
    pub fn validate(&self, path: &str) -> Result<()> {
        let ranges: [(&str, usize, usize, usize); 7] = [
            ("candidates", self.candidates, 1, 10_000),
            ("titleChars", self.title_chars, 16, 4096),
            ("idBytes", self.id_bytes, 1, 1024),
            ("events", self.events, 1, 1000),
            ("stateBytes", self.state_bytes, 1 << 10, 64 << 20),
            ("bundleBytes", self.bundle_bytes, 1 << 10, 256 << 20),
            ("itemCache", self.item_cache, 0, 100_000),
        ];
        match ranges.into_iter().find(|(_, value, low, high)| !(low..=high).contains(&value)) {
            Some((name, _, low, high)) => Err(Error::invalid(format!("{path}.{name}"), format!("must be in {low}..={high}"))),
            None => Ok(()),
        }
    }

    /// `title` cut to [`Limits::title_chars`] characters.
    pub fn cut_title(&self, mut title: String) -> String {
        // No more bytes than the limit: no more characters either.
        if title.len() <= self.title_chars {
            return title;
        }
        if let Some((cut, _)) = title.char_indices().nth(self.title_chars) {
            title.truncate(cut);
        }
        title
    }

    /// An error unless `n` candidates are within [`Limits::candidates`].
    pub fn check_candidates(&self, n: usize, path: &str) -> Result<()> {
        if n > self.candidates {
            return Err(Error::invalid(path, format!("{n} candidates, at most {} are accepted", self.candidates)));
        }
        Ok(())
    }
}

/// The largest integer a JS number holds exactly (2^53 − 1): a numeric id above it has
/// already been rounded by the page.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// What the shopper did with an item; ordered by strength of interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// Saw the product page.
    View,
    /// Clicked a listing.
    Click,
    /// Put it in the cart.
    Cart,
    /// Bought it.
    Purchase,
}

impl EventKind {
    /// Row in the model's event-type table.
    pub fn index(self) -> usize {
        self as usize
    }

    fn parse(text: &str, path: &str) -> Result<Self> {
        match text {
            "view" => Ok(EventKind::View),
            "click" => Ok(EventKind::Click),
            "cart" => Ok(EventKind::Cart),
            "purchase" => Ok(EventKind::Purchase),
            other => Err(Error::invalid(path, format!("unknown event type {other:?} (expected view, click, cart or purchase)"))),
        }
    }
}

/// One interaction in the current session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The item's id in the storefront catalog.
    pub item_id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// When, in milliseconds since the epoch (only the order matters to the model).
    pub ts: f64,
    /// The item's title, when the page knows it (cold items are understood from it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// One item the server proposes, in server order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// The item's id.
    pub id: String,
    /// The item's title (may be empty).
    pub title: String,
    /// Category, carried through (the shipped model does not read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Price, carried through (the shipped model does not read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// The server's own relevance score, when it sends one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_score: Option<f64>,
}

/// How to re-rank.
#[derive(Debug, Clone, PartialEq)]
pub struct RerankOptions {
    /// Treat the candidates' order as the server's ranking (a model input). Off when the
    /// list carries no ranking, e.g. items sorted by id.
    pub server_order: bool,
    /// How far the page may depart from the server's order (the ordering stage,
    /// `crate::rank::order`).
    pub budget: Budget,
    /// Explain this many items from the top of the new order (`crate::rank::explain`);
    /// 0 explains none.
    pub explain: usize,
}

impl RerankOptions {
    /// The default options with `server_order` as given.
    pub fn server_order(server_order: bool) -> RerankOptions {
        RerankOptions { server_order, budget: Budget::default(), explain: 0 }
    }
}

impl Default for RerankOptions {
    fn default() -> Self {
        RerankOptions::server_order(true)
    }
}

/// How much of each personal term a blend keeps, each in [0, 1] (all 1: every term as
/// scored). `personalization: {fit: 0.03, transition: 0.165, …}` sets them one by one: on
/// Games the session fit's re-ordering is mostly churn the server's order would not have,
/// while the transition and repeat terms hold the gain (README, the consistency budget).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TermBlend {
    /// The session model's fit.
    pub fit: f32,
    /// The item-transition term.
    pub transition: f32,
    /// The repeat prior.
    pub repeat: f32,
    /// The association-rule term.
    pub rule: f32,
}

impl TermBlend {
    /// Every term in full: the blend is `personalization` alone.
    pub const ALL: TermBlend = TermBlend { fit: 1.0, transition: 1.0, repeat: 1.0, rule: 1.0 };

    /// Whether every term is kept in full.
    pub fn is_all(&self) -> bool {
        *self == TermBlend::ALL
    }
}

impl Default for TermBlend {
    fn default() -> Self {
        TermBlend::ALL
    }
}

/// The consistency budget: how much a re-rank may move the server's list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    /// In [0, 1]: 0 keeps the server's order (only the server's term counts), 1 is fully
    /// personal; in between, the personal terms (fit, repeat, transition, rule) are scaled.
    /// `min_overlap` lowers it per page.
    pub personalization: f32,
    /// Each personal term's own share, on top of `personalization` (default: all 1).
    pub terms: TermBlend,
    /// No item moves more than this many places from its server position.
    pub max_displacement: Option<usize>,
    /// The first this many server positions never move (sponsored or editorial slots).
    pub pinned: usize,
    /// In [0, 1]: 0 orders by score alone; above 0, maximal marginal relevance trades score
    /// for items unlike those already placed (`crate::rank::order::diverse_order`).
    pub diversity: f32,
    /// In [0, 1] (0: none): the page's rank-biased overlap (p = 0.9) with the server's order
    /// stays at least this; where the blend would go below it, the blend is lowered for that
    /// page (`crate::rank::order::arrange`).
    pub min_overlap: f32,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { personalization: 1.0, terms: TermBlend::ALL, max_displacement: None, pinned: 0, diversity: 0.0, min_overlap: 0.0 }
    }
}

impl Budget {
    /// Whether the budget is a blend alone: no displacement bound, pin, diversity or overlap
    /// floor.
    pub fn is_blend_only(&self) -> bool {
        self.max_displacement.is_none() && self.pinned == 0 && self.diversity == 0.0 && self.min_overlap == 0.0
    }
}

/// One re-ranked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ranked {
    /// The candidate's id.
    pub id: String,
    /// The model's score (higher is better).
    pub score: f32,
    /// New position, 1-based.
    pub rank: usize,
    /// Position in the server's list, 1-based.
    pub server_rank: usize,
    /// The score's terms (their sum is `score`). Rust callers read them; the JS API sends
    /// `why` instead.
    #[serde(skip)]
    pub terms: crate::rank::score::Terms,
    /// Why it stands where it does, when the call asked for explanations and the item is
    /// among the explained ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<Vec<Why>>,
}

/// What a term of an explanation refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhyKind {
    /// A session event, through the model's fit: what its occlusion takes from the fit.
    SessionItem,
    /// A session event, through the item-transition term.
    Transition,
    /// A cart event, through an association rule completing the cart.
    Rule,
    /// The server's rank and score.
    Server,
    /// A purchase of this very item (the repeat prior, usually negative).
    Repeat,
}

/// One term of an explanation: how much of the item's score it accounts for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Why {
    /// What it refers to.
    pub kind: WhyKind,
    /// The session event's item, for the event kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The session event's index in `session()` (oldest first), for the event kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_index: Option<usize>,
    /// Its part of the score: for an event, what the score loses when that event is left
    /// out (the session state recomputed without it), split by the term it flows through.
    pub weight: f32,
}

/// One item proposed for the cart ([`crate::Personalizer::complements`]): the consequent of
/// the best association rule whose antecedent is in the cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complement {
    /// The proposed item's id.
    pub id: String,
    /// The cart items of the rule's antecedent: "bought with …".
    pub because: Vec<String>,
    /// Share of the baskets holding `because` that also held this item.
    pub confidence: f32,
    /// Confidence over the item's own share of baskets.
    pub lift: f32,
    /// Share of all baskets holding `because` and this item.
    pub support: f32,
}

/// What this device keeps about its shopper ([`crate::Personalizer::state_summary`]), for a
/// page's "what this device knows about me" panel. Everything in it stays on the device.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateSummary {
    /// Session events kept (what `session()` lists).
    pub events: usize,
    /// Of which views, clicks, cart additions and purchases.
    pub by_type: EventCounts,
    /// How far on-device learning has moved the personal head from the shipped one:
    /// ‖head − shipped‖ / ‖shipped‖ (0 = not at all).
    pub head_change: f32,
    /// Items the long-term profile keeps: bought beyond the session window.
    pub profile_items: usize,
    /// Size of the personal state (`exportState()`), in bytes.
    pub state_bytes: usize,
    /// Whether on-device learning is on.
    pub learning: bool,
}

/// Events of each type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    /// Product pages seen.
    pub view: usize,
    /// Listings clicked.
    pub click: usize,
    /// Cart additions.
    pub cart: usize,
    /// Purchases.
    pub purchase: usize,
}

impl EventCounts {
    /// Count `events` by type.
    pub fn of(events: &[Event]) -> EventCounts {
        events.iter().fold(EventCounts::default(), |mut counts, event| {
            let slot = match event.kind {
                EventKind::View => &mut counts.view,
                EventKind::Click => &mut counts.click,
                EventKind::Cart => &mut counts.cart,
                EventKind::Purchase => &mut counts.purchase,
            };
            *slot = slot.saturating_add(1);
            counts
        })
    }
}

/// Items `explain: true` explains: the top of a page.
pub const EXPLAINED_BY_DEFAULT: usize = 10;

/// The largest count an option takes (`maxDisplacement`, `pinned`): far beyond any list.
const MAX_COUNT: usize = 1_000_000;

/// A count argument (e.g. `complements(k)`): an integer in `0..=max`; `path` names it.
pub fn count_from_json(value: &Value, path: &str, max: usize) -> Result<usize> {
    let n = match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|x| x.fract() == 0.0 && *x >= 0.0).map(|x| x as u64)),
        other => return Err(Error::invalid(path, format!("expected a number, got {}", kind_of(other)))),
    };
    match n.and_then(|n| usize::try_from(n).ok()) {
        Some(n) if n <= max => Ok(n),
        _ => Err(Error::invalid(path, format!("must be an integer in 0..={max}"))),
    }
}

/// Deserialise a settings object, naming the failing field under `path` in the error.
pub fn settings_from_json<T: serde::de::DeserializeOwned>(value: Value, path: &str) -> Result<T> {
    let value = if value.is_null() { Value::Object(Map::new()) } else { value };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let at = if field == "." { path.to_string() } else { format!("{path}.{field}") };
        Error::invalid(at, e.into_inner())
    })
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| Error::invalid(path, format!("expected an object, got {}", kind_of(value))))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn id_field(map: &Map<String, Value>, parent: &str, name: &str, limits: &Limits) -> Result<String> {
    let path = || format!("{parent}.{name}");
    let id = match map.get(name) {
        None | Some(Value::Null) => return Err(Error::invalid(path(), "missing")),
        // Empty and too long: `check_id` below, shared with ids built in Rust.
        Some(Value::String(s)) => s.clone(),
        // A JS number is exact up to 2^53; above that, or with a fraction, it is not an id
        // the page can have meant: two different ids could arrive as one.
        Some(Value::Number(n)) => id_from_number(n).ok_or_else(|| Error::invalid(path(), "a number id must be a safe integer (no fraction, at most 2^53 − 1); send other ids as strings"))?,
        Some(other) => return Err(Error::invalid(path(), format!("expected a string or number, got {}", kind_of(other)))),
    };
    check_id(&id, path, limits)?;
    Ok(id)
}

/// A number id as text, or `None` unless it is a safe integer.
fn id_from_number(n: &serde_json::Number) -> Option<String> {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) if i.unsigned_abs() as f64 <= MAX_SAFE_INTEGER => Some(i.to_string()),
        (None, Some(x)) if x.fract() == 0.0 && x.abs() <= MAX_SAFE_INTEGER => Some(format!("{x:.0}")),
        _ => None,
    }
}

/// An id is non-empty and within [`Limits::id_bytes`]; `path` spells where, for an error
/// (paths are formed only on the way to an error: a re-rank checks thousands of fields).
fn check_id(id: &str, path: impl Fn() -> String, limits: &Limits) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::invalid(path(), "empty"));
    }
    if id.len() > limits.id_bytes {
        return Err(Error::invalid(path(), format!("{} bytes long, at most {}", id.len(), limits.id_bytes)));
    }
    Ok(())
}

/// A finite number, within f32's range when the model reads it as f32 (`for_model`): 1e39
/// would become infinite there and poison every score and the personal head.
fn check_number(x: f64, path: impl Fn() -> String, for_model: bool) -> Result<f64> {
    if !x.is_finite() {
        return Err(Error::invalid(path(), format!("{x} is not a finite number")));
    }
    if for_model && x.abs() > f64::from(f32::MAX) {
        return Err(Error::invalid(path(), "outside the range of a 32-bit float (±3.4e38)"));
    }
    Ok(x)
}

/// A price: a finite number, not negative.
fn check_price(price: f64, path: impl Fn() -> String) -> Result<()> {
    check_number(price, &path, false)?;
    if price < 0.0 {
        return Err(Error::invalid(path(), "negative"));
    }
    Ok(())
}

fn optional_string(map: &Map<String, Value>, path: &str, name: &str) -> Result<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::invalid(format!("{path}.{name}"), format!("expected a string, got {}", kind_of(other)))),
    }
}

/// A title, cut to [`Limits::title_chars`] characters.
fn optional_title(map: &Map<String, Value>, path: &str, limits: &Limits) -> Result<Option<String>> {
    Ok(optional_string(map, path, "title")?.map(|title| limits.cut_title(title)))
}

/// `map`'s number `name` in [0, 1], `default` when absent or null.
fn unit_interval(map: &Map<String, Value>, path: &str, name: &str, default: f32) -> Result<f32> {
    match optional_number(map, path, name, true)? {
        None => Ok(default),
        Some(x) if (0.0..=1.0).contains(&x) => Ok(x as f32),
        Some(_) => Err(Error::invalid(format!("{path}.{name}"), "must be in [0, 1]")),
    }
}

/// An error naming the first key of `map` outside `known`, as "unknown `what` (expected
/// `expected`)".
fn reject_unknown_keys(map: &Map<String, Value>, path: &str, known: &[&str], what: &str, expected: &str) -> Result<()> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(Error::invalid(format!("{path}.{unknown}"), format!("unknown {what} (expected {expected})"))),
        None => Ok(()),
    }
}

/// A number field ([`check_number`]; JSON has no NaN or ±Infinity, and the wasm layer refuses
/// them on the way in).
fn optional_number(map: &Map<String, Value>, path: &str, name: &str, for_model: bool) -> Result<Option<f64>> {
    let at = || format!("{path}.{name}");
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) => check_number(x, at, for_model).map(Some),
            None => Err(Error::invalid(at(), "outside the range of a 64-bit float")),
        },
        Some(other) => Err(Error::invalid(format!("{path}.{name}"), format!("expected a number, got {}", kind_of(other)))),
    }
}

impl Event {
    /// Validate one event within `limits`; `path` names it in errors (e.g. `event`).
    pub fn from_json(value: &Value, path: &str, limits: &Limits) -> Result<Event> {
        let map = object(value, path)?;
        let kind = match map.get("type") {
            None | Some(Value::Null) => return Err(Error::invalid(format!("{path}.type"), "missing")),
            Some(Value::String(s)) => EventKind::parse(s, &format!("{path}.type"))?,
            Some(other) => return Err(Error::invalid(format!("{path}.type"), format!("expected a string, got {}", kind_of(other)))),
        };
        let ts = optional_number(map, path, "ts", false)?.ok_or_else(|| Error::invalid(format!("{path}.ts"), "missing"))?;
        Ok(Event { item_id: id_field(map, path, "itemId", limits)?, kind, ts, title: optional_title(map, path, limits)? })
    }

    /// Check an event built in Rust (the JSON path checks as it parses): the id and timestamp
    /// rules of [`Event::from_json`].
    pub fn check(&self, path: &str, limits: &Limits) -> Result<()> {
        check_id(&self.item_id, || format!("{path}.itemId"), limits)?;
        check_number(self.ts, || format!("{path}.ts"), false).map(|_| ())
    }
}

impl Candidate {
    /// Check candidates built in Rust (the JSON path checks as it parses): the count, id,
    /// duplicate and number rules of [`Candidate::list_from_json`].
    pub fn check_list(candidates: &[Candidate], path: &str, limits: &Limits) -> Result<()> {
        limits.check_candidates(candidates.len(), path)?;
        let mut seen: foldhash::HashMap<&str, usize> = foldhash::HashMap::with_capacity_and_hasher(candidates.len(), Default::default());
        for (i, c) in candidates.iter().enumerate() {
            let at = |field: &str| format!("{path}[{i}].{field}");
            check_id(&c.id, || at("id"), limits)?;
            if let Some(first) = seen.insert(c.id.as_str(), i) {
                return Err(Error::invalid(at("id"), format!("duplicate of {path}[{first}].id ({:?})", c.id)));
            }
            if let Some(score) = c.server_score {
                check_number(score, || at("serverScore"), true)?;
            }
            if let Some(price) = c.price {
                check_price(price, || at("price"))?;
            }
        }
        Ok(())
    }

    /// Validate a candidate list (`path` names it, e.g. `candidates`): an array of at most
    /// [`Limits::candidates`] objects with distinct ids.
    pub fn list_from_json(value: &Value, path: &str, limits: &Limits) -> Result<Vec<Candidate>> {
        let items = value.as_array().ok_or_else(|| Error::invalid(path, format!("expected an array, got {}", kind_of(value))))?;
        limits.check_candidates(items.len(), path)?;
        let list = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{path}[{i}]");
                let map = object(item, &at)?;
                Ok(Candidate {
                    id: id_field(map, &at, "id", limits)?,
                    title: optional_title(map, &at, limits)?.ok_or_else(|| Error::invalid(format!("{at}.title"), "missing"))?,
                    category: optional_string(map, &at, "category")?,
                    price: optional_number(map, &at, "price", false)?,
                    server_score: optional_number(map, &at, "serverScore", true)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Duplicates and negative prices: the rules a list built in Rust is held to.
        Candidate::check_list(&list, path, limits)?;
        Ok(list)
    }
}

/// A candidate exactly as the fast path accepts it: the five known fields, each of its one
/// type or null, nothing else (anything else goes to the reference path, which names it).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlainCandidate<'a> {
    #[serde(borrow)]
    id: PlainId<'a>,
    #[serde(borrow)]
    title: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    category: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    price: Option<f64>,
    #[serde(default)]
    server_score: Option<f64>,
}

/// An id as JSON text carries it: a string, or a number under [`id_from_number`]'s rule.
enum PlainId<'a> {
    Text(std::borrow::Cow<'a, str>),
    Number(serde_json::Number),
}

impl<'de: 'a, 'a> Deserialize<'de> for PlainId<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = PlainId<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(PlainId::Text(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(PlainId::Text(v.to_string().into()))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(PlainId::Number(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(PlainId::Number(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
                serde_json::Number::from_f64(v).map(PlainId::Number).ok_or_else(|| E::custom("not a finite number"))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

impl Candidate {
    /// The fast path of [`Candidate::list_from_json`] for JSON text, for the browser's hot
    /// path (measured in Node: building a `serde_json::Value` tree and copying out of it took
    /// more time than scoring 100 cached candidates). It reads the text straight into
    /// candidates and answers only for a list that the reference path accepts, with the same
    /// candidates; `None` for anything else (another shape, an unknown field, a value of
    /// another type, a broken rule), which the caller hands to the reference path for its
    /// exact error. A test and the request fuzz target hold the two paths to each other.
    pub fn plain_list_from_json_text(text: &[u8], limits: &Limits) -> Option<Vec<Candidate>> {
        let plain: Vec<PlainCandidate> = serde_json::from_slice(text).ok()?;
        if plain.len() > limits.candidates {
            return None;
        }
        let list = plain
            .into_iter()
            .map(|c| {
                let id = match c.id {
                    PlainId::Text(text) => text.into_owned(),
                    PlainId::Number(n) => id_from_number(&n)?,
                };
                let title = limits.cut_title(c.title.into_owned());
                Some(Candidate { id, title, category: c.category.map(std::borrow::Cow::into_owned), price: c.price, server_score: c.server_score })
            })
            .collect::<Option<Vec<_>>>()?;
        Candidate::check_list(&list, "candidates", limits).ok()?;
        Some(list)
    }
}

impl TermBlend {
    /// Validate `{fit?, transition?, repeat?, rule?}`, each in [0, 1]; a term left out is
    /// kept in full.
    pub fn from_json(value: &Value, path: &str) -> Result<TermBlend> {
        let map = object(value, path)?;
        reject_unknown_keys(map, path, &["fit", "transition", "repeat", "rule"], "term", "fit, transition, repeat or rule")?;
        let share = |name: &str| unit_interval(map, path, name, 1.0);
        Ok(TermBlend { fit: share("fit")?, transition: share("transition")?, repeat: share("repeat")?, rule: share("rule")? })
    }
}

impl RerankOptions {
    /// Validate options; `null`/absent means the defaults.
    pub fn from_json(value: &Value, path: &str) -> Result<RerankOptions> {
        if value.is_null() {
            return Ok(RerankOptions::default());
        }
        let map = object(value, path)?;
        const KNOWN: [&str; 7] = ["serverOrder", "personalization", "maxDisplacement", "pinned", "diversity", "minOverlap", "explain"];
        reject_unknown_keys(map, path, &KNOWN, "option", "serverOrder, personalization, maxDisplacement, pinned, diversity, minOverlap or explain")?;
        let server_order = match map.get("serverOrder") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(Error::invalid(format!("{path}.serverOrder"), format!("expected a boolean, got {}", kind_of(other)))),
        };
        let unit = |name: &str, default: f32| unit_interval(map, path, name, default);
        // A number scales every personal term; an object gives each its own share.
        let (personalization, terms) = match map.get("personalization") {
            Some(shares @ Value::Object(_)) => (1.0, TermBlend::from_json(shares, &format!("{path}.personalization"))?),
            None | Some(Value::Null | Value::Number(_)) => (unit("personalization", 1.0)?, TermBlend::ALL),
            Some(other) => return Err(Error::invalid(format!("{path}.personalization"), format!("expected a number in [0, 1] or an object of term shares, got {}", kind_of(other)))),
        };
        let diversity = unit("diversity", 0.0)?;
        let min_overlap = unit("minOverlap", 0.0)?;
        let count = |name: &str| -> Result<Option<usize>> {
            match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => count_from_json(value, &format!("{path}.{name}"), MAX_COUNT).map(Some),
            }
        };
        let budget = Budget { personalization, terms, max_displacement: count("maxDisplacement")?, pinned: count("pinned")?.unwrap_or(0), diversity, min_overlap };
        // true explains the first page's worth; a count explains that many.
        let explain = match map.get("explain") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => 0,
            Some(Value::Bool(true)) => EXPLAINED_BY_DEFAULT,
            Some(value @ Value::Number(_)) => count_from_json(value, &format!("{path}.explain"), MAX_COUNT)?,
            Some(other) => return Err(Error::invalid(format!("{path}.explain"), format!("expected a boolean or a count, got {}", kind_of(other)))),
        };
        Ok(RerankOptions { server_order, budget, explain })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const L: Limits = Limits { candidates: 1000, title_chars: 512, id_bytes: 256, events: 50, state_bytes: 4 << 20, bundle_bytes: 64 << 20, item_cache: 4096 };

    // contract: limits-enforced
    #[test]
    fn limits_are_configurable_within_their_ceilings() {
        assert_eq!(Limits::default(), L);
        let small = Limits { candidates: 2, title_chars: 16, id_bytes: 3, ..L };
        small.validate("limits").unwrap();
        let three = json!([{"id": "a", "title": "x"}, {"id": "b", "title": "y"}, {"id": "c", "title": "z"}]);
        assert_eq!(Candidate::list_from_json(&three, "candidates", &small).unwrap_err().to_string(), "candidates: 3 candidates, at most 2 are accepted");
        let long = json!([{"id": "abcd", "title": "x"}]);
        assert_eq!(Candidate::list_from_json(&long, "candidates", &small).unwrap_err().to_string(), "candidates[0].id: 4 bytes long, at most 3");
        let titled = Candidate::list_from_json(&json!([{"id": "a", "title": "é".repeat(40)}]), "candidates", &small).unwrap();
        assert_eq!(titled[0].title, "é".repeat(16));
        let e = Limits { candidates: 10_001, ..L }.validate("limits").unwrap_err();
        assert_eq!(e.to_string(), "limits.candidates: must be in 1..=10000");
        assert_eq!(Limits { title_chars: 0, ..L }.validate("limits").unwrap_err().to_string(), "limits.titleChars: must be in 16..=4096");
        let e = settings_from_json::<Limits>(json!({"candidate": 5}), "limits").unwrap_err();
        assert!(e.to_string().starts_with("limits.candidate: unknown field"), "{e}");
    }

    #[test]
    fn candidate_errors_name_the_field() {
        let bad = json!([{"id": "a", "title": "x"}, {"id": "", "title": "y"}]);
        assert_eq!(Candidate::list_from_json(&bad, "candidates", &L).unwrap_err().to_string(), "candidates[1].id: empty");
        let dup = json!([{"id": "a", "title": "x"}, {"id": "a", "title": "y"}]);
        assert!(Candidate::list_from_json(&dup, "candidates", &L).unwrap_err().to_string().starts_with("candidates[1].id: duplicate of candidates[0].id"));
        let no_title = json!([{"id": 7}]);
        assert_eq!(Candidate::list_from_json(&no_title, "candidates", &L).unwrap_err().to_string(), "candidates[0].title: missing");
        let score = json!([{"id": 7, "title": "t", "serverScore": "high"}]);
        assert_eq!(Candidate::list_from_json(&score, "candidates", &L).unwrap_err().to_string(), "candidates[0].serverScore: expected a number, got a string");
        assert_eq!(Candidate::list_from_json(&json!({}), "candidates", &L).unwrap_err().to_string(), "candidates: expected an array, got an object");
    }

    #[test]
    fn personalization_is_a_blend_or_a_share_per_term() {
        let budget = |options: Value| RerankOptions::from_json(&options, "options").map(|o| o.budget).map_err(|e| e.to_string());
        assert_eq!(budget(json!({"personalization": 0.5})).unwrap(), Budget { personalization: 0.5, ..Budget::default() });
        let per_term = budget(json!({"personalization": {"fit": 0.03, "repeat": 0}})).unwrap();
        assert_eq!((per_term.personalization, per_term.terms), (1.0, TermBlend { fit: 0.03, transition: 1.0, repeat: 0.0, rule: 1.0 }));
        assert_eq!(budget(json!({"personalization": {"fit": 2}})).unwrap_err(), "options.personalization.fit: must be in [0, 1]");
        assert_eq!(budget(json!({"personalization": {"fit": "low"}})).unwrap_err(), "options.personalization.fit: expected a number, got a string");
        assert_eq!(budget(json!({"personalization": {"trust": 0.5}})).unwrap_err(), "options.personalization.trust: unknown term (expected fit, transition, repeat or rule)");
        assert_eq!(budget(json!({"personalization": "high"})).unwrap_err(), "options.personalization: expected a number in [0, 1] or an object of term shares, got a string");
        assert_eq!(budget(json!({"personalization": -0.1})).unwrap_err(), "options.personalization: must be in [0, 1]");
    }

    #[test]
    fn settings_errors_name_the_field() {
        use crate::learn::LearnConfig;
        let e = settings_from_json::<LearnConfig>(json!({"steps": "many"}), "learning").unwrap_err();
        assert!(e.to_string().starts_with("learning.steps: invalid type: string \"many\""), "{e}");
        let e = settings_from_json::<LearnConfig>(json!({"stepz": 2}), "learning").unwrap_err();
        assert!(e.to_string().starts_with("learning: unknown field `stepz`") || e.to_string().starts_with("learning.stepz: unknown field"), "{e}");
        assert_eq!(settings_from_json::<LearnConfig>(Value::Null, "learning").unwrap(), LearnConfig::default());
    }

    /// The typed (Rust) path keeps the JSON path's rules: NaN, ±Infinity and f32 overflow,
    /// empty and duplicate ids, counts over the limit.
    // contract: non-finite
    #[test]
    fn candidates_built_in_rust_are_checked_alike() {
        let c = |id: &str, score: Option<f64>| Candidate { id: id.into(), title: "t".into(), category: None, price: None, server_score: score };
        let check = |list: &[Candidate]| Candidate::check_list(list, "candidates", &L).map_err(|e| e.to_string());
        assert_eq!(check(&[c("a", Some(f64::NAN))]).unwrap_err(), "candidates[0].serverScore: NaN is not a finite number");
        assert_eq!(check(&[c("a", Some(f64::INFINITY))]).unwrap_err(), "candidates[0].serverScore: inf is not a finite number");
        assert_eq!(check(&[c("a", Some(1e39))]).unwrap_err(), "candidates[0].serverScore: outside the range of a 32-bit float (±3.4e38)");
        assert_eq!(check(&[c("a", None), c("a", None)]).unwrap_err(), "candidates[1].id: duplicate of candidates[0].id (\"a\")");
        assert_eq!(check(&[c(" ", None)]).unwrap_err(), "candidates[0].id: empty");
        let priced = Candidate { price: Some(f64::NEG_INFINITY), ..c("a", None) };
        assert_eq!(check(&[priced]).unwrap_err(), "candidates[0].price: -inf is not a finite number");
        let many: Vec<Candidate> = (0..1001).map(|i| c(&i.to_string(), None)).collect();
        assert_eq!(check(&many).unwrap_err(), "candidates: 1001 candidates, at most 1000 are accepted");
        let event = Event { item_id: "1".into(), kind: EventKind::View, ts: f64::NAN, title: None };
        assert_eq!(event.check("event", &L).unwrap_err().to_string(), "event.ts: NaN is not a finite number");
        check(&[c("a", Some(2.5)), c("b", None)]).unwrap();
    }

    /// The fast path answers for plain lists, with the reference path's candidates, and
    /// leaves everything else (each a case the reference refuses or reads its own way) to it.
    #[test]
    fn the_fast_path_agrees_with_the_reference() {
        let long = "é".repeat(600);
        let plain = [
            r#"[]"#.to_string(),
            r#"[{"id": "a", "title": "Zelda"}, {"id": 42, "title": "", "category": null, "price": 9.5, "serverScore": -1.25}]"#.into(),
            r#"[{"id": 42.0, "title": "t"}, {"id": -0, "title": "u"}, {"id": 9007199254740991, "title": "v"}]"#.into(),
            r#"[{"id": "\u00e9\n\"", "title": "esc \u2603 \\ \/", "category": "c\td"}]"#.into(),
            format!(r#"[{{"id": "a", "title": "{long}"}}]"#),
            r#"[{"id": "a", "title": "t", "price": null, "serverScore": null}]"#.into(),
        ];
        let refused = [
            r#"{}"#, r#"[1]"#, r#"[{"id": "a"}]"#, r#"[{"id": "a", "title": null}]"#, r#"[{"id": "a", "title": "t", "extra": 1}]"#,
            r#"[{"id": 1.5, "title": "t"}]"#, r#"[{"id": 9007199254740993, "title": "t"}]"#, r#"[{"id": true, "title": "t"}]"#,
            r#"[{"id": "", "title": "t"}]"#, r#"[{"id": "a", "title": "t"}, {"id": "a", "title": "u"}]"#,
            r#"[{"id": "a", "title": "t", "price": -1}]"#, r#"[{"id": "a", "title": "t", "serverScore": 1e39}]"#,
            r#"[{"id": "a", "title": "t", "price": "9"}]"#, r#"[{"id": "a", "title": "t", "price": 1e400}]"#,
            r#"[{"id": "a", "id": "b", "title": "t"}]"#, r#"[{"id": "a", "title": "t"}"#, r#"[{"id": "a", "title": 5}]"#,
        ];
        for text in &plain {
            let reference = Candidate::list_from_json(&serde_json::from_str(text).unwrap(), "candidates", &L).unwrap();
            assert_eq!(Candidate::plain_list_from_json_text(text.as_bytes(), &L), Some(reference), "{text}");
        }
        for text in refused {
            assert_eq!(Candidate::plain_list_from_json_text(text.as_bytes(), &L), None, "{text}");
            let reference = serde_json::from_str(text).map_err(|e| e.to_string()).and_then(|v| Candidate::list_from_json(&v, "candidates", &L).map_err(|e| e.to_string()));
            // Each is the reference's to judge; it accepts two: an unknown field (ignored) and a
            // repeated key (the last wins).
            let accepted = text.contains("extra") || text.contains(r#""id": "a", "id": "b""#);
            assert_eq!(reference.is_ok(), accepted, "{text}");
        }
        let many: Vec<Value> = (0..3).map(|i| json!({"id": i, "title": "t"})).collect();
        let small = Limits { candidates: 2, ..L };
        assert_eq!(Candidate::plain_list_from_json_text(Value::Array(many).to_string().as_bytes(), &small), None);
    }

    #[test]
    fn numeric_ids_become_strings() {
        let ok = Candidate::list_from_json(&json!([{"id": 42, "title": "t", "price": 9.5}]), "c", &L).unwrap();
        assert_eq!(ok[0].id, "42");
        assert_eq!(ok[0].price, Some(9.5));
    }

    #[test]
    fn event_errors_name_the_field() {
        let e = Event::from_json(&json!({"itemId": "1", "type": "like", "ts": 1}), "event", &L).unwrap_err();
        assert!(e.to_string().starts_with("event.type: unknown event type \"like\""), "{e}");
        let e = Event::from_json(&json!({"itemId": "1", "type": "view"}), "event", &L).unwrap_err();
        assert_eq!(e.to_string(), "event.ts: missing");
        let ok = Event::from_json(&json!({"itemId": 3, "type": "cart", "ts": 5, "title": "Zelda"}), "event", &L).unwrap();
        assert_eq!((ok.item_id.as_str(), ok.kind, ok.title.as_deref()), ("3", EventKind::Cart, Some("Zelda")));
    }
}

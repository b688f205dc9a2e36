//! The JavaScript face of the crate: the ONLY module that names `JsValue`, `js_sys` or
//! `wasm_bindgen`. It converts types and maps errors; every decision is made in the core.

use std::cell::RefCell;

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::api::{Candidate, Event, Limits, RerankOptions, settings_from_json};
use crate::backend::{Asked, Decision};
use crate::learn::LearnConfig;
use crate::private::PrivacyParams;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** What the shopper did. */
export type EventType = "view" | "click" | "cart" | "purchase";

/** One interaction of the current session. */
export interface SessionEvent {
  /** The item's catalog id. */
  itemId: string | number;
  type: EventType;
  /** Milliseconds since the epoch; only the order matters. */
  ts: number;
  /** The item's title, when the page knows it (new items are understood from it). */
  title?: string;
}

/** One server candidate; pass them in the server's order. */
export interface Candidate {
  id: string | number;
  title: string;
  category?: string;
  price?: number;
  /** The server's own relevance score, if it sends one. */
  serverScore?: number;
}

/** Each personal term's share of the blend, in [0, 1]; a term left out is kept in full (1). */
export interface TermShares {
  /** The session model's fit ("session-item" in a `why`). */
  fit?: number;
  /** The item-transition term. */
  transition?: number;
  /** The repeat prior. */
  repeat?: number;
  /** The association-rule term of the cart. */
  rule?: number;
}

export interface RerankOptions {
  /** The list order is the server's ranking (default true). Set false for unordered lists. */
  serverOrder?: boolean;
  /**
   * In [0, 1] (default 1): 0 keeps the server's order (only its term counts), 1 is fully
   * personal; in between the personal terms are scaled. An object scales each personal term
   * by its own share in [0, 1] (a term left out is kept in full), e.g. `{ fit: 0.03,
   * transition: 0.165, repeat: 0.165, rule: 0.165 }`.
   */
  personalization?: number | TermShares;
  /** No item moves more than this many places from its server position (an integer ≥ 0). */
  maxDisplacement?: number;
  /** The first this many server positions never move (sponsored or editorial slots). */
  pinned?: number;
  /**
   * In [0, 1] (default 0): above 0, maximal marginal relevance over the model's item vectors
   * trades score for items unlike those placed above them.
   */
  diversity?: number;
  /**
   * In [0, 1] (default 0, none): the page's rank-biased overlap (p = 0.9) with the server's
   * order stays at least this. Where `personalization` would move the page further, the blend
   * is lowered for that page alone (a per-page consistency guarantee).
   */
  minOverlap?: number;
  /**
   * Give the top items a `why`: true explains the first 10, a count (an integer ≥ 0) that
   * many. Each session event's part is measured by leaving it out (occlusion).
   */
  explain?: boolean | number;
}

/** What a term of an explanation refers to. */
export type WhyKind = "session-item" | "transition" | "rule" | "server" | "repeat";

/** One term of an explanation: its part of the item's score. */
export interface Why {
  kind: WhyKind;
  /**
   * The session event's item (session-item, transition, rule, repeat); for a repeat without
   * an event, the item itself, bought on an earlier visit (the long-term profile).
   */
  itemId?: string;
  /** The session event's index in `session()`, oldest first; absent for the profile's repeat and the server. */
  eventIndex?: number;
  /**
   * For an event: what the score loses when the event is left out, through this term. For
   * "server": the server's term itself.
   */
  weight: number;
}

export interface RankedItem {
  id: string;
  score: number;
  /** New 1-based position. */
  rank: number;
  /** 1-based position in the server's list. */
  serverRank: number;
  /**
   * With `explain`: the (at most 3) session events that took most from the score when left
   * out, largest first, each split by the term it flowed through, then the server's term.
   */
  why?: Why[];
}

/** On-device learning; every field optional. */
export interface LearningOptions {
  enabled?: boolean;
  /** Step size (0..1). */
  learningRate?: number;
  /** Gradient steps per update (1..20). */
  steps?: number;
  /** Pull towards the shipped head (0..100). */
  l2?: number;
  /** Largest norm of one step (0..10]. */
  maxStep?: number;
  /** Update after every N taken items (1..100). */
  every?: number;
  /** Also learn the query weight (d × d; default false). */
  weight?: boolean;
  /**
   * Also re-weigh the server's rank and score (default false: a shopper's few clicks rarely
   * say whether the server's order was right).
   */
  serverTrust?: boolean;
  /**
   * Keep a long-term profile of what the shopper bought beyond the session window, so the
   * repeat prior still knows it on later visits (default true; false empties it).
   */
  profile?: boolean;
}

/**
 * Input limits; every field optional (defaults in brackets). A call beyond one is refused with
 * an error naming the field, a longer title is cut.
 */
export interface Limits {
  /** Most candidates one rerank accepts [1000] (1..=10000). */
  candidates?: number;
  /** Longest title kept, in characters [512] (16..=4096); longer ones are cut. */
  titleChars?: number;
  /** Longest id, in UTF-8 bytes [256] (1..=1024). */
  idBytes?: number;
  /** Most session events kept [50] (1..=1000); the model reads at most its window (50). */
  events?: number;
  /** Largest state importState reads, bytes [4 MiB] (1 KiB..=64 MiB). */
  stateBytes?: number;
  /** Largest bundle create reads, bytes [64 MiB] (1 KiB..=256 MiB). */
  bundleBytes?: number;
  /**
   * Item vectors remembered between calls [4096] (0..=100000; about 420 bytes each). 0 turns
   * caching off, the session state's too: every call recomputes everything.
   */
  itemCache?: number;
}

/** An item for the cart, from the model's association rules ("frequently bought together"). */
export interface Complement {
  id: string;
  /** The cart items of the rule that proposes it. */
  because: string[];
  /** Share of the baskets holding `because` that also held this item. */
  confidence: number;
  /** Confidence over the item's own share of baskets. */
  lift: number;
  /** Share of all baskets holding `because` and this item. */
  support: number;
}

/** What this device keeps about its shopper (`stateSummary()`); none of it leaves the device. */
export interface StateSummary {
  /** Session events kept (what `session()` lists). */
  events: number;
  byType: { view: number; click: number; cart: number; purchase: number };
  /** How far on-device learning moved the personal head: ‖head − shipped‖ / ‖shipped‖ (0 = not at all). */
  headChange: number;
  /** Items the long-term profile keeps: bought beyond the session window. */
  profileItems: number;
  /** Size of the personal state (`exportState()`), in bytes. */
  stateBytes: number;
  /** Whether on-device learning is on. */
  learning: boolean;
}

export interface RestoreResult {
  restored: boolean;
  reason?: string;
}

export interface PrivacyOptions {
  /** L2 norm the update is clipped to. */
  clip: number;
  /** ε in (0, 1). */
  epsilon: number;
  /** δ in (0, 1). */
  delta: number;
}

export interface PrivateUpdate {
  mechanism: "gaussian";
  /** sha256 of the weights the update is relative to. */
  model: string;
  privacy: PrivacyOptions;
  values: number[];
}

export interface CreateOptions {
  /**
   * Compute backend. "auto" (default) uses WebGPU only when an adapter exists and a short
   * warm-up shows it faster than the CPU for this model on this device.
   */
  backend?: "auto" | "cpu" | "webgpu";
  /** Timed warm-up runs per backend for "auto" (1..50, default 5). */
  warmupRuns?: number;
  /**
   * The publisher's Ed25519 public key (64 hex digits). When given, only a bundle signed with
   * it (`pocketrank sign`) loads; any other is refused with `code: "bundle"`.
   */
  publicKey?: string;
  /** Input limits (see `Limits`); `setLimits` changes them later. */
  limits?: Limits;
}

/** How long each stage of `create` took, in milliseconds. */
export interface LoadTimings {
  /** Fetching (when given a URL) and compiling the wasm build, and instantiating it (the package entry measures it). */
  wasmMs?: number;
  /** Framing, the sha256 of every part, the signature when a key is pinned. */
  verifyMs: number;
  /** Config checks, weights unpacked, tokenizer, catalog and tables read, the CPU model built. */
  loadMs: number;
  /** The backend choice: for WebGPU the device, the model on it and any warm-up. */
  backendMs: number;
}

/** Which backend scores, and why. */
export interface BackendReport {
  name: "cpu" | "webgpu";
  reason: string;
  /** Warm-up median of one re-rank on the CPU, ms (when measured). */
  cpuMs?: number;
  /** Warm-up median of one re-rank on WebGPU, ms (when measured). */
  webgpuMs?: number;
}
"#;

// Some dependencies register themselves in static constructors (cubecl's kernels, through
// `inventory`, in the WebGPU build). Unless the module runs the constructors itself, wasm-ld
// wraps every export in a call to all of them, and the glue calls exports for every value it
// passes: each JS call became about 100 times slower (observe 2.5 ms instead of 0.02 ms,
// measured in Node). Referencing `__wasm_call_ctors` here makes wasm-ld leave exports alone.
unsafe extern "C" {
    fn __wasm_call_ctors();
}

/// Runs once, when the module is instantiated, before any other export.
#[wasm_bindgen(start)]
fn run_static_constructors() {
    // SAFETY: wasm-bindgen calls the start function exactly once, before anything else runs.
    unsafe { __wasm_call_ctors() }
}

/// Milliseconds from the page's monotonic clock (`performance.now()`, else `Date.now()`).
fn now_ms() -> f64 {
    let global = js_sys::global();
    let performance = js_sys::Reflect::get(&global, &"performance".into()).unwrap_or(JsValue::UNDEFINED);
    js_sys::Reflect::get(&performance, &"now".into())
        .ok()
        .and_then(|now| now.dyn_into::<js_sys::Function>().ok())
        .and_then(|now| now.call0(&performance).ok())
        .and_then(|ms| ms.as_f64())
        .unwrap_or_else(js_sys::Date::now)
}

/// How long each stage of `create` took, in milliseconds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadTimings {
    /// Framing, sha256 of every part, the signature when a key is pinned.
    verify_ms: f64,
    /// Config checks, weights unpacked, tokenizer, catalog and tables read, the CPU model built.
    load_ms: f64,
    /// The backend choice: for WebGPU the device, the model on it and any warm-up.
    backend_ms: f64,
}

/// A real JS `Error` with the message, and the kind's stable code as `error.code`, so a page
/// can branch on it.
fn js_error(e: crate::Error) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &e.code().into());
    error.into()
}

/// Deepest nesting of an argument. A request is three levels deep; a cycle (an object that
/// holds itself) or a hostile 4,000-deep array ends here with an error instead of exhausting
/// the stack.
const MAX_DEPTH: usize = 16;

/// Most values (objects, arrays and their entries) in one argument: 1,000 candidates of a few
/// fields each fit many times over.
const MAX_VALUES: usize = 100_000;

/// A JS argument as JSON, checked on the way: no NaN or ±Infinity, no lone surrogates, no
/// getters that throw, no cycles, bounded depth and size. Each problem is an error naming
/// the field. (serde-wasm-bindgen's own conversion turns NaN into null, rounds nothing but
/// lets a throwing getter unwind through the module, which later corrupts its memory.)
fn to_json(value: JsValue, path: &str) -> Result<Value, JsValue> {
    to_json_from(&value, plain_json_text(&value), path)
}

/// [`to_json`] with the value's JSON text already asked for (`None`: it has none).
fn to_json_from(value: &JsValue, text: Option<Vec<u8>>, path: &str) -> Result<Value, JsValue> {
    if let Some(plain) = text.and_then(|text| plain_json(&text)) {
        return Ok(plain);
    }
    let mut budget = MAX_VALUES;
    convert(value, path, 0, &mut budget).map_err(js_error)
}

/// Candidates from a JS argument: a plain list read straight from its JSON text
/// ([`Candidate::plain_list_from_json_text`]), anything else through [`to_json`] and the
/// reference parser, which names the problem.
fn to_candidates(value: &JsValue, limits: &Limits) -> Result<Vec<Candidate>, JsValue> {
    let text = plain_json_text(value);
    if let Some(list) = text.as_deref().and_then(|text| Candidate::plain_list_from_json_text(text, limits)) {
        return Ok(list);
    }
    Candidate::list_from_json(&to_json_from(value, text, "candidates")?, "candidates", limits).map_err(js_error)
}

// The fast path for the common case, a plain value: JSON.stringify in the engine, its text
// handed over as UTF-8 bytes (one call instead of several per value across the wasm
// boundary; measured in Node, converting 100 candidates value by value took more time than
// scoring them). A first walk checks that the value is plain: objects of Object's prototype
// (or none), arrays, strings, booleans, null, finite numbers, at most MAX_DEPTH deep; then
// JSON.stringify runs without a replacer, which keeps V8 on its fast path (a replacer, called
// per value, cost 45 µs of a 100-candidate list against 32 µs for walk and stringify). A
// getter may answer the second read differently: a text holding `null` (where JSON writes NaN,
// ±Infinity and functions in arrays) takes the replacer, which judges every value in the one
// read it serialises. The replacer marks what JSON would silently change (NaN, ±Infinity,
// functions, symbols, objects with toJSON); a throw (getter, cycle, BigInt), a mark, or text
// serde_json refuses (lone surrogates, which JSON.stringify escapes) sends the value down
// `convert`, which names the field and the problem. All read a property set to undefined as
// absent.
#[wasm_bindgen(inline_js = r#"
const encoder = new TextEncoder();
function plain(v, depth) {
  switch (typeof v) {
    case "string": case "boolean": case "undefined": return true;
    case "number": return Number.isFinite(v);
    case "object": {
      if (v === null) return true;
      if (depth >= 16) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!plain(v[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in v) if (!plain(v[key], depth + 1)) return false;
      return true;
    }
    default: return false;
  }
}
function marked(value) {
  let odd = false;
  const text = JSON.stringify(value, function (key, v) {
    const t = typeof v;
    if (t === "function" || t === "symbol" || (t === "number" && !Number.isFinite(v))) odd = true;
    else if (t === "object" && v !== null && typeof this[key]?.toJSON === "function") odd = true;
    return v;
  });
  return odd ? undefined : text;
}
export function plainJson(value) {
  if (value === undefined || value === null || typeof value !== "object") return undefined;
  let text;
  try {
    text = plain(value, 0) ? JSON.stringify(value) : undefined;
    if (text === undefined || text.includes("null")) text = marked(value);
  } catch {
    return undefined;
  }
  return text === undefined ? undefined : encoder.encode(text);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = plainJson)]
    fn plain_json_bytes(value: &JsValue) -> JsValue;
}

/// A value's JSON text as UTF-8 from the fast path, or `None` when it needs `convert`'s care.
fn plain_json_text(value: &JsValue) -> Option<Vec<u8>> {
    plain_json_bytes(value).dyn_ref::<js_sys::Uint8Array>().map(js_sys::Uint8Array::to_vec)
}

/// A value's JSON text (from [`plain_json_text`]) parsed, or `None` when it needs `convert`'s care.
fn plain_json(text: &[u8]) -> Option<Value> {
    let parsed: Value = serde_json::from_slice(text).ok()?;
    let mut budget = MAX_VALUES;
    within_bounds(&parsed, 0, &mut budget).then_some(parsed)
}

/// Whether `value` is within [`MAX_DEPTH`] and [`MAX_VALUES`] (else `convert` says which).
fn within_bounds(value: &Value, depth: usize, budget: &mut usize) -> bool {
    let Some(left) = budget.checked_sub(1) else { return false };
    *budget = left;
    match value {
        Value::Array(items) => depth < MAX_DEPTH && items.iter().all(|v| within_bounds(v, depth.saturating_add(1), budget)),
        Value::Object(map) => depth < MAX_DEPTH && map.values().all(|v| within_bounds(v, depth.saturating_add(1), budget)),
        _ => true,
    }
}

fn convert(value: &JsValue, path: &str, depth: usize, budget: &mut usize) -> crate::Result<Value> {
    use js_sys::{Array, JsString, Object, Reflect};
    *budget = budget.checked_sub(1).ok_or_else(|| crate::Error::invalid(path, format!("more than {MAX_VALUES} values in one argument")))?;
    if value.is_undefined() || value.is_null() {
        return Ok(Value::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(x) = value.as_f64() {
        if !x.is_finite() {
            return Err(crate::Error::invalid(path, format!("{x} is not a finite number")));
        }
        // Integral values as integers, as JSON would carry them (so `steps: 3` is a usize).
        let exact = x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0;
        return Ok(if exact { Value::from(x as i64) } else { serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number) });
    }
    if let Some(text) = value.dyn_ref::<JsString>() {
        if !text.is_valid_utf16() {
            return Err(crate::Error::invalid(path, "not valid Unicode (a lone surrogate): two different strings would read the same"));
        }
        return Ok(Value::String(String::from(text)));
    }
    if depth >= MAX_DEPTH {
        return Err(crate::Error::invalid(path, format!("nested deeper than {MAX_DEPTH} levels (an object that holds itself?)")));
    }
    let read = |target: &JsValue, key: &JsValue, at: &str| Reflect::get(target, key).map_err(|e| crate::Error::invalid(at, format!("reading it threw: {}", describe(&e))));
    if Array::is_array(value) {
        let array = Array::from(value);
        let length = array.length() as usize;
        if length > *budget {
            return Err(crate::Error::invalid(path, format!("{length} entries, more than {MAX_VALUES} values in one argument")));
        }
        return (0..length)
            .map(|i| {
                let at = format!("{path}[{i}]");
                convert(&read(value, &JsValue::from(i as u32), &at)?, &at, depth.saturating_add(1), budget)
            })
            .collect::<crate::Result<Vec<_>>>()
            .map(Value::Array);
    }
    if value.is_object() && !value.is_function() {
        let mut map = serde_json::Map::new();
        for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
            let name = key.as_string().unwrap_or_default();
            let at = format!("{path}.{name}");
            let field = read(value, &key, &at)?;
            // A property set to undefined is absent, as JSON.stringify and every JS API read it.
            if !field.is_undefined() {
                map.insert(name, convert(&field, &at, depth.saturating_add(1), budget)?);
            }
        }
        return Ok(Value::Object(map));
    }
    let kind = value.js_typeof().as_string().unwrap_or_default();
    Err(crate::Error::invalid(path, format!("a {kind} is not accepted here")))
}

/// A thrown JS value in words.
fn describe(thrown: &JsValue) -> String {
    thrown.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| thrown.as_string()).unwrap_or_else(|| "a non-Error value".into())
}

/// Bytes from a JS argument: a Uint8Array, any other typed array or DataView (its bytes), or
/// an ArrayBuffer (what `fetch().arrayBuffer()` gives); at most `limit` of them.
fn to_bytes(value: &JsValue, path: &str, limit: usize) -> crate::Result<Vec<u8>> {
    let view = if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        js_sys::Uint8Array::new(buffer)
    } else if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
        bytes.clone()
    } else if js_sys::ArrayBuffer::is_view(value) {
        let buffer = js_sys::Reflect::get(value, &"buffer".into()).map_err(|e| crate::Error::invalid(path, describe(&e)))?;
        let number = |name: &str| js_sys::Reflect::get(value, &name.into()).ok().and_then(|n| n.as_f64()).unwrap_or(0.0) as u32;
        js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, number("byteOffset"), number("byteLength"))
    } else {
        let kind = if value.is_null() { "null".to_string() } else { value.js_typeof().as_string().unwrap_or_default() };
        return Err(crate::Error::invalid(path, format!("expected bytes (a Uint8Array, another typed array or an ArrayBuffer), got {kind}")));
    };
    let length = view.length() as usize;
    if length > limit {
        return Err(crate::Error::invalid(path, format!("{length} bytes, at most {limit} are accepted")));
    }
    Ok(view.to_vec())
}

// A re-ranked list as JS objects, built on the JS side from two arguments: the ids as one JSON
// array text and a Float64Array view of (server position, score) in the new order. Measured
// in Node for 100 items: 4.7 µs, against 25–30 µs for JSON.parse of the objects, and
// serde-wasm-bindgen's object-by-object build was 14 % of a warm re-rank in a V8 profile.
#[wasm_bindgen(inline_js = r#"
export function rankedList(idsJson, packed, whysJson) {
  const ids = JSON.parse(idsJson);
  const whys = whysJson === "" ? [] : JSON.parse(whysJson);
  const out = new Array(ids.length);
  for (let i = 0; i < out.length; i++) {
    const at = packed[2 * i];
    out[i] = { id: ids[at], score: packed[2 * i + 1], rank: i + 1, serverRank: at + 1 };
    if (i < whys.length) out[i].why = whys[i];
  }
  return out;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = rankedList)]
    fn ranked_list(ids_json: &str, packed: &[f64], whys_json: &str) -> JsValue;
}

/// `ranked` (in its new order) as `RankedItem[]`: what serde-wasm-bindgen would build from
/// [`crate::Ranked`]'s fields, in one crossing.
fn ranked_to_js(ranked: &[crate::Ranked]) -> JsValue {
    let mut by_server = vec![""; ranked.len()];
    let mut packed = Vec::with_capacity(ranked.len().saturating_mul(2));
    for item in ranked {
        let at = item.server_rank.saturating_sub(1);
        if let Some(slot) = by_server.get_mut(at) {
            *slot = &item.id;
        }
        packed.extend([at as f64, f64::from(item.score)]);
    }
    // The explanations of the first items, in the new order ("" when none were asked for).
    let whys: Vec<&Vec<crate::api::Why>> = ranked.iter().map_while(|item| item.why.as_ref()).collect();
    let whys = if whys.is_empty() { String::new() } else { serde_json::to_string(&whys).unwrap_or_default() };
    // A list of strings always serialises.
    ranked_list(&serde_json::to_string(&by_server).unwrap_or_else(|_| "[]".into()), &packed, &whys)
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(crate::Error::model(e)))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct CreateOptions {
    backend: Asked,
    warmup_runs: usize,
    /// Why the page has no WebGPU, as the package entry found it (it then loads this build).
    adapter_problem: Option<String>,
    /// The publisher's Ed25519 public key, hex: only bundles it signed load.
    public_key: Option<String>,
    limits: Limits,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions { backend: Asked::Auto, warmup_runs: 5, adapter_problem: None, public_key: None, limits: Limits::default() }
    }
}

/// Apply `decision` to `personalizer` (a `Measure` is not one: the WebGPU build measures).
fn apply(personalizer: &mut crate::Personalizer, decision: Decision) -> Result<(), JsValue> {
    match decision {
        Decision::Use(report) => {
            personalizer.use_cpu(report);
            Ok(())
        }
        Decision::Refuse(e) => Err(js_error(e)),
        Decision::Measure => Err(js_error(crate::Error::model("a warm-up was asked of the CPU build"))),
    }
}

/// A shopper's on-device re-ranker. Every method borrows the personalizer for the length of
/// the call; `rerank` may wait on the GPU, and a call that overlaps it is refused with an
/// error instead of touching half-updated state (the package's wrapper queues calls).
#[wasm_bindgen(js_name = Personalizer)]
pub struct JsPersonalizer {
    inner: RefCell<crate::Personalizer>,
    timings: LoadTimings,
}

impl JsPersonalizer {
    fn with<T>(&self, f: impl FnOnce(&mut crate::Personalizer) -> crate::Result<T>) -> Result<T, JsValue> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        f(&mut inner).map_err(js_error)
    }
}

fn busy() -> JsValue {
    js_error(crate::Error::invalid("personalizer", "busy with another call (await each call before the next)"))
}

#[cfg(feature = "webgpu")]
mod gpu;
#[cfg(feature = "webgpu")]
use gpu::choose_backend;

/// The CPU build: the package loads it when the page asked for the CPU or has no adapter.
#[cfg(not(feature = "webgpu"))]
async fn choose_backend(personalizer: &mut crate::Personalizer, _bundle: &crate::Bundle, options: &CreateOptions) -> Result<(), JsValue> {
    let problem = options.adapter_problem.as_deref().unwrap_or("this is the CPU build (the package loads the WebGPU build where the browser has an adapter)");
    apply(personalizer, crate::backend::decide(options.backend, crate::backend::Evidence::Absent(problem)))
}

#[wasm_bindgen(js_class = Personalizer)]
impl JsPersonalizer {
    /// Verify a model bundle and load it on the backend `options.backend` picks. Rejects with
    /// an `Error` naming the problem.
    pub async fn create(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | ArrayBufferView")] bundle: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CreateOptions")] options: Option<JsValue>,
    ) -> Result<JsPersonalizer, JsValue> {
        let options: CreateOptions = settings_from_json(to_json(options.unwrap_or(JsValue::UNDEFINED), "options")?, "options").map_err(js_error)?;
        if !(1..=50).contains(&options.warmup_runs) {
            return Err(js_error(crate::Error::invalid("options.warmupRuns", "must be in 1..=50")));
        }
        options.limits.validate("options.limits").map_err(js_error)?;
        let start = now_ms();
        let bundle = crate::Bundle::from_bytes(&to_bytes(&bundle, "bundle", options.limits.bundle_bytes).map_err(js_error)?).map_err(js_error)?;
        if let Some(hex) = &options.public_key {
            let key = crate::bundle::sign::key_from_hex(hex, "options.publicKey").map_err(js_error)?;
            crate::bundle::sign::verify(&bundle, &key).map_err(js_error)?;
        }
        let verified = now_ms();
        let mut inner = crate::Personalizer::new(crate::Ranker::from_bundle(&bundle, burn::tensor::Device::flex()).map_err(js_error)?).map_err(js_error)?;
        inner.set_limits(options.limits).map_err(js_error)?;
        let loaded = now_ms();
        choose_backend(&mut inner, &bundle, &options).await?;
        let timings = LoadTimings { verify_ms: verified - start, load_ms: loaded - verified, backend_ms: now_ms() - loaded };
        Ok(JsPersonalizer { inner: RefCell::new(inner), timings })
    }

    /// How long each stage of `create` took (ms): `verifyMs`, `loadMs`, `backendMs`.
    #[wasm_bindgen(getter, js_name = loadTimings, unchecked_return_type = "LoadTimings")]
    pub fn load_timings(&self) -> Result<JsValue, JsValue> {
        to_js(&self.timings)
    }

    /// The backend in use and why (`name` turns to "cpu" if the GPU fails).
    #[wasm_bindgen(getter, unchecked_return_type = "BackendReport")]
    pub fn backend(&self) -> Result<JsValue, JsValue> {
        to_js(&self.with(|p| Ok(p.backend().clone()))?)
    }

    /// Record one event of the current session; a click, cart or purchase of a shown item
    /// also updates the personal head (unless learning is off).
    pub fn observe(&self, #[wasm_bindgen(unchecked_param_type = "SessionEvent")] event: JsValue) -> Result<(), JsValue> {
        let event = to_json(event, "event")?;
        self.with(|p| p.observe(Event::from_json(&event, "event", p.limits())?))
    }

    /// Change the on-device learning settings.
    #[wasm_bindgen(js_name = setLearning)]
    pub fn set_learning(&self, #[wasm_bindgen(unchecked_param_type = "LearningOptions")] options: JsValue) -> Result<(), JsValue> {
        let config: LearnConfig = settings_from_json(to_json(options, "learning")?, "learning").map_err(js_error)?;
        self.with(|p| p.set_learning(config))
    }

    /// Change the input limits; a smaller `events` drops the oldest events now.
    #[wasm_bindgen(js_name = setLimits)]
    pub fn set_limits(&self, #[wasm_bindgen(unchecked_param_type = "Limits")] limits: JsValue) -> Result<(), JsValue> {
        let limits: Limits = settings_from_json(to_json(limits, "limits")?, "limits").map_err(js_error)?;
        self.with(|p| p.set_limits(limits))
    }

    /// Personal state (format version, model fingerprint, personal head, session, checksum).
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self) -> Result<Vec<u8>, JsValue> {
        self.with(|p| p.export_state())
    }

    /// Restore a state. Corrupted bytes throw and leave a clean start; a state of another
    /// model or format is discarded (`{restored: false, reason}`).
    #[wasm_bindgen(js_name = importState, unchecked_return_type = "RestoreResult")]
    pub fn import_state(&self, #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue) -> Result<JsValue, JsValue> {
        // A clean start first, whatever the argument: the promise is a clean start on any error.
        let bytes = self.with(|p| {
            p.forget()?;
            to_bytes(&bytes, "state", p.limits().state_bytes)
        })?;
        to_js(&self.with(|p| p.import_state(&bytes))?)
    }

    /// Back to the shipped head with an empty session.
    pub fn forget(&self) -> Result<(), JsValue> {
        self.with(|p| p.forget())
    }

    /// Opt-in: the personal head's change, clipped to `clip` and noised for (ε, δ).
    #[wasm_bindgen(js_name = exportPrivateUpdate, unchecked_return_type = "PrivateUpdate")]
    pub fn export_private_update(&self, #[wasm_bindgen(unchecked_param_type = "PrivacyOptions")] privacy: JsValue) -> Result<JsValue, JsValue> {
        let privacy: PrivacyParams = settings_from_json(to_json(privacy, "privacy")?, "privacy").map_err(js_error)?;
        to_js(&self.with(|p| p.export_private_update(&privacy))?)
    }

    /// Re-rank server candidates (in server order) for the current session. A promise: on
    /// WebGPU the scores are read back from the GPU.
    #[wasm_bindgen(unchecked_return_type = "RankedItem[]")]
    // Held across the GPU readback on purpose: a call that overlaps gets the "busy" error
    // instead of seeing a half-done re-rank (the package's wrapper never overlaps calls).
    #[allow(clippy::await_holding_refcell_ref)]
    pub async fn rerank(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Candidate[]")] candidates: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let options = RerankOptions::from_json(&to_json(options.unwrap_or(JsValue::UNDEFINED), "options")?, "options").map_err(js_error)?;
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let candidates = to_candidates(&candidates, inner.limits())?;
        Ok(ranked_to_js(&inner.rerank_async(&candidates, &options).await.map_err(js_error)?))
    }

    /// The session's events, oldest first.
    #[wasm_bindgen(unchecked_return_type = "SessionEvent[]")]
    pub fn session(&self) -> Result<JsValue, JsValue> {
        to_js(&self.with(|p| Ok(p.session().to_vec()))?)
    }

    /// Up to `k` items completing the session's cart (its `cart` and `purchase` events), from
    /// the model's association rules, best first; [] when the model ships none.
    #[wasm_bindgen(unchecked_return_type = "Complement[]")]
    pub fn complements(&self, #[wasm_bindgen(unchecked_param_type = "number")] k: JsValue) -> Result<JsValue, JsValue> {
        let k = to_json(k, "k")?;
        to_js(&self.with(|p| p.complements(crate::api::count_from_json(&k, "k", p.limits().candidates)?))?)
    }

    /// What this device keeps about its shopper: events by type, how far learning moved the
    /// head, the state's size.
    #[wasm_bindgen(js_name = stateSummary, unchecked_return_type = "StateSummary")]
    pub fn state_summary(&self) -> Result<JsValue, JsValue> {
        to_js(&self.with(|p| p.state_summary())?)
    }

    /// Forget the session's events.
    #[wasm_bindgen(js_name = clearSession)]
    pub fn clear_session(&self) -> Result<(), JsValue> {
        self.with(|p| {
            p.clear_session();
            Ok(())
        })
    }
}

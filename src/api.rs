//! What callers hand in: session events, server candidates, re-rank options; and what they
//! get back. Parsed from JSON values with errors that name the exact field, so the CLI
//! (JSON files) and the browser (JS objects) share one validator.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Most candidates one call may re-rank.
pub const MAX_CANDIDATES: usize = 1000;

/// Longest title kept, in characters; a longer one is cut here. The model reads its first 16
/// tokens, and a title is kept in the session and the personal state, so a 1 MB title would
/// cost time and storage for nothing.
pub const MAX_TITLE_CHARS: usize = 512;

/// Longest id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

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
}

impl Default for RerankOptions {
    fn default() -> Self {
        RerankOptions { server_order: true }
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
    /// The score's terms (their sum is `score`). Rust callers read them; the JS API does not
    /// send them yet.
    #[serde(skip)]
    pub terms: crate::rank::score::Terms,
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

fn id_field(map: &Map<String, Value>, path: &str, name: &str) -> Result<String> {
    let path = format!("{path}.{name}");
    let id = match map.get(name) {
        None | Some(Value::Null) => return Err(Error::invalid(path, "missing")),
        Some(Value::String(s)) if s.trim().is_empty() => return Err(Error::invalid(path, "empty")),
        Some(Value::String(s)) => s.clone(),
        // A JS number is exact up to 2^53; above that, or with a fraction, it is not an id
        // the page can have meant: two different ids could arrive as one.
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if i.unsigned_abs() as f64 <= MAX_SAFE_INTEGER => i.to_string(),
            (None, Some(x)) if x.fract() == 0.0 && x.abs() <= MAX_SAFE_INTEGER => format!("{x:.0}"),
            _ => return Err(Error::invalid(path, "a number id must be a safe integer (no fraction, at most 2^53 − 1); send other ids as strings")),
        },
        Some(other) => return Err(Error::invalid(path, format!("expected a string or number, got {}", kind_of(other)))),
    };
    if id.len() > MAX_ID_BYTES {
        return Err(Error::invalid(path, format!("{} bytes long, at most {MAX_ID_BYTES}", id.len())));
    }
    Ok(id)
}

fn optional_string(map: &Map<String, Value>, path: &str, name: &str) -> Result<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::invalid(format!("{path}.{name}"), format!("expected a string, got {}", kind_of(other)))),
    }
}

/// A title, cut to [`MAX_TITLE_CHARS`] characters.
fn optional_title(map: &Map<String, Value>, path: &str) -> Result<Option<String>> {
    Ok(optional_string(map, path, "title")?.map(|mut title| {
        if let Some((cut, _)) = title.char_indices().nth(MAX_TITLE_CHARS) {
            title.truncate(cut);
        }
        title
    }))
}

/// A finite number (JSON has no others; the wasm layer refuses NaN and ±Infinity on the way
/// in), within f32's range when the model reads it as f32 (`for_model`): 1e39 would become
/// infinite there and poison every score and the personal head.
fn optional_number(map: &Map<String, Value>, path: &str, name: &str, for_model: bool) -> Result<Option<f64>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x.is_finite() && (!for_model || x.abs() <= f64::from(f32::MAX)) => Ok(Some(x)),
            _ => Err(Error::invalid(format!("{path}.{name}"), "outside the range of a 32-bit float (±3.4e38)")),
        },
        Some(other) => Err(Error::invalid(format!("{path}.{name}"), format!("expected a number, got {}", kind_of(other)))),
    }
}

impl Event {
    /// Validate one event; `path` names it in errors (e.g. `event`).
    pub fn from_json(value: &Value, path: &str) -> Result<Event> {
        let map = object(value, path)?;
        let kind = match map.get("type") {
            None | Some(Value::Null) => return Err(Error::invalid(format!("{path}.type"), "missing")),
            Some(Value::String(s)) => EventKind::parse(s, &format!("{path}.type"))?,
            Some(other) => return Err(Error::invalid(format!("{path}.type"), format!("expected a string, got {}", kind_of(other)))),
        };
        let ts = optional_number(map, path, "ts", false)?.ok_or_else(|| Error::invalid(format!("{path}.ts"), "missing"))?;
        Ok(Event { item_id: id_field(map, path, "itemId")?, kind, ts, title: optional_title(map, path)? })
    }
}

impl Candidate {
    /// Validate a candidate list (`path` names it, e.g. `candidates`): an array of at most
    /// [`MAX_CANDIDATES`] objects with distinct ids.
    pub fn list_from_json(value: &Value, path: &str) -> Result<Vec<Candidate>> {
        let items = value.as_array().ok_or_else(|| Error::invalid(path, format!("expected an array, got {}", kind_of(value))))?;
        if items.len() > MAX_CANDIDATES {
            return Err(Error::invalid(path, format!("{} candidates, at most {MAX_CANDIDATES} are accepted", items.len())));
        }
        let mut seen = std::collections::HashMap::with_capacity(items.len());
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{path}[{i}]");
                let map = object(item, &at)?;
                let id = id_field(map, &at, "id")?;
                if let Some(first) = seen.insert(id.clone(), i) {
                    return Err(Error::invalid(format!("{at}.id"), format!("duplicate of {path}[{first}].id ({id:?})")));
                }
                let title = optional_title(map, &at)?.ok_or_else(|| Error::invalid(format!("{at}.title"), "missing"))?;
                let price = optional_number(map, &at, "price", false)?;
                if price.is_some_and(|p| p < 0.0) {
                    return Err(Error::invalid(format!("{at}.price"), "negative"));
                }
                Ok(Candidate {
                    id,
                    title,
                    category: optional_string(map, &at, "category")?,
                    price,
                    server_score: optional_number(map, &at, "serverScore", true)?,
                })
            })
            .collect()
    }
}

impl RerankOptions {
    /// Validate options; `null`/absent means the defaults.
    pub fn from_json(value: &Value, path: &str) -> Result<RerankOptions> {
        if value.is_null() {
            return Ok(RerankOptions::default());
        }
        let map = object(value, path)?;
        if let Some(unknown) = map.keys().find(|k| k.as_str() != "serverOrder") {
            return Err(Error::invalid(format!("{path}.{unknown}"), "unknown option (expected serverOrder)"));
        }
        let server_order = match map.get("serverOrder") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(Error::invalid(format!("{path}.serverOrder"), format!("expected a boolean, got {}", kind_of(other)))),
        };
        Ok(RerankOptions { server_order })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn candidate_errors_name_the_field() {
        let bad = json!([{"id": "a", "title": "x"}, {"id": "", "title": "y"}]);
        assert_eq!(Candidate::list_from_json(&bad, "candidates").unwrap_err().to_string(), "candidates[1].id: empty");
        let dup = json!([{"id": "a", "title": "x"}, {"id": "a", "title": "y"}]);
        assert!(Candidate::list_from_json(&dup, "candidates").unwrap_err().to_string().starts_with("candidates[1].id: duplicate of candidates[0].id"));
        let no_title = json!([{"id": 7}]);
        assert_eq!(Candidate::list_from_json(&no_title, "candidates").unwrap_err().to_string(), "candidates[0].title: missing");
        let score = json!([{"id": 7, "title": "t", "serverScore": "high"}]);
        assert_eq!(Candidate::list_from_json(&score, "candidates").unwrap_err().to_string(), "candidates[0].serverScore: expected a number, got a string");
        assert_eq!(Candidate::list_from_json(&json!({}), "candidates").unwrap_err().to_string(), "candidates: expected an array, got an object");
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

    #[test]
    fn numeric_ids_become_strings() {
        let ok = Candidate::list_from_json(&json!([{"id": 42, "title": "t", "price": 9.5}]), "c").unwrap();
        assert_eq!(ok[0].id, "42");
        assert_eq!(ok[0].price, Some(9.5));
    }

    #[test]
    fn event_errors_name_the_field() {
        let e = Event::from_json(&json!({"itemId": "1", "type": "like", "ts": 1}), "event").unwrap_err();
        assert!(e.to_string().starts_with("event.type: unknown event type \"like\""), "{e}");
        let e = Event::from_json(&json!({"itemId": "1", "type": "view"}), "event").unwrap_err();
        assert_eq!(e.to_string(), "event.ts: missing");
        let ok = Event::from_json(&json!({"itemId": 3, "type": "cart", "ts": 5, "title": "Zelda"}), "event").unwrap();
        assert_eq!((ok.item_id.as_str(), ok.kind, ok.title.as_deref()), ("3", EventKind::Cart, Some("Zelda")));
    }
}

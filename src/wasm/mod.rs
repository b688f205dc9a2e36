//! The JavaScript face of the crate: the ONLY module that names `JsValue`, `js_sys` or
//! `wasm_bindgen`. It converts types and maps errors; every decision is made in the core.

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::input::{Candidate, Event, RerankOptions, settings_from_json};
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

export interface RerankOptions {
  /** The list order is the server's ranking (default true). Set false for unordered lists. */
  serverOrder?: boolean;
}

export interface RankedItem {
  id: string;
  score: number;
  /** New 1-based position. */
  rank: number;
  /** 1-based position in the server's list. */
  serverRank: number;
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
  /** Compute backend; this build runs on the CPU ("auto" picks it). */
  backend?: "auto" | "cpu";
}
"#;

fn js_error(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

fn to_json(value: JsValue, path: &str) -> Result<Value, JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(Value::Null);
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("{path}: {e}")))
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// A shopper's on-device re-ranker.
#[wasm_bindgen(js_name = Personalizer)]
pub struct JsPersonalizer {
    inner: crate::Personalizer,
    backend: String,
}

#[wasm_bindgen(js_class = Personalizer)]
impl JsPersonalizer {
    /// Verify a model bundle and load it. Rejects with an `Error` naming the problem.
    pub async fn create(
        bundle: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "CreateOptions")] options: Option<JsValue>,
    ) -> Result<JsPersonalizer, JsError> {
        let options = to_json(options.unwrap_or(JsValue::UNDEFINED), "options")?;
        let backend = match options.get("backend") {
            None | Some(Value::Null) => "cpu",
            Some(Value::String(s)) if s == "auto" || s == "cpu" => "cpu",
            Some(Value::String(s)) if s == "webgpu" => {
                return Err(JsError::new("options.backend: \"webgpu\" is not available in this build (use \"auto\" or \"cpu\")"));
            }
            Some(other) => return Err(JsError::new(&format!("options.backend: expected \"auto\" or \"cpu\", got {other}"))),
        };
        let inner = crate::Personalizer::from_bundle_bytes(&bundle).map_err(js_error)?;
        Ok(JsPersonalizer { inner, backend: backend.to_string() })
    }

    /// The backend in use.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Record one event of the current session; a click, cart or purchase of a shown item
    /// also updates the personal head (unless learning is off).
    pub fn observe(&mut self, #[wasm_bindgen(unchecked_param_type = "SessionEvent")] event: JsValue) -> Result<(), JsError> {
        let event = Event::from_json(&to_json(event, "event")?, "event").map_err(js_error)?;
        self.inner.observe(event).map_err(js_error)
    }

    /// Change the on-device learning settings.
    #[wasm_bindgen(js_name = setLearning)]
    pub fn set_learning(&mut self, #[wasm_bindgen(unchecked_param_type = "LearningOptions")] options: JsValue) -> Result<(), JsError> {
        let config: LearnConfig = settings_from_json(to_json(options, "learning")?, "learning").map_err(js_error)?;
        self.inner.set_learning(config).map_err(js_error)
    }

    /// Personal state (format version, model fingerprint, personal head, session, checksum).
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self) -> Result<Vec<u8>, JsError> {
        self.inner.export_state().map_err(js_error)
    }

    /// Restore a state. Corrupted bytes throw and leave a clean start; a state of another
    /// model or format is discarded (`{restored: false, reason}`).
    #[wasm_bindgen(js_name = importState, unchecked_return_type = "RestoreResult")]
    pub fn import_state(&mut self, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        to_js(&self.inner.import_state(&bytes).map_err(js_error)?)
    }

    /// Back to the shipped head with an empty session.
    pub fn forget(&mut self) -> Result<(), JsError> {
        self.inner.forget().map_err(js_error)
    }

    /// Opt-in: the personal head's change, clipped to `clip` and noised for (ε, δ).
    #[wasm_bindgen(js_name = exportPrivateUpdate, unchecked_return_type = "PrivateUpdate")]
    pub fn export_private_update(&self, #[wasm_bindgen(unchecked_param_type = "PrivacyOptions")] privacy: JsValue) -> Result<JsValue, JsError> {
        let privacy: PrivacyParams = settings_from_json(to_json(privacy, "privacy")?, "privacy").map_err(js_error)?;
        to_js(&self.inner.export_private_update(&privacy).map_err(js_error)?)
    }

    /// Re-rank server candidates (in server order) for the current session.
    #[wasm_bindgen(unchecked_return_type = "RankedItem[]")]
    pub fn rerank(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Candidate[]")] candidates: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsError> {
        let candidates = Candidate::list_from_json(&to_json(candidates, "candidates")?, "candidates").map_err(js_error)?;
        let options = RerankOptions::from_json(&to_json(options.unwrap_or(JsValue::UNDEFINED), "options")?, "options").map_err(js_error)?;
        to_js(&self.inner.rerank(&candidates, &options).map_err(js_error)?)
    }

    /// The session's events, oldest first.
    #[wasm_bindgen(unchecked_return_type = "SessionEvent[]")]
    pub fn session(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.session())
    }

    /// Forget the session's events.
    #[wasm_bindgen(js_name = clearSession)]
    pub fn clear_session(&mut self) {
        self.inner.clear_session();
    }
}

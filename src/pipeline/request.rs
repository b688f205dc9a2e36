//! Re-rank requests for the CLI (`pocketrank rerank`): a JSON request file, or real test
//! sessions of a data set, re-ranked by a model on the CPU.

use std::path::Path;

use burn::tensor::Device;
use serde_json::Value;

use super::load_ranker;
use crate::api::{Candidate, Event, Limits, Ranked, RerankOptions};
use crate::catalog::window;
use crate::error::{Error, Result};
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{self, Protocol};

/// One re-ranking request.
pub struct Session {
    /// Where it came from, for the printout.
    pub label: String,
    /// The session, oldest first.
    pub events: Vec<Event>,
    /// Server candidates, in server order.
    pub candidates: Vec<Candidate>,
    /// Re-rank options.
    pub options: RerankOptions,
    /// Item id → title, for printing.
    pub titles: std::collections::HashMap<String, String>,
}

/// A request file: `{"events": [...], "candidates": [...], "options": {...}}`, validated as
/// the JS API validates the same objects.
pub fn read_request(path: &Path) -> Result<Session> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| Error::invalid(path.display(), format!("not JSON: {e}")))?;
    let limits = Limits::default();
    let events = match value.get("events") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| Event::from_json(v, &format!("events[{i}]"), &limits)).collect::<Result<_>>()?,
        Some(_) => return Err(Error::invalid("events", "expected an array")),
    };
    let candidates = Candidate::list_from_json(value.get("candidates").unwrap_or(&Value::Null), "candidates", &limits)?;
    let options = RerankOptions::from_json(value.get("options").unwrap_or(&Value::Null), "options")?;
    let titles = candidates.iter().map(|c| (c.id.clone(), c.title.clone())).collect();
    Ok(Session { label: path.display().to_string(), events, candidates, options, titles })
}

/// `pocketrank rerank`: each session of [`sessions`], re-ranked by the model (directory or
/// bundle) in `model` on the CPU.
pub fn rerank(model: &Path, request: Option<&Path>, data: Option<&Path>, users: usize) -> Result<Vec<(Session, Vec<Ranked>)>> {
    let ranker = load_ranker(model, Device::flex())?;
    sessions(request, data, users, ranker.max_events())?
        .into_iter()
        .map(|session| {
            let ranked = ranker.rerank(&session.events, &session.candidates, &session.options)?;
            Ok((session, ranked))
        })
        .collect()
}

/// What `pocketrank rerank` ranks: the request file when given, else the first `users` test
/// users of the data set in `data`.
pub fn sessions(request: Option<&Path>, data: Option<&Path>, users: usize, max_events: usize) -> Result<Vec<Session>> {
    match (request, data) {
        (Some(path), _) => Ok(vec![read_request(path)?]),
        (None, Some(dir)) => test_sessions(dir, users, max_events),
        (None, None) => Err(Error::invalid("rerank", "give --request FILE or --data DIR")),
    }
}

/// The first `n` test users of the server-rerank protocol as sessions.
pub fn test_sessions(dir: &Path, n: usize, max_events: usize) -> Result<Vec<Session>> {
    let data = Dataset::load(dir)?;
    let cases = eval::cases(&data, dir, Protocol::ServerRerank, Split::Test)?;
    Ok(cases
        .iter()
        .take(n)
        .map(|case| {
            let history = &data.users[case.user].1[..case.history_len];
            let history = window(history, max_events);
            let titles = case.candidates.iter().chain(history).map(|&i| (data.ids[i].clone(), data.titles[i].clone())).collect();
            Session {
                label: format!("user {} ({} events; held-out next item: {})", data.users[case.user].0, history.len(), data.ids[case.target]),
                events: data.events(history),
                candidates: data.candidate_list(&case.candidates),
                options: RerankOptions::default(),
                titles,
            }
        })
        .collect())
}


//! The golden corpus: one file of inputs and the answers the native build gives to them, that
//! native, Node and chromium tests all replay through the public API (rust-lang/regex runs one
//! TOML corpus against every engine in the same way).
//!
//! Self-contained: sessions are real test sessions of the data set, by item id (the ids are in
//! the shipped catalog), with all four event types; titles are made from the model's own
//! tokenizer vocabulary, seeded by the item id, so no catalog text is copied into the
//! repository. It holds re-ranks (server order and not, server scores, cold items, an empty
//! session and one longer than the window), learning runs (slates, takes, the scores after
//! each lesson and the final head) and error cases (the message and code, and the ranking that
//! must not change after them).

use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::{Candidate, Event, RerankOptions, settings_from_json};
use crate::bundle::{Bundle, sha256_hex};
use crate::catalog::window;
use crate::error::{Error, Result};
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{self, Protocol};
use crate::personalizer::Personalizer;
use crate::private::PrivacyParams;

/// Scores must agree within this; orders exactly.
pub const TOLERANCE: f64 = 1e-4;

/// The whole corpus.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Corpus {
    /// What this file is.
    pub about: String,
    /// The bundle it was made with, relative to the project root.
    pub model: String,
    /// That bundle's sha256.
    pub model_sha256: String,
    /// Largest score difference allowed.
    pub tolerance: f64,
    /// One shopper each: the events observed, then one re-rank.
    pub reranks: Vec<RerankCase>,
    /// One shopper each: learning settings, then calls in order.
    pub learning: Vec<LearningRun>,
    /// One shopper for all: the setup calls, then each bad call, after which the probe ranks
    /// exactly as before.
    pub errors: ErrorCases,
}

/// A re-rank of one session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RerankCase {
    /// Where it came from.
    pub name: String,
    /// `observe` arguments, in order.
    pub events: Vec<Value>,
    /// `rerank`'s candidates.
    pub candidates: Vec<Value>,
    /// `rerank`'s options.
    pub options: Value,
    /// The answer.
    pub expected: Vec<Expected>,
    /// The row of the README's bad-input contract this case shows (a documented clamp or
    /// skip), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
}

/// One re-ranked item as expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// Its id.
    pub id: String,
    /// Its score.
    pub score: f32,
    /// Its explanation, when the re-rank asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<Vec<crate::api::Why>>,
}

/// A call of the public API and, for a re-rank, its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "camelCase")]
pub enum Step {
    /// `observe(event)`.
    Observe {
        /// The event.
        event: Value,
    },
    /// `clearSession()`: a new visit (the profile keeps what the session bought).
    ClearSession,
    /// `rerank(candidates, options)`.
    Rerank {
        /// Candidates.
        candidates: Vec<Value>,
        /// Options.
        options: Value,
        /// The answer.
        expected: Vec<Expected>,
    },
}

/// On-device learning, replayed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearningRun {
    /// What it exercises.
    pub name: String,
    /// `setLearning`'s argument.
    pub learning: Value,
    /// The calls.
    pub steps: Vec<Step>,
    /// The personal head afterwards, flat (weight, bias, server), as `exportState` stores it.
    pub head: Vec<f32>,
}

/// Bad calls and what they must say.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCases {
    /// Calls made first (a session to rank with).
    pub setup: Vec<Step>,
    /// Re-ranked after every bad call: the same answer each time.
    pub probe: Step,
    /// The bad calls.
    pub cases: Vec<ErrorCase>,
}

/// One bad call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCase {
    /// The row of the README's bad-input contract it tests.
    pub row: String,
    /// `rerank`, `observe`, `setLearning`, `setLimits` or `exportPrivateUpdate`.
    pub call: String,
    /// Its arguments.
    pub args: Vec<Value>,
    /// `ErrorKind::code` of the error.
    pub code: String,
    /// The whole message.
    pub message: String,
}

/// Run one call of the public API on `p`, from JSON arguments validated exactly as the wasm
/// layer validates JS values; a re-rank answers its items.
pub fn call(p: &mut Personalizer, name: &str, args: &[Value]) -> Result<Option<Vec<Expected>>> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    match name {
        "observe" => p.observe(Event::from_json(&arg(0), "event", p.limits())?).map(|()| None),
        "rerank" => {
            let candidates = Candidate::list_from_json(&arg(0), "candidates", p.limits())?;
            let options = RerankOptions::from_json(&arg(1), "options")?;
            Ok(Some(p.rerank(&candidates, &options)?.into_iter().map(|r| Expected { id: r.id, score: r.score, why: r.why }).collect()))
        }
        "setLearning" => p.set_learning(settings_from_json(arg(0), "learning")?).map(|()| None),
        "setLimits" => p.set_limits(settings_from_json(arg(0), "limits")?).map(|()| None),
        "exportPrivateUpdate" => {
            let privacy: PrivacyParams = settings_from_json(arg(0), "privacy")?;
            p.export_private_update(&privacy).map(|_| None)
        }
        other => Err(Error::invalid("call", format!("unknown call {other:?}"))),
    }
}

/// Run `step` on `p`: its answer, for a re-rank.
pub fn run_step(p: &mut Personalizer, step: &Step) -> Result<Option<Vec<Expected>>> {
    match step {
        Step::Observe { event } => call(p, "observe", std::slice::from_ref(event)),
        Step::Rerank { candidates, options, .. } => call(p, "rerank", &[Value::Array(candidates.clone()), options.clone()]),
        Step::ClearSession => {
            p.clear_session();
            Ok(None)
        }
    }
}

/// Titles made of the tokenizer's whole words, the same for an id every time.
struct Titles {
    words: Vec<String>,
}

impl Titles {
    fn new(bundle: &Bundle) -> Result<Titles> {
        let tokenizer = tokenizers::Tokenizer::from_bytes(bundle.required(crate::bundle::Part::Tokenizer)?).map_err(|e| Error::bundle(format!("tokenizer.json: {e}")))?;
        let mut words: Vec<String> = tokenizer.get_vocab(false).into_keys().filter(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic())).collect();
        words.sort();
        if words.is_empty() {
            return Err(Error::bundle("tokenizer.json: no whole words to make titles of"));
        }
        Ok(Titles { words })
    }

    fn of(&self, id: &str) -> String {
        let mut rng = seeded(id);
        let n = rng.random_range(2..=6);
        let words: Vec<&str> = (0..n).filter_map(|_| self.words.choose(&mut rng).map(String::as_str)).collect();
        let mut title = words.join(" ");
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        title
    }
}

/// A generator seeded by `text` (its sha256), stable across runs and machines.
fn seeded(text: &str) -> StdRng {
    let digest = Sha256::digest(text.as_bytes());
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&digest);
    StdRng::from_seed(seed)
}

fn event(id: &str, kind: &str, ts: usize, title: Option<String>) -> Value {
    let mut e = json!({ "itemId": id, "type": kind, "ts": ts });
    if let Some(t) = title {
        e["title"] = t.into();
    }
    e
}

/// The session `history` as events of all four types, most without and some with titles.
fn events(history: &[&str], titles: &Titles, rng: &mut StdRng) -> Vec<Value> {
    history
        .iter()
        .enumerate()
        .map(|(ts, id)| {
            let kind = ["view", "view", "click", "click", "cart", "purchase"].choose(rng).copied().unwrap_or("view");
            // One event in ten arrives without its title, as events from other pages may.
            let title = if rng.random_bool(0.1) { None } else { Some(titles.of(id)) };
            event(id, kind, ts, title)
        })
        .collect()
}

fn candidates(ids: &[&str], titles: &Titles, scores: bool) -> Vec<Value> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let mut c = json!({ "id": id, "title": titles.of(id) });
            if scores {
                c["serverScore"] = (10.0 - 0.07 * i as f64).into();
            }
            c
        })
        .collect()
}

fn expected(answer: Option<Vec<Expected>>) -> Result<Vec<Expected>> {
    answer.ok_or_else(|| Error::model("a re-rank answered nothing"))
}

/// Re-rank `candidates` on `p` (default options): the step with its answer.
fn answered(p: &mut Personalizer, candidates: Vec<Value>) -> Result<Step> {
    let answer = expected(call(p, "rerank", &[Value::Array(candidates.clone()), Value::Null])?)?;
    Ok(Step::Rerank { candidates, options: Value::Null, expected: answer })
}

/// Make the corpus with the bundle at `model` on the data set in `dir`: `n` re-rank sessions.
/// `server_list` names the candidate file that plays the server (default: the server-rerank
/// protocol's own, `sasrec`; `pop` for a converted retail set).
pub fn corpus(model: &Path, dir: &Path, n: usize, server_list: Option<&str>) -> Result<Corpus> {
    let bytes = std::fs::read(model).map_err(|e| Error::io(model, e))?;
    let bundle = Bundle::from_bytes(&bytes)?;
    let titles = Titles::new(&bundle)?;
    let data = Dataset::load(dir)?;
    let mut p = Personalizer::from_bundle_bytes(&bytes)?;
    let max_events = p.ranker().max_events();
    let id = |i: &usize| data.ids[*i].as_str();

    let mut reranks = Vec::new();
    let mut add = |p: &mut Personalizer, name: String, events: Vec<Value>, candidates: Vec<Value>, options: Value| -> Result<()> {
        p.forget()?;
        for e in &events {
            call(p, "observe", std::slice::from_ref(e))?;
        }
        let answer = expected(call(p, "rerank", &[Value::Array(candidates.clone()), options.clone()])?)?;
        reranks.push(RerankCase { name, events, candidates, options, expected: answer, row: None });
        Ok(())
    };
    let mut server_lists = Vec::new();
    for protocol in [Protocol::ServerRerank, Protocol::Sampled100] {
        let file = match protocol {
            Protocol::ServerRerank => server_list.unwrap_or(protocol.candidate_file()),
            _ => protocol.candidate_file(),
        };
        let cases = eval::cases_from(&data, dir, protocol, file, Split::Test)?;
        for (k, case) in cases.iter().take(n.div_ceil(2)).enumerate() {
            let user = &data.users[case.user].0;
            let mut rng = seeded(&format!("session {user}"));
            let history: Vec<&str> = window(&data.users[case.user].1[..case.history_len], max_events).iter().map(id).collect();
            let mut ids: Vec<&str> = case.candidates.iter().map(id).collect();
            // Every tenth session also lists items outside the catalog: known by title alone.
            let cold: Vec<String> = if k % 10 == 0 { (1..=3).map(|c| format!("cold-{user}-{c}")).collect() } else { Vec::new() };
            ids.extend(cold.iter().map(String::as_str));
            let listed = candidates(&ids, &titles, case.server_order && k % 2 == 1);
            if case.server_order {
                server_lists.push((history.clone(), ids.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
            }
            add(&mut p, format!("{} user {user}", protocol.name()), events(&history, &titles, &mut rng), listed, json!({ "serverOrder": case.server_order }))?;
        }
    }
    let Some((history, list)) = server_lists.first().cloned() else { return Err(Error::invalid("--data", "no server-rerank session to build on")) };
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    add(&mut p, "empty session: the server's order".into(), Vec::new(), candidates(&list, &titles, false), Value::Null)?;
    add(&mut p, "empty session with diversity 0.5: the server's scores, varied".into(), Vec::new(), candidates(&list, &titles, true), json!({ "diversity": 0.5 }))?;
    // The consistency budget on a real session and server list: the blend, pinned slots, a
    // bound on every move, and all together.
    for (name, options) in [
        ("personalization 0: the server's order", json!({ "personalization": 0 })),
        ("personalization 0.5", json!({ "personalization": 0.5 })),
        ("maxDisplacement 2", json!({ "maxDisplacement": 2 })),
        ("pinned 3", json!({ "pinned": 3 })),
        ("personalization 0.7, maxDisplacement 5, pinned 2", json!({ "personalization": 0.7, "maxDisplacement": 5, "pinned": 2 })),
        ("diversity 0.3", json!({ "diversity": 0.3 })),
        ("diversity 0.6, maxDisplacement 4", json!({ "diversity": 0.6, "maxDisplacement": 4 })),
        ("explained", json!({ "explain": true })),
        ("explained under personalization 0.5, pinned 2", json!({ "explain": 5, "personalization": 0.5, "pinned": 2 })),
        ("minOverlap 0.8", json!({ "minOverlap": 0.8 })),
        ("minOverlap 0.95, pinned 1, explained", json!({ "minOverlap": 0.95, "pinned": 1, "explain": 5 })),
        ("minOverlap 0.9, diversity 0.3", json!({ "minOverlap": 0.9, "diversity": 0.3 })),
        ("personalization per term: the consistent page's setting", json!({ "personalization": { "fit": 0, "transition": 0.14, "repeat": 0.2, "rule": 0.14 } })),
        ("personalization per term, minOverlap 0.9, explained", json!({ "personalization": { "fit": 0.2, "repeat": 0.5 }, "minOverlap": 0.9, "explain": 5 })),
    ] {
        add(&mut p, format!("consistency budget: {name}"), events(&history, &titles, &mut seeded("budget")), candidates(&list, &titles, true), options)?;
    }
    // Explanations of other real sessions, the cart and purchase events among their events.
    for (n, (history, list)) in server_lists.iter().skip(1).take(4).enumerate() {
        let list: Vec<&str> = list.iter().map(String::as_str).collect();
        add(&mut p, format!("explained session {}", n + 1), events(history, &titles, &mut seeded(&format!("explained {n}"))), candidates(&list, &titles, n % 2 == 0), json!({ "explain": true }))?;
    }
    // Longer than the window: the model reads the newest events only.
    let long: Vec<String> = (0..max_events + 10).map(|i| data.ids[(i * 97) % data.ids.len()].clone()).collect();
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    add(&mut p, format!("{} events, more than the window", long.len()), events(&long, &titles, &mut seeded("long")), candidates(&list, &titles, false), Value::Null)?;

    // Titles longer than the title limit (api::Limits::title_chars) are cut: the same scores as the cut title.
    let mut long_titles = candidates(&list, &titles, false);
    for c in long_titles.iter_mut().take(3) {
        c["title"] = format!("{} {}", c["title"].as_str().unwrap_or_default(), "Deluxe Edition ".repeat(100)).into();
    }
    let mut long_events = events(&history, &titles, &mut seeded("long titles"));
    if let Some(e) = long_events.last_mut() {
        e["title"] = "Collector's Bundle ".repeat(1_000).into();
    }
    // The documented clamps and skips of the bad-input contract, each a recorded answer:
    // (case name, row of the README's contract).
    let clamps = [
        ("titles over 512 characters (one of 19 KB), cut", "title-long"),
        ("an empty candidate list: an empty answer", "candidates-empty"),
        ("timestamps out of order: the order of observe calls counts", "event-ts"),
        ("unknown fields on candidates and events: ignored", "unknown-fields"),
    ];
    add(&mut p, clamps[0].0.into(), long_events, long_titles, Value::Null)?;

    add(&mut p, clamps[1].0.into(), events(&history, &titles, &mut seeded("empty list")), Vec::new(), Value::Null)?;
    let mut shuffled = events(&history, &titles, &mut seeded("out of order"));
    for (i, e) in shuffled.iter_mut().enumerate() {
        e["ts"] = json!(1_000_000 - 1_000 * (i as i64 % 3));
    }
    add(&mut p, clamps[2].0.into(), shuffled, candidates(&list, &titles, false), Value::Null)?;
    let mut extra = candidates(&list, &titles, true);
    for (i, c) in extra.iter_mut().enumerate() {
        c["sku"] = json!(format!("SKU-{i}"));
        c["badge"] = json!({ "text": "new", "colour": [1, 2, 3] });
    }
    let mut extra_events = events(&history, &titles, &mut seeded("extra fields"));
    for e in &mut extra_events {
        e["source"] = json!("home carousel");
    }
    add(&mut p, clamps[3].0.into(), extra_events, extra, Value::Null)?;
    for case in &mut reranks {
        case.row = clamps.iter().find(|(name, _)| *name == case.name).map(|(_, row)| row.to_string());
    }

    let mut learning = Vec::new();
    let settings = [
        ("default settings", json!({})),
        ("the query weight learns too", json!({ "weight": true })),
        ("an update every second take", json!({ "every": 2 })),
        ("large steps, strong pull, the server's weights learn too", json!({ "learningRate": 0.2, "steps": 5, "l2": 0.5, "maxStep": 1.0, "serverTrust": true })),
        ("learning off", json!({ "enabled": false })),
    ];
    for (run, (name, settings)) in settings.into_iter().enumerate() {
        let (history, list) = &server_lists[(run * 7) % server_lists.len()];
        p.forget()?;
        call(&mut p, "setLearning", std::slice::from_ref(&settings))?;
        let mut rng = seeded(&format!("learning {run}"));
        let mut steps = Vec::new();
        for e in events(&history[..history.len().min(4)], &titles, &mut rng) {
            let step = Step::Observe { event: e };
            run_step(&mut p, &step)?;
            steps.push(step);
        }
        for lesson in 0..6 {
            let slate: Vec<&str> = list.iter().skip(lesson * 3).take(20).map(String::as_str).collect();
            steps.push(answered(&mut p, candidates(&slate, &titles, lesson % 2 == 0))?);
            let taken = slate.get(rng.random_range(0..slate.len().max(1))).copied().unwrap_or_default();
            let kind = ["click", "cart", "purchase"][lesson % 3];
            let take = Step::Observe { event: event(taken, kind, 100 + lesson, Some(titles.of(taken))) };
            run_step(&mut p, &take)?;
            steps.push(take);
        }
        let slate: Vec<&str> = list.iter().take(30).map(String::as_str).collect();
        steps.push(answered(&mut p, candidates(&slate, &titles, false))?);
        learning.push(LearningRun { name: name.into(), learning: settings, steps, head: p.head().flat() });
    }
    learning.push(later_visit(&mut p, &server_lists, &titles)?);

    let errors = error_cases(&mut p, &history, &list, &titles)?;
    Ok(Corpus {
        about: "Generated by `pocketrank golden`; do not edit. Native (tests/golden.rs), Node (tests/node/golden.test.mjs) and chromium (tests/browser/parity.test.mjs) replay it through the public API.".into(),
        model: model.display().to_string(),
        model_sha256: sha256_hex(&bytes),
        tolerance: TOLERANCE,
        reranks,
        learning,
        errors,
    })
}

/// A second visit: the first visit's purchases leave the session with `clearSession`, the
/// long-term profile keeps them, and an explained re-rank of a slate holding them shows their
/// repeat prior (a `repeat` term without an event).
fn later_visit(p: &mut Personalizer, server_lists: &[(Vec<&str>, Vec<String>)], titles: &Titles) -> Result<LearningRun> {
    let (history, list) = &server_lists[3 % server_lists.len()];
    p.forget()?;
    let settings = json!({});
    call(p, "setLearning", std::slice::from_ref(&settings))?;
    let mut rng = seeded("later visit");
    let mut steps = Vec::new();
    let play = |p: &mut Personalizer, step: Step, steps: &mut Vec<Step>| -> Result<()> {
        run_step(p, &step)?;
        steps.push(step);
        Ok(())
    };
    for e in events(&history[..history.len().min(3)], titles, &mut rng) {
        play(p, Step::Observe { event: e }, &mut steps)?;
    }
    let bought: Vec<&str> = list.iter().take(3).map(String::as_str).collect();
    steps.push(answered(p, candidates(&list.iter().take(20).map(String::as_str).collect::<Vec<_>>(), titles, false))?);
    for (i, id) in bought.iter().enumerate() {
        play(p, Step::Observe { event: event(id, "purchase", 200 + i, Some(titles.of(id))) }, &mut steps)?;
    }
    play(p, Step::ClearSession, &mut steps)?;
    for e in events(&history[history.len().min(3)..history.len().min(5)], titles, &mut rng) {
        play(p, Step::Observe { event: e }, &mut steps)?;
    }
    let slate: Vec<&str> = list.iter().take(12).map(String::as_str).collect();
    let candidates = candidates(&slate, titles, false);
    let options = json!({ "explain": 12 });
    let expected = expected(call(p, "rerank", &[Value::Array(candidates.clone()), options.clone()])?)?;
    steps.push(Step::Rerank { candidates, options, expected });
    Ok(LearningRun { name: "a later visit: the profile keeps the first visit's purchases".into(), learning: settings, steps, head: p.head().flat() })
}

/// The bad calls, each answered by the running build (so the messages are the real ones).
fn error_cases(p: &mut Personalizer, history: &[&str], list: &[&str], titles: &Titles) -> Result<ErrorCases> {
    p.forget()?;
    p.set_learning(crate::learn::LearnConfig::default())?;
    let setup: Vec<Step> = events(&history[..history.len().min(5)], titles, &mut seeded("errors")).into_iter().map(|event| Step::Observe { event }).collect();
    for step in &setup {
        run_step(p, step)?;
    }
    let probe = answered(p, candidates(&list[..list.len().min(25)], titles, false))?;
    let good = json!({ "id": "1", "title": "A title" });
    let many: Vec<Value> = (0..1001).map(|i| json!({ "id": i, "title": "t" })).collect();
    // (row of the README's bad-input contract, call, arguments)
    let bad: Vec<(&str, &str, Vec<Value>)> = vec![
        ("candidates-shape", "rerank", vec![json!({})]),
        ("candidates-shape", "rerank", vec![json!("not a list")]),
        ("candidates-shape", "rerank", vec![json!([7])]),
        ("candidates-shape", "rerank", vec![Value::Array(many)]),
        ("id-value", "rerank", vec![json!([good, { "id": "", "title": "x" }])]),
        ("id-value", "rerank", vec![json!([{ "id": true, "title": "t" }])]),
        ("id-value", "rerank", vec![json!([{ "id": "x".repeat(300), "title": "t" }])]),
        ("id-value", "observe", vec![json!({ "type": "view", "ts": 1 })]),
        ("id-number", "rerank", vec![json!([{ "id": 9_007_199_254_740_993u64, "title": "t" }])]),
        ("id-number", "rerank", vec![json!([{ "id": 1.5, "title": "t" }])]),
        ("id-duplicate", "rerank", vec![json!([good, { "id": "1", "title": "again" }])]),
        ("title-missing", "rerank", vec![json!([{ "id": "2" }])]),
        ("title-missing", "observe", vec![json!({ "itemId": "1", "type": "view", "ts": 1, "title": 5 })]),
        ("server-score", "rerank", vec![json!([{ "id": "2", "title": "t", "serverScore": "high" }])]),
        ("server-score", "rerank", vec![json!([{ "id": "2", "title": "t", "serverScore": 1e39 }])]),
        ("price", "rerank", vec![json!([{ "id": "2", "title": "t", "price": -1 }])]),
        ("price", "rerank", vec![json!([{ "id": "2", "title": "t", "price": "free" }])]),
        ("event-type", "observe", vec![json!({ "itemId": "1", "type": "like", "ts": 1 })]),
        ("event-type", "observe", vec![json!({ "itemId": "1", "type": 3, "ts": 1 })]),
        ("event-type", "observe", vec![json!([1, 2])]),
        ("event-ts", "observe", vec![json!({ "itemId": "1", "type": "view" })]),
        ("event-ts", "observe", vec![json!({ "itemId": "1", "type": "view", "ts": "yesterday" })]),
        ("unknown-fields", "rerank", vec![json!([good]), json!({ "serverOder": true })]),
        ("unknown-fields", "setLearning", vec![json!({ "stepz": 2 })]),
        ("unknown-fields", "setLimits", vec![json!({ "candidate": 50 })]),
        ("options", "rerank", vec![json!([good]), json!({ "serverOrder": "yes" })]),
        ("options", "rerank", vec![json!([good]), json!(5)]),
        ("options", "rerank", vec![json!([good]), json!({ "personalization": 2 })]),
        ("options", "rerank", vec![json!([good]), json!({ "personalization": { "fit": 2 } })]),
        ("options", "rerank", vec![json!([good]), json!({ "personalization": { "trust": 0.5 } })]),
        ("options", "rerank", vec![json!([good]), json!({ "personalization": "high" })]),
        ("options", "rerank", vec![json!([good]), json!({ "maxDisplacement": -1 })]),
        ("options", "rerank", vec![json!([good]), json!({ "pinned": 1.5 })]),
        ("options", "rerank", vec![json!([good]), json!({ "pinned": "top" })]),
        ("options", "rerank", vec![json!([good]), json!({ "explain": "yes" })]),
        ("options", "rerank", vec![json!([good]), json!({ "diversity": 1.5 })]),
        ("options", "rerank", vec![json!([good]), json!({ "minOverlap": -0.1 })]),
        ("options", "rerank", vec![json!([good]), json!({ "minOverlap": "high" })]),
        ("options", "rerank", vec![json!([good]), json!({ "explain": -3 })]),
        ("learning", "setLearning", vec![json!({ "steps": 0 })]),
        ("learning", "setLearning", vec![json!({ "steps": "many" })]),
        ("learning", "setLearning", vec![json!({ "learningRate": 2 })]),
        ("learning", "setLearning", vec![json!({ "every": 0 })]),
        ("privacy", "exportPrivateUpdate", vec![json!({ "clip": 1, "epsilon": 200, "delta": 1e-6 })]),
        ("privacy", "exportPrivateUpdate", vec![json!({ "clip": 1, "epsilon": 0.5, "delta": 1.5 })]),
        ("privacy", "exportPrivateUpdate", vec![json!({ "clip": 0, "epsilon": 0.5, "delta": 1e-6 })]),
        ("privacy", "exportPrivateUpdate", vec![json!({ "clip": 1, "epsilon": 0.5 })]),
        ("privacy", "exportPrivateUpdate", vec![json!({ "clip": 1e38, "epsilon": 0.5, "delta": 1e-6 })]),
        ("limits", "setLimits", vec![json!({ "candidates": 0 })]),
        ("limits", "setLimits", vec![json!({ "titleChars": 100_000 })]),
        ("limits", "setLimits", vec![json!({ "events": -1 })]),
    ];
    let mut cases = Vec::new();
    for (row, name, args) in bad {
        let Err(e) = call(p, name, &args) else { return Err(Error::invalid("golden", format!("{name}({args:?}) was accepted; it is meant as a bad call"))) };
        cases.push(ErrorCase { row: row.into(), call: name.into(), args, code: e.code().into(), message: e.to_string() });
        if let (Some(now), Step::Rerank { expected, .. }) = (run_step(p, &probe)?, &probe)
            && now != *expected
        {
            return Err(Error::model(format!("the ranking changed after the bad call {name}")));
        }
    }
    Ok(ErrorCases { setup, probe, cases })
}

/// Write `corpus` as JSON to `out`.
pub fn write(corpus: &Corpus, out: &Path) -> Result<()> {
    let text = serde_json::to_string(corpus).map_err(|e| Error::model(e.to_string()))?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::write(out, text + "\n").map_err(|e| Error::io(out, e))
}

/// Read a corpus.
pub fn read(path: &Path) -> Result<Corpus> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::invalid(path.display(), e))
}

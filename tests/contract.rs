//! The README's bad-input contract drives the tests. Each row of its table says how it is
//! tested: `golden` rows have their cases, tagged with the row, in the golden corpus (replayed
//! natively by tests/golden.rs, in Node and in chromium); every other row is named
//! (`contract: <row>`) by a Rust test and a JS test, or by a JS test alone where the bad value
//! cannot be written in Rust. A row without its tests, or a corpus case of no row, fails here.
//! Also: the limits a page sets are enforced by the personalizer (row `limits-enforced`).

mod common;

use std::path::Path;

use pocketrank::{Candidate, Event, EventKind, Limits, Personalizer, RerankOptions};

/// How a row is tested.
#[derive(Debug, PartialEq)]
enum Tested {
    Golden,
    RustAndJs,
    JsOnly,
}

/// The README contract table's rows: (row, how it is tested).
fn rows() -> Vec<(String, Tested)> {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let table = readme.split("| row | input | bad value | behaviour | tested |").nth(1).expect("the README holds the contract table");
    table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let row = cells[1].trim_matches('`').to_string();
            let tested = match cells[cells.len() - 2] {
                "golden" => Tested::Golden,
                "Rust + JS" => Tested::RustAndJs,
                other if other.starts_with("JS (") => Tested::JsOnly,
                other => panic!("row {row}: unknown 'tested' cell {other:?}"),
            };
            (row, tested)
        })
        .collect()
}

/// Every file under `dir` (recursively) whose name ends with one of `endings`, with its text.
fn sources(dir: &Path, endings: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path, endings));
        } else if endings.iter().any(|e| path.to_string_lossy().ends_with(e)) {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

#[test]
fn every_row_of_the_contract_has_its_tests() {
    let root = common::root();
    let rows = rows();
    assert!(rows.len() >= 25, "{} rows", rows.len());
    let corpus = common::golden();
    let mut golden_rows: Vec<&str> = corpus["errors"]["cases"].as_array().unwrap().iter().map(|c| c["row"].as_str().expect("every error case names its row")).collect();
    golden_rows.extend(corpus["reranks"].as_array().unwrap().iter().filter_map(|r| r["row"].as_str()));
    let mut rust = sources(&root.join("src"), &[".rs"]);
    rust.extend(sources(&root.join("tests"), &[".rs"]).into_iter().filter(|(path, _)| !path.ends_with("tests/contract.rs")));
    let mut js = sources(&root.join("tests/node"), &[".mjs"]);
    js.extend(sources(&root.join("tests/browser"), &[".mjs"]));
    let named = |files: &[(String, String)], row: &str| {
        let marker = format!("contract: {row}");
        // The row's whole name: `contract: state` does not name `state-damaged`.
        let whole = |rest: &str| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '-');
        files.iter().any(|(_, text)| text.match_indices(&marker).any(|(at, _)| whole(&text[at + marker.len()..])))
    };
    for (row, tested) in &rows {
        match tested {
            Tested::Golden => assert!(golden_rows.contains(&row.as_str()), "row {row}: no case of it in the golden corpus"),
            Tested::RustAndJs => {
                assert!(named(&rust, row), "row {row}: no Rust test names it (`contract: {row}`)");
                assert!(named(&js, row), "row {row}: no JS test names it (`contract: {row}`)");
            }
            Tested::JsOnly => assert!(named(&js, row), "row {row}: no JS test names it (`contract: {row}`)"),
        }
    }
    for row in &golden_rows {
        assert!(rows.iter().any(|(r, _)| r == row), "the golden corpus tags a case with {row:?}, which the README's table lacks");
    }
}

// contract: limits-enforced
#[test]
fn limits_a_page_sets_are_enforced() {
    let mut p = Personalizer::from_bundle_bytes(&common::shipped_bundle_bytes()).unwrap();
    let limits = Limits { candidates: 2, title_chars: 16, events: 3, ..Limits::default() };
    p.set_limits(limits).unwrap();
    let event = |i: usize| Event { item_id: i.to_string(), kind: EventKind::View, ts: i as f64, title: Some("Collector's Edition Bundle".into()) };
    for i in 0..5 {
        p.observe(event(i)).unwrap();
    }
    assert_eq!(p.session().iter().map(|e| e.item_id.as_str()).collect::<Vec<_>>(), ["2", "3", "4"], "the newest `events` kept");
    assert_eq!(p.session()[0].title.as_deref(), Some("Collector's Edit"), "titles cut to `titleChars`");
    let c = |id: &str| Candidate { id: id.into(), title: "t".into(), category: None, price: None, server_score: None };
    let ranked = p.rerank(&[c("a"), c("b")], &RerankOptions::default()).unwrap();
    let err = p.rerank(&[c("a"), c("b"), c("c")], &RerankOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "candidates: 3 candidates, at most 2 are accepted");
    assert_eq!(p.rerank(&[c("a"), c("b")], &RerankOptions::default()).unwrap(), ranked, "the ranking is unchanged after the refusal");
    // A tighter event limit drops the oldest events at once.
    p.set_limits(Limits { events: 1, ..limits }).unwrap();
    assert_eq!(p.session().len(), 1);
    assert!(p.set_limits(Limits { events: 0, ..limits }).is_err());
    assert_eq!(p.limits().events, 1, "a refused setting changes nothing");
}

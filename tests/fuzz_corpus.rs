//! Replays every committed fuzz corpus and crash input (`fuzz/corpus/*/`, `fuzz/artifacts/*/`)
//! through the fuzz targets' own entry points (`pocketrank::fuzzing`), as an ordinary test: CI
//! checks that no input the fuzzers kept or found still panics, with no fuzzing engine and no
//! nightly toolchain.

mod common;

use std::path::Path;

fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect()).unwrap_or_default();
    files.sort();
    files
}

/// A fuzz target: its name (the corpus folder) and its entry point.
type Target = (&'static str, fn(&[u8]) -> bool);

#[test]
fn every_committed_fuzz_input_returns() {
    let targets: [Target; 4] = [
        ("bundle", pocketrank::fuzzing::bundle),
        ("state", pocketrank::fuzzing::state),
        ("request", pocketrank::fuzzing::request),
        ("transitions", pocketrank::fuzzing::transitions),
    ];
    for (target, run) in targets {
        let mut files = inputs(&common::root().join("fuzz/corpus").join(target));
        assert!(!files.is_empty(), "fuzz/corpus/{target} has its seeds");
        files.extend(inputs(&common::root().join("fuzz/artifacts").join(target)));
        let accepted = files.iter().filter(|f| run(&std::fs::read(f).unwrap())).count();
        eprintln!("{target}: {} inputs, {accepted} accepted", files.len());
    }
    // The seeds are what they claim: valid inputs of each format are accepted.
    assert!(pocketrank::fuzzing::state(&std::fs::read(common::root().join("fuzz/corpus/state/seed-valid")).unwrap()));
    assert!(pocketrank::fuzzing::request(&std::fs::read(common::root().join("fuzz/corpus/request/seed-candidates")).unwrap()));
    assert!(pocketrank::fuzzing::transitions(&std::fs::read(common::root().join("fuzz/corpus/transitions/seed-valid")).unwrap()));
}

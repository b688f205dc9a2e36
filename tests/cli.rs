//! The command line, as a user runs it: eval's JSON line, rerank of a request file, rules
//! mined and converted from Spark, and the aggregation of private updates into a new shipped
//! head.

mod common;

use std::process::Command;

use pocketrank::bundle::to_hex;
use pocketrank::{Bundle, Ranker};
use serde_json::{Value, json};

fn pocketrank(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pocketrank")).args(args).current_dir(common::root()).output().expect("runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn eval_prints_one_json_object_last() {
    let (ok, stdout, stderr) = pocketrank(&["eval", "--model", "models/games", "--data", "../shared/data/games", "--protocol", "server-rerank", "--users", "300", "--json"]);
    assert!(ok, "{stderr}");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["protocol"], "server-rerank");
    assert_eq!(last["users"], 300);
    for key in ["hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20"] {
        let x = last[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{key} = {x}");
    }
    assert!(last["hr@20"].as_f64() >= last["hr@10"].as_f64());
    // A mean over 300 users that are not all alike has a positive, small standard error.
    let se = last["ndcg@10_se"].as_f64().unwrap();
    assert!(se > 0.0 && se < last["ndcg@10"].as_f64().unwrap().max(0.05), "ndcg@10_se = {se}");
}

#[test]
fn bad_protocol_is_a_clear_error() {
    let (ok, _, stderr) = pocketrank(&["eval", "--model", "models/games", "--data", "../shared/data/games", "--protocol", "top-5"]);
    assert!(!ok);
    assert!(stderr.contains("--protocol: unknown protocol \"top-5\""), "{stderr}");
}

/// The default build has no GPU backend: asking to train on one says how to get it, and
/// fails before reading any data (the data directory here does not exist).
#[cfg(not(feature = "webgpu"))]
#[test]
fn training_on_a_gpu_without_the_backend_says_how_to_build_it() {
    let (ok, _, stderr) = pocketrank(&["train", "--data", "no/such/data", "--out", "no/such/out", "--device", "gpu"]);
    assert!(!ok);
    assert!(stderr.contains("--device: gpu") && stderr.contains("--features webgpu"), "{stderr}");
}

/// A setting no run can use is refused by its flag, before any data is read (the data
/// directory here does not exist).
#[test]
fn training_settings_out_of_range_name_the_flag() {
    let (ok, _, stderr) = pocketrank(&["train", "--data", "no/such/data", "--out", "no/such/out", "--dropout", "1"]);
    assert!(!ok);
    assert!(stderr.contains("--dropout: must be in [0, 1)"), "{stderr}");
}

#[test]
fn rerank_reads_a_request_and_names_bad_fields() {
    let dir = std::env::temp_dir().join(format!("pocketrank-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, json!({
        "events": [{"itemId": "0", "type": "view", "ts": 1, "title": "Fire Emblem: The Sacred Stones"}],
        "candidates": [{"id": "1", "title": "GBA 6-Pak Care Case"}, {"id": "2", "title": "Super Mario Advance"}],
    }).to_string()).unwrap();
    let (ok, stdout, stderr) = pocketrank(&["rerank", "--model", "models/games", "--request", good.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    let ids: Vec<&str> = v["ranking"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    let bad = dir.join("bad.json");
    std::fs::write(&bad, json!({"candidates": [{"id": "1"}]}).to_string()).unwrap();
    let (ok, _, stderr) = pocketrank(&["rerank", "--model", "models/games", "--request", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("candidates[0].title: missing"), "{stderr}");
}

/// `rules` mines the fixture's baskets and converts Spark's rules from the same baskets into
/// the same table (item pairs and order exactly; figures to 1e-9), and writes the itemsets and
/// baskets beside a mined table when asked.
#[test]
fn rules_mined_and_converted_from_spark_make_one_table() {
    let fixture = common::root().join("tests/fixtures/spark-rules");
    let settings: Value = serde_json::from_str(&std::fs::read_to_string(fixture.join("settings.json")).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("pocketrank-rules-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mined, spark, itemsets, transactions) = (dir.join("mined.jsonl"), dir.join("spark.jsonl"), dir.join("itemsets.jsonl"), dir.join("baskets.txt"));
    let (support, confidence) = (settings["minSupport"].to_string(), settings["minConfidence"].to_string());
    let (ok, _, stderr) = pocketrank(&[
        "rules", "--baskets", fixture.join("baskets.tsv").to_str().unwrap(), "--min-support", &support, "--min-confidence", &confidence,
        "--out", mined.to_str().unwrap(), "--itemsets", itemsets.to_str().unwrap(), "--transactions", transactions.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("frequent itemsets") && stderr.contains("rules, mined in"), "{stderr}");
    let (ok, _, stderr) = pocketrank(&["rules", "--from-spark", fixture.join("rules").to_str().unwrap(), "--out", spark.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let table = |path: &std::path::Path| -> Vec<Value> { std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect() };
    let (mined, spark) = (table(&mined), table(&spark));
    assert!(!mined.is_empty());
    assert_eq!(mined.len(), spark.len());
    assert!(stderr.contains(&format!("converted {} of Spark's rules", spark.len())), "{stderr}");
    for (m, s) in mined.iter().zip(&spark) {
        assert_eq!((&m["antecedent"], &m["consequent"]), (&s["antecedent"], &s["consequent"]));
        for key in ["support", "confidence", "lift"] {
            assert!((m[key].as_f64().unwrap() - s[key].as_f64().unwrap()).abs() <= 1e-9, "{m} vs {s}");
        }
    }
    assert!(table(&itemsets).iter().all(|i| i["count"].as_u64().unwrap() > 0));
    assert!(!std::fs::read_to_string(&transactions).unwrap().trim().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn aggregate_moves_the_shipped_head_by_the_mean_update() {
    let shipped = common::shipped_ranker();
    let head = shipped.head_params().unwrap();
    let d = head.d;
    let model = to_hex(shipped.fingerprint());
    let dir = std::env::temp_dir().join(format!("pocketrank-agg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let privacy = json!({"clip": 1.0, "epsilon": 0.5, "delta": 1e-5});
    let lines: Vec<String> = [0.1f32, 0.3]
        .iter()
        .map(|x| json!({"mechanism": "gaussian", "model": model, "privacy": privacy, "values": vec![*x; d + 2]}).to_string())
        .collect();
    let updates = dir.join("updates.jsonl");
    std::fs::write(&updates, lines.join("\n")).unwrap();
    let out = dir.join("aggregated");
    let (ok, _, stderr) = pocketrank(&["aggregate", "--model", "models/games", "--updates", updates.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let bytes = std::fs::read(out.join("model.bundle")).unwrap();
    let new = Ranker::from_bundle(&Bundle::from_bytes(&bytes).unwrap(), burn::tensor::Device::flex()).unwrap().head_params().unwrap();
    for (a, b) in new.bias.iter().zip(&head.bias) {
        assert!((a - b - 0.2).abs() < 1e-5, "{a} vs {b}");
    }
    assert!((new.server[0] - head.server[0] - 0.2).abs() < 1e-5);
    assert_eq!(new.weight, head.weight, "the unshared weight is untouched");

    let wrong = dir.join("wrong.jsonl");
    std::fs::write(&wrong, json!({"mechanism": "gaussian", "model": "abc", "privacy": privacy, "values": vec![0.0; d + 2]}).to_string()).unwrap();
    let (ok, _, stderr) = pocketrank(&["aggregate", "--model", "models/games", "--updates", wrong.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("updates[0].model: made for another model"), "{stderr}");
}

#[test]
fn eval_runs_on_another_catalog_in_the_same_format() {
    // UCI Online Retail converted to the shared format: ids like "85123A", no item of it in the
    // Games catalog, so the shipped model reads every item from its title alone.
    let out = std::env::temp_dir().join(format!("pocketrank-retail-{}", std::process::id()));
    let (ok, _, stderr) = pocketrank(&["convert-retail", "--data", "../shared/data/retail", "--out", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("customers"), "{stderr}");
    let items = std::fs::read_to_string(out.join("items.tsv")).unwrap();
    assert!(!items.lines().any(|l| l.starts_with("POST\t") || l.starts_with("AMAZONFEE\t")), "fees are not products");
    for (protocol, extra) in [("sampled-100", None), ("server-rerank", Some("pop"))] {
        let mut args = vec!["eval", "--model", "models/games", "--data", out.to_str().unwrap(), "--protocol", protocol, "--users", "200", "--json"];
        if let Some(file) = extra {
            args.extend(["--candidates", file]);
        }
        let (ok, stdout, stderr) = pocketrank(&args);
        assert!(ok, "{stderr}");
        let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(last["users"], 200);
        assert!(last["ndcg@10"].as_f64().unwrap() > 0.0, "{protocol}: {last}");
    }
}

#[test]
fn keygen_and_sign_make_a_bundle_that_loads_only_under_its_key() {
    let dir = std::env::temp_dir().join(format!("pocketrank-sign-{}", std::process::id()));
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    for entry in std::fs::read_dir(common::root().join("models/games")).unwrap() {
        let from = entry.unwrap().path();
        std::fs::copy(&from, model.join(from.file_name().unwrap())).unwrap();
    }
    let key = dir.join("publisher.key");
    let (ok, stdout, stderr) = pocketrank(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let public = stdout.trim().to_string();
    assert_eq!(std::fs::read_to_string(dir.join("publisher.key.pub")).unwrap().trim(), public);
    let (ok, _, stderr) = pocketrank(&["sign", "--model", model.to_str().unwrap(), "--key", key.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let signed = std::fs::read(model.join("model.bundle")).unwrap();
    let pinned = pocketrank::bundle::sign::key_from_hex(&public, "key").unwrap();
    pocketrank::Personalizer::from_signed_bundle_bytes(&signed, &pinned).expect("signed with the pinned key");
    let manifest = std::fs::read_to_string(model.join("MANIFEST.sha256")).unwrap();
    assert!(manifest.contains(&pocketrank::bundle::sha256_hex(&signed)), "the manifest lists the signed bundle");
    let other = pocketrank::bundle::sign::public_key(&[3; 32]);
    let err = pocketrank::Personalizer::from_signed_bundle_bytes(&signed, &other).err().unwrap();
    assert!(err.to_string().contains("does not match the pinned publisher key"), "{err}");
    let unsigned = common::shipped_bundle_bytes();
    let err = pocketrank::Personalizer::from_signed_bundle_bytes(&unsigned, &pinned).err().unwrap();
    assert_eq!(err.to_string(), "model bundle rejected: it carries no signature.ed25519 part, and the page pins a publisher key");
    // Without a pinned key the signed bundle loads like any other.
    pocketrank::Personalizer::from_bundle_bytes(&signed).unwrap();
}

#[test]
fn beyond_window_features_count_what_the_window_and_the_profile_hold() {
    let data = std::env::temp_dir().join(format!("pocketrank-retail-full-{}", std::process::id()));
    let (ok, _, stderr) = pocketrank(&["convert-retail", "--data", "../shared/data/retail", "--out", data.to_str().unwrap(), "--max-len", "0"]);
    assert!(ok, "{stderr}");
    let out = data.join("features.tsv");
    let (ok, stdout, stderr) = pocketrank(&["eval", "--model", "models/retail", "--data", data.to_str().unwrap(), "--protocol", "sampled-100", "--users", "80", "--learn-beyond-window", "--features-out", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("candidate rows (test split) written"), "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap().split('\t').collect::<Vec<_>>(), pocketrank::offline::beyond::FEATURE_COLUMNS);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert!(!rows.is_empty() && rows.len().is_multiple_of(100), "{} rows: 100 a user", rows.len());
    // Each user's history (the sequence without its test target), from the converted data.
    let sequences: std::collections::HashMap<String, Vec<String>> = std::fs::read_to_string(data.join("sequences.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (user, items) = l.split_once('\t').unwrap();
            let items: Vec<String> = items.split(' ').map(String::from).collect();
            (user.to_string(), items[..items.len() - 1].to_vec())
        })
        .collect();
    for user in rows.chunks(100) {
        let history = &sequences[user[0][0]];
        assert!(history.len() > 50 && user[0][1] == history.len().to_string(), "only users with events beyond the window");
        assert_eq!(user.iter().filter(|r| r[3] == "1").count(), 1, "one target among the candidates");
        let (older, window) = history.split_at(history.len() - 50);
        // The profile keeps the 500 most recently bought distinct items.
        let whole = older.iter().collect::<std::collections::HashSet<_>>().len() <= pocketrank::profile::PROFILE_ITEMS;
        for r in user {
            let count = |events: &[String]| events.iter().filter(|i| *i == r[2]).count().to_string();
            assert_eq!(r[6], count(window), "window_times of {}", r[2]);
            if whole {
                assert_eq!(r[8], count(older), "profile_times of {}", r[2]);
            }
            assert_eq!(r[7] == "-1", r[6] == "0", "window_age is −1 exactly when the window never bought it");
            assert_eq!(r[9] == "-1", r[8] == "0", "profile_place is −1 exactly when the profile lacks it");
            let rate: f64 = r[11].parse().unwrap();
            assert!((0.0..1.0).contains(&rate));
        }
    }
}

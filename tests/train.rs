//! `pocketrank train` end to end on a small real catalog (UCI Online Retail, converted):
//! two epochs, a narrow model, then the written model directory verifies, loads and evaluates.

mod common;

use pocketrank::bundle::Part;

use std::process::Command;

fn pocketrank(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pocketrank")).args(args).current_dir(common::root()).output().expect("runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// UCI Retail converted into a fresh temporary directory for test `name`: (data dir, model dir to write).
fn converted_retail(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let base = std::env::temp_dir().join(format!("pocketrank-{name}-{}", std::process::id()));
    let data = base.join("retail");
    let (ok, _, stderr) = pocketrank(&["convert-retail", "--data", "../shared/data/retail", "--out", data.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    (data, base.join("model"))
}

/// `pocketrank eval --protocol sampled-100 --json` of `model` on `data` (plus `extra`
/// arguments): its JSON line and its stderr.
fn eval_sampled_100(model: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["eval", "--model", model.to_str().unwrap(), "--data", data.to_str().unwrap(), "--protocol", "sampled-100", "--json"];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = pocketrank(&args);
    assert!(ok, "{stderr}");
    (serde_json::from_str(stdout.lines().last().unwrap()).unwrap(), stderr)
}

#[test]
fn train_writes_a_verified_model_directory_that_evaluates() {
    let (data, model) = converted_retail("train");
    let (ok, _, stderr) = pocketrank(&["train", "--data", data.to_str().unwrap(), "--out", model.to_str().unwrap(), "--epochs", "2", "--d-model", "16"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("epoch 2: loss"), "{stderr}");

    // Every file the manifest lists has the recorded sha256.
    let manifest = std::fs::read_to_string(model.join("MANIFEST.sha256")).unwrap();
    assert_eq!(manifest.lines().count(), 5, "{manifest}");
    // The training curves are a real PNG, listed in the manifest and shown in the card.
    assert!(manifest.contains("  training-curves.png"), "{manifest}");
    assert!(std::fs::read(model.join("training-curves.png")).unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    for line in manifest.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(pocketrank::bundle::sha256_hex(&std::fs::read(model.join(name)).unwrap()), sum, "{name}");
    }
    let card = std::fs::read_to_string(model.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("| sampled-100 |") && card.contains("--epochs 2") && card.contains("](training-curves.png)"), "{card}");

    let (last, _) = eval_sampled_100(&model, &data, &[]);
    // Two epochs on ~2,800 shoppers clearly beat chance (0.045 NDCG@10 with 100 candidates;
    // about 0.10 measured).
    assert!(last["ndcg@10"].as_f64().unwrap() > 0.06, "{last}");

    // The final fit repeats the run with the validation targets as training data, for the
    // epoch count and with the server trust the validated run chose.
    let final_fit = model.with_file_name("final");
    let (ok, _, stderr) = pocketrank(&["train", "--final-fit-of", model.to_str().unwrap(), "--data", data.to_str().unwrap(), "--out", final_fit.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("(final fit, no validation)"), "{stderr}");
    let report = |dir: &std::path::Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap() };
    let (validated, fitted) = (report(&model), report(&final_fit));
    assert_eq!(fitted["training"]["epochs"].as_array().unwrap().len() as u64, validated["training"]["best_epoch"].as_u64().unwrap());
    assert_eq!(fitted["training"]["calibration"], validated["training"]["calibration"]);
    assert_eq!(fitted["train_config"]["d_model"], 16, "the validated run's settings carry over");
    // Items seen only as some shopper's validation target now have ID rows too.
    let rows = |r: &serde_json::Value| r["model_config"]["item"]["n_items"].as_u64().unwrap();
    assert!(rows(&fitted) > rows(&validated), "{} vs {}", rows(&fitted), rows(&validated));
    let card = std::fs::read_to_string(final_fit.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("## Final fit") && card.contains("| sampled-100 |") && card.contains("](validated-run-curves.png)"), "{card}");
    let manifest = std::fs::read_to_string(final_fit.join("MANIFEST.sha256")).unwrap();
    assert!(manifest.contains("  validated-run-curves.png") && manifest.contains("  training-curves.png"), "{manifest}");
    // Its curves have no validation figures (null in report.json); `plot` still redraws them.
    assert!(fitted["training"]["epochs"][0][1].is_null(), "{}", fitted["training"]["epochs"]);
    let (ok, _, stderr) = pocketrank(&["plot", "--model", final_fit.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    // A final fit of a final fit would have no validated choices to repeat.
    let (ok, _, stderr) = pocketrank(&["train", "--final-fit-of", final_fit.to_str().unwrap(), "--data", data.to_str().unwrap(), "--out", model.with_file_name("again").to_str().unwrap()]);
    assert!(!ok && stderr.contains("itself a final fit"), "{stderr}");

    // A transition table, weighed on validation (the validated run stands in for the server
    // here; a real run takes an independently trained model), added to the final fit.
    let with_table = model.with_file_name("with-transitions");
    let args = |max_bytes: &'static str| -> Vec<String> {
        ["transitions", "--validated", model.to_str().unwrap(), "--model", final_fit.to_str().unwrap(), "--stand-in", model.to_str().unwrap(), "--data", data.to_str().unwrap(), "--per-item", "2", "--max-bundle-bytes", max_bytes, "--out", with_table.to_str().unwrap()]
            .into_iter()
            .map(String::from)
            .collect()
    };
    let run = |args: Vec<String>| pocketrank(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, _, stderr) = run(args("1000"));
    assert!(!ok && stderr.contains("--per-item: 2 successors per item make a") && !with_table.exists(), "{stderr}");
    let (ok, _, stderr) = run(args("2000000"));
    assert!(ok, "{stderr}");
    let bundle = pocketrank::Bundle::from_bytes(&std::fs::read(with_table.join("model.bundle")).unwrap()).unwrap();
    let table = pocketrank::relations::transitions::Transitions::from_bytes(bundle.part(Part::Transitions).unwrap(), rows(&fitted) as usize + 1).unwrap();
    let with = report(&with_table);
    assert_eq!(with["transitions"]["entries"].as_u64().unwrap() as usize, table.entries());
    assert!(table.entries() > 0 && table.entries() <= 2 * rows(&fitted) as usize);
    let config: serde_json::Value = serde_json::from_slice(bundle.part(Part::Config).unwrap()).unwrap();
    assert_eq!(config["head"]["transition_weight"], with["transitions"]["calibration"]["transition_weight"]);
    let card = std::fs::read_to_string(with_table.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("## Item transitions (added by `pocketrank transitions`)") && card.contains("w_t = "), "{card}");
    let manifest = std::fs::read_to_string(with_table.join("MANIFEST.sha256")).unwrap();
    for line in manifest.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(pocketrank::bundle::sha256_hex(&std::fs::read(with_table.join(name)).unwrap()), sum, "{name}");
    }
    let (last, _) = eval_sampled_100(&with_table, &data, &[]);
    assert!(last["ndcg@10"].as_f64().unwrap() > 0.06, "{last}");
}

#[test]
fn train_init_fine_tunes_the_shipped_model_on_another_catalog() {
    let (data, model) = converted_retail("init");
    // --d-model is ignored with --init: the architecture is the base's.
    let args = ["train", "--init", "models/games", "--data", data.to_str().unwrap(), "--out", model.to_str().unwrap(), "--epochs", "1", "--d-model", "16"];
    let (ok, _, stderr) = pocketrank(&args);
    assert!(ok, "{stderr}");

    let read_bundle = |dir: &std::path::Path| pocketrank::Bundle::from_bytes(&std::fs::read(dir.join("model.bundle")).unwrap()).unwrap();
    let (tuned, shipped) = (read_bundle(&model), read_bundle(&common::root().join("models/games")));
    assert_eq!(tuned.part(Part::Tokenizer), shipped.part(Part::Tokenizer), "the base's tokenizer carries over");
    let config: serde_json::Value = serde_json::from_slice(tuned.part(Part::Config).unwrap()).unwrap();
    assert_eq!(config["item"]["d_model"], 64);
    // The shipped transition table belongs to the Games catalog: it does not carry over.
    assert!(tuned.part(Part::Transitions).is_none());
    assert_eq!(config["head"]["transition_weight"], 0.0);
    let products = std::fs::read_to_string(data.join("items.tsv")).unwrap().lines().count() - 1;
    let rows = config["item"]["n_items"].as_u64().unwrap() as usize;
    assert!(rows > 0 && rows <= products, "ID rows for this catalog's trained items: {rows} of {products}");

    let (last, _) = eval_sampled_100(&model, &data, &[]);
    // Chance is 0.045; one fine-tuning epoch measured about 0.2 on validation.
    assert!(last["ndcg@10"].as_f64().unwrap() > 0.1, "{last}");
}

#[test]
fn distill_writes_a_small_int8_student_with_its_teacher_and_a_cold_start_split() {
    let (data, teacher) = converted_retail("distill");
    let (d, t) = (data.to_str().unwrap(), teacher.to_str().unwrap());
    let (ok, _, stderr) = pocketrank(&["train", "--data", d, "--out", t, "--epochs", "1", "--d-model", "32"]);
    assert!(ok, "{stderr}");
    let titles = teacher.with_file_name("titles.safetensors");
    let minilm = std::env::var("POCKETRANK_MINILM").unwrap_or_else(|_| format!("{}/.cache/pocketrank/minilm", std::env::var("HOME").unwrap()));
    let (ok, _, stderr) = pocketrank(&["embed-titles", "--minilm", &minilm, "--data", d, "--out", titles.to_str().unwrap()]);
    assert!(ok, "{stderr} (run ./setup.sh: it fetches the MiniLM weights)");

    let student = teacher.with_file_name("student");
    let s = student.to_str().unwrap();
    let args = ["distill", "--teacher", t, "--data", d, "--out", s, "--title-embeddings", titles.to_str().unwrap(), "--epochs", "1", "--d-model", "16", "--withhold-ids", "0.1"];
    let (ok, _, stderr) = pocketrank(&args);
    assert!(ok, "{stderr}");

    let read_bundle = |dir: &std::path::Path| pocketrank::Bundle::from_bytes(&std::fs::read(dir.join("model.bundle")).unwrap()).unwrap();
    let (small, big) = (read_bundle(&student), read_bundle(&teacher));
    assert_eq!(small.part(Part::Tokenizer), big.part(Part::Tokenizer), "the student reads titles with the teacher's tokenizer");
    let q8 = small.part(Part::Quantized).expect("the student ships int8 tables");
    let config: serde_json::Value = serde_json::from_slice(small.part(Part::Config).unwrap()).unwrap();
    let (rows, vocab) = (config["item"]["n_items"].as_u64().unwrap() as usize + 1, config["item"]["vocab_size"].as_u64().unwrap() as usize);
    // Two tables of one byte a value and a 4-byte scale a row, with 8 bytes of shape each.
    assert_eq!(q8.len(), (rows + vocab) * (16 + 4) + 16);

    // 10% of the trained items are withheld: listed, and absent from the ID table.
    let withheld = std::fs::read_to_string(student.join("withheld.txt")).unwrap();
    let catalog = String::from_utf8(small.part(Part::Catalog).unwrap().to_vec()).unwrap();
    let catalog: std::collections::HashSet<&str> = catalog.lines().collect();
    let withheld: Vec<&str> = withheld.lines().collect();
    let share = withheld.len() as f64 / (withheld.len() + catalog.len()) as f64;
    assert!((share - 0.1).abs() < 0.01, "{share}");
    assert!(withheld.iter().all(|id| !catalog.contains(id)));

    let card = std::fs::read_to_string(student.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("## Teacher") && card.contains("| sampled-100 |") && card.contains("MiniLM") && card.contains("int8"), "{card}");

    // The student evaluates on the users whose target it knows by title alone.
    let only = student.join("withheld.txt");
    let (last, stderr) = eval_sampled_100(&student, &data, &["--only-targets", only.to_str().unwrap()]);
    assert!(stderr.contains("users have a target listed in"), "{stderr}");
    let users = last["users"].as_u64().unwrap();
    assert!(users > 0 && users < 2787, "{last}");
}

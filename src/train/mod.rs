//! Training on the shared data format (feature `cli`, never in the wasm build).
//!
//! Next-item prediction over every position of each user's training part (SASRec's
//! objective), with a sampled softmax over shared negatives. IDs and titles are dropped at
//! random so that the text-only path (cold items, events without titles) is learned.

mod calibrate;
mod plot;
mod tokenizer;

pub use calibrate::{Calibration, TransitionServer, calibrate};
pub use plot::{CURVES_FILE, write_curves};
pub use tokenizer::train_wordpiece;

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use burn::config::Config;
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::bundle::Bundle;
use crate::data::{Dataset, Split};
// `Result` is not imported: burn's `Config` derive expects the std one in scope.
use crate::error::Error;
use crate::eval::{self, Metrics, Protocol};
use crate::model::{ItemEncoderConfig, Model, ModelConfig};
use crate::rank::Ranker;
use crate::text::{TitleTokenizer, TokenBatch};

/// Everything that determines a training run; written beside the weights.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Width of item vectors and hidden states.
    #[config(default = 64)]
    pub d_model: usize,
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
    /// Shared negatives per batch for the sampled softmax.
    #[config(default = 256)]
    pub negatives: usize,
    /// Probability of hiding an item's ID (teaches the title-only path).
    #[config(default = 0.1)]
    pub id_dropout: f64,
    /// Probability of hiding a session event's title (events may come without one).
    #[config(default = 0.15)]
    pub title_dropout: f64,
    /// Test users (of the sampled-100 candidate file) whose validation targets pick the epoch.
    #[config(default = 2000)]
    pub validation_users: usize,
    /// Seed of every random choice.
    #[config(default = 42)]
    pub seed: u64,
}

/// What a run measured, for the model card.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    /// Per epoch: mean training loss and validation NDCG@10 (sampled-100 on validation targets).
    pub epochs: Vec<(f64, f64)>,
    /// The epoch kept (1-based).
    pub best_epoch: usize,
    /// Server-trust calibration on validation.
    pub calibration: Calibration,
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
    /// Parameters of the model.
    pub parameters: usize,
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
    pub fn ranker(&self, device: &Device) -> Ranker {
        Ranker::from_parts(self.model.clone(), self.config.clone(), self.tokenizer.clone(), catalog_rows(&self.catalog), device.clone())
    }

    /// The bundle bytes.
    pub fn bundle(&self) -> crate::Result<Bundle> {
        let weights = self
            .model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| Error::model(format!("serialising weights: {e}")))?;
        let tokenizer = self.tokenizer.inner().to_string(false).map_err(|e| Error::model(format!("serialising tokenizer: {e}")))?;
        Ok(Bundle {
            config: serde_json::to_vec_pretty(&self.config).map_err(|e| Error::model(e.to_string()))?,
            weights: weights.to_vec(),
            tokenizer: tokenizer.into_bytes(),
            catalog: self.catalog.join("\n").into_bytes(),
        })
    }
}

fn catalog_rows(catalog: &[String]) -> HashMap<String, usize> {
    catalog.iter().enumerate().map(|(i, id)| (id.clone(), i + 1)).collect()
}

/// One padded training batch, ready for tensors.
struct Batch {
    users: usize,
    length: usize,
    /// `[users * length]` rows of inputs, then targets, then negatives, for the item encoder.
    rows: Vec<i64>,
    tokens: TokenBatch,
    types: Vec<i64>,
    padding: Vec<bool>,
    /// 1.0 where a position has a next item to predict.
    target_mask: Vec<f32>,
    negatives: usize,
}

/// Train on `dir` (items.tsv, sequences.tsv, candidates/random.tsv for validation users).
///
/// With `base` (`train --init`), fine-tune it instead of starting from scratch: its tokenizer
/// and every weight but the ID table carry over (the architecture too; `config`'s d_model and
/// vocabulary size are not used). This catalog's items get new ID rows, each starting as the
/// base's "unknown" row, so training starts from the base's text-only reading of each item —
/// the model `pocketrank eval` runs zero-shot.
pub fn train(dir: &Path, config: &TrainConfig, device: &Device, base: Option<&Ranker>) -> crate::Result<Trained> {
    let started = Instant::now();
    let data = Dataset::load(dir)?;
    device.seed(config.seed);
    let mut rng = StdRng::seed_from_u64(config.seed);

    let tokenizer = match base {
        Some(base) => base.tokenizer().clone(),
        None => TitleTokenizer::new(train_wordpiece(&data.titles, config.vocab_size)?, config.title_tokens),
    };
    eprintln!("tokenizer: {} tokens ({:.0} s)", tokenizer.vocab_size(), started.elapsed().as_secs_f64());
    let all_tokens: Vec<Vec<u32>> = data.titles.iter().map(|t| tokenizer.encode(t)).collect::<crate::Result<_>>()?;

    // Only items seen in training get an ID row; the rest are understood from their titles.
    let mut row_of = vec![0usize; data.ids.len()];
    let mut catalog = Vec::new();
    for user in 0..data.users.len() {
        for &item in data.training_part(user) {
            if row_of[item] == 0 {
                catalog.push(data.ids[item].clone());
                row_of[item] = catalog.len();
            }
        }
    }
    let trainable_items: Vec<usize> = (0..data.ids.len()).filter(|&i| row_of[i] != 0).collect();
    let interactions: Vec<usize> = (0..data.users.len()).flat_map(|u| data.training_part(u).iter().copied()).collect();
    let model_config = match base {
        Some(base) => ModelConfig { item: ItemEncoderConfig { n_items: catalog.len(), ..base.config().item.clone() }, ..base.config().clone() },
        None => ModelConfig::sized(catalog.len(), tokenizer.vocab_size(), config.d_model, config.title_tokens),
    };
    let train_device = device.clone().autodiff();
    let mut model = match base {
        Some(base) => start_from(base.model(), &model_config, &train_device),
        None => model_config.init(&train_device),
    };
    let parameters = model.num_params();
    let mut optimizer = AdamConfig::new().init();

    let validation_cases: Vec<_> = eval::cases(&data, dir, Protocol::Sampled100, Split::Validation)?
        .into_iter()
        .take(config.validation_users)
        .collect();
    let window = model_config.session.max_events;
    let mut users: Vec<usize> = (0..data.users.len()).filter(|&u| data.training_part(u).len() >= 2).collect();

    let mut epochs = Vec::new();
    let mut best: Option<(f64, usize, Model)> = None;
    for epoch in 1..=config.epochs {
        if config.max_minutes > 0.0 && started.elapsed().as_secs_f64() / 60.0 > config.max_minutes {
            eprintln!("time budget of {} min reached before epoch {epoch}", config.max_minutes);
            break;
        }
        users.shuffle(&mut rng);
        let bar = ProgressBar::new(users.len().div_ceil(config.batch_size) as u64);
        bar.set_style(ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})").unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_prefix(format!("{epoch}/{}", config.epochs));
        let mut loss_sum = 0.0;
        for (step, chunk) in users.chunks(config.batch_size).enumerate() {
            let batch = make_batch(&data, chunk, window, &row_of, &all_tokens, &trainable_items, &interactions, config, &mut rng);
            let loss = batch_loss(&model, &batch, model_config.item.d_model, &train_device);
            let value: f32 = loss.clone().into_scalar();
            loss_sum += value as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(config.learning_rate, model, grads);
            bar.inc(1);
            bar.set_message(format!("loss {:.3}", loss_sum / (step + 1) as f64));
            if bar.is_hidden() && step % 50 == 0 {
                // No terminal (CI, logs): a line now and then instead of a bar.
                eprintln!("epoch {epoch} step {step}/{}: loss {:.4}, {:.0} s", bar.length().unwrap_or(0), loss_sum / (step + 1) as f64, started.elapsed().as_secs_f64());
            }
        }
        bar.finish_and_clear();
        let mean_loss = loss_sum / users.len().div_ceil(config.batch_size) as f64;
        let inference = model.valid();
        let ranker = Ranker::from_parts(inference.clone(), model_config.clone(), tokenizer.clone(), catalog_rows(&catalog), device.clone());
        let validation = eval::evaluate(&ranker, &data, &validation_cases, || {})?;
        eprintln!("epoch {epoch}: loss {mean_loss:.4}, validation NDCG@10 {:.4} (sampled-100, {} users)", validation.ndcg10(), validation.users);
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
    let purchase = types.slice([crate::input::EventKind::Purchase.index()..crate::input::EventKind::Purchase.index() + 1, 0..d]);
    model.session.type_embedding.weight = Param::from_tensor(purchase.expand([crate::model::EVENT_TYPES, d]));

    let calibration_users: Vec<usize> = validation_cases.iter().map(|c| c.user).collect();
    let ranker = Ranker::from_parts(model.clone(), model_config.clone(), tokenizer.clone(), catalog_rows(&catalog), device.clone());
    let calibration = calibrate(&ranker, &data, &calibration_users)?;
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
        report: TrainReport { epochs, best_epoch, calibration, seconds: started.elapsed().as_secs_f64(), parameters },
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
fn make_batch(
    data: &Dataset,
    users: &[usize],
    window: usize,
    row_of: &[usize],
    all_tokens: &[Vec<u32>],
    trainable_items: &[usize],
    interactions: &[usize],
    config: &TrainConfig,
    rng: &mut StdRng,
) -> Batch {
    let b = users.len();
    let positions = b * window;
    let purchase = crate::input::EventKind::Purchase.index() as i64;
    let empty: &[u32] = &[];
    let mut input_items: Vec<Option<usize>> = vec![None; positions];
    let mut target_items: Vec<Option<usize>> = vec![None; positions];
    for (u, &user) in users.iter().enumerate() {
        let part = data.training_part(user);
        let take = part.len().min(window + 1);
        let seq = &part[part.len() - take..];
        let n = seq.len() - 1;
        for t in 0..n {
            let at = u * window + (window - n) + t;
            input_items[at] = Some(seq[t]);
            target_items[at] = Some(seq[t + 1]);
        }
    }
    // Half uniform (like sampled-100's random candidates), half by popularity (like a
    // server's lists, which are full of popular items).
    let negatives: Vec<usize> = (0..config.negatives)
        .map(|j| {
            if j % 2 == 0 {
                trainable_items[rng.random_range(0..trainable_items.len())]
            } else {
                interactions[rng.random_range(0..interactions.len())]
            }
        })
        .collect();
    let mut rows = Vec::with_capacity(2 * positions + negatives.len());
    let mut titles: Vec<&[u32]> = Vec::with_capacity(rows.capacity());
    let mut push = |item: Option<usize>, title_dropout: f64, rng: &mut StdRng| match item {
        Some(i) => {
            let drop_id = rng.random_bool(config.id_dropout);
            rows.push(if drop_id { 0 } else { row_of[i] as i64 });
            // Never hide both: an item with neither ID nor title carries no signal.
            let drop_title = !drop_id && rng.random_bool(title_dropout);
            titles.push(if drop_title { empty } else { &all_tokens[i] });
        }
        None => {
            rows.push(0);
            titles.push(empty);
        }
    };
    for &item in &input_items {
        push(item, config.title_dropout, rng);
    }
    for &item in &target_items {
        push(item, 0.0, rng);
    }
    for &item in &negatives {
        push(Some(item), 0.0, rng);
    }
    let tokens = TokenBatch::pack(titles.into_iter(), config.title_tokens);
    Batch {
        users: b,
        length: window,
        rows,
        tokens,
        types: input_items.iter().map(|i| if i.is_some() { purchase } else { 0 }).collect(),
        padding: input_items.iter().map(Option::is_none).collect(),
        target_mask: target_items.iter().map(|t| if t.is_some() { 1.0 } else { 0.0 }).collect(),
        negatives: negatives.len(),
    }
}

/// Mean negative log-likelihood of each next item against the shared negatives.
fn batch_loss(model: &Model, batch: &Batch, d: usize, device: &Device) -> Tensor<1> {
    let (b, l, k) = (batch.users, batch.length, batch.negatives);
    let m = batch.rows.len();
    let rows = Tensor::<1, Int>::from_data(TensorData::new(batch.rows.clone(), [m]), device);
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(batch.tokens.ids.clone(), [m, batch.tokens.width]), device);
    let mask = Tensor::<2>::from_data(TensorData::new(batch.tokens.mask.clone(), [m, batch.tokens.width]), device);
    let vectors = model.item.forward(rows, tokens, mask); // [2bl + k, d]
    let inputs = vectors.clone().slice([0..b * l, 0..d]).reshape([b, l, d]);
    let targets = vectors.clone().slice([b * l..2 * b * l, 0..d]).reshape([b, l, d]);
    let negatives = vectors.slice([2 * b * l..m, 0..d]); // [k, d]

    let types = Tensor::<2, Int>::from_data(TensorData::new(batch.types.clone(), [b, l]), device);
    let padding = Tensor::<2, Bool>::from_data(TensorData::new(batch.padding.clone(), [b, l]), device);
    let states = model.session.forward(inputs, types, padding); // [b, l, d]
    let queries = model.head.query(states).div_scalar((d as f32).sqrt()); // [b, l, d], scaled as in Head::fit
    let positive = (queries.clone() * targets).sum_dim(2); // [b, l, 1]
    let negative = queries.reshape([b * l, d]).matmul(negatives.transpose()).reshape([b, l, k]); // [b, l, k]
    let log_p = log_softmax(Tensor::cat(vec![positive, negative], 2), 2).slice([0..b, 0..l, 0..1]).reshape([b, l]); // [b, l]
    let weight = Tensor::<2>::from_data(TensorData::new(batch.target_mask.clone(), [b, l]), device);
    let count = batch.target_mask.iter().sum::<f32>().max(1.0);
    (log_p * weight).sum().neg().div_scalar(count).reshape([1])
}

/// The repeat-purchase prior for [`crate::model::HeadConfig::repeat_log_odds`], from the
/// training split alone: ln(P(next = a given item of the last `window`) / P(next = a given
/// other catalog item)), with the repeat rate Laplace-smoothed. Games: no repeat in 288,626
/// transitions, so bought items sink; a catalog of consumables gets a positive value.
pub fn repeat_log_odds(data: &Dataset, window: usize) -> f64 {
    let (mut repeats, mut transitions, mut history_items) = (0f64, 0f64, 0f64);
    for user in 0..data.users.len() {
        let part = data.training_part(user);
        for i in 1..part.len() {
            let seen = &part[i.saturating_sub(window)..i];
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

/// Evaluate a ranker on the test split of every protocol whose candidate file exists.
pub fn test_metrics(ranker: &Ranker, data: &Dataset, dir: &Path) -> crate::Result<Vec<(Protocol, Metrics)>> {
    let mut out = Vec::new();
    for protocol in Protocol::ALL {
        if !dir.join("candidates").join(format!("{}.tsv", protocol.candidate_file())).exists() {
            continue;
        }
        let cases = eval::cases(data, dir, protocol, Split::Test)?;
        out.push((protocol, eval::evaluate(ranker, data, &cases, || {})?));
    }
    Ok(out)
}

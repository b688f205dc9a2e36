//! Titles → token ids, through a Hugging Face `tokenizer.json` shipped in the bundle.
//!
//! The same tokenizer code runs natively and in wasm (the `unstable_wasm` feature's pure-Rust
//! regex everywhere), so a title gives the same tokens on the server and in the browser.

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// A tokenizer that cuts every title to a fixed number of tokens.
#[derive(Clone)]
pub struct TitleTokenizer {
    inner: Tokenizer,
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
    /// Load from `tokenizer.json` bytes.
    pub fn from_bytes(json: &[u8], max_tokens: usize) -> Result<Self> {
        let inner = Tokenizer::from_bytes(json).map_err(|e| Error::bundle(format!("tokenizer.json: {e}")))?;
        Ok(TitleTokenizer { inner, max_tokens })
    }

    /// Wrap an already built tokenizer (training builds one from the catalog).
    pub fn new(inner: Tokenizer, max_tokens: usize) -> Self {
        TitleTokenizer { inner, max_tokens }
    }

    /// Token ids of one title, without special tokens, cut to `max_tokens`.
    pub fn encode(&self, title: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(title, false)
            .map_err(|e| Error::model(format!("tokenizing {title:?}: {e}")))?;
        let mut ids = encoding.get_ids().to_vec();
        ids.truncate(self.max_tokens);
        Ok(ids)
    }

    /// Tokens kept per title.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The largest token id the tokenizer can emit, special tokens included (0 for an empty
    /// vocabulary): every id must have a row of the token table.
    pub fn largest_id(&self) -> usize {
        self.inner.get_vocab(true).into_values().max().map_or(0, |id| id as usize)
    }

    /// Vocabulary size, special tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The underlying tokenizer (to serialise it into a bundle).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
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

//! A WordPiece tokenizer trained on the catalog's titles.

use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::models::{ModelWrapper, TrainerWrapper};
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Error, Result};

/// Train a lowercase WordPiece vocabulary of at most `vocab_size` tokens on `titles`.
/// Token 0 is `[PAD]`; unknown pieces map to `[UNK]`.
pub fn train_wordpiece(titles: &[String], vocab_size: usize) -> Result<Tokenizer> {
    let fail = |e: tokenizers::Error| Error::model(format!("training the tokenizer: {e}"));
    let model = WordPiece::builder().unk_token("[UNK]".into()).build().map_err(fail)?;
    let mut tokenizer = Tokenizer::new(ModelWrapper::WordPiece(model));
    tokenizer.with_normalizer(Some(BertNormalizer::default()));
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    let mut trainer: TrainerWrapper = WordPieceTrainer::builder()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(vec![AddedToken::from("[PAD]", true), AddedToken::from("[UNK]", true)])
        .build()
        .into();
    tokenizer.train(&mut trainer, titles.iter()).map_err(fail)?;
    Ok(tokenizer)
}

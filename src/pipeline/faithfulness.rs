//! `pocketrank faithfulness`: the explanations' faithfulness report
//! ([`crate::offline::faithfulness`]) on real test sessions of the server-rerank protocol.

use std::path::Path;

use burn::tensor::Device;

use crate::api::{EXPLAINED_BY_DEFAULT, RerankOptions};
use crate::catalog::window;
use crate::error::Result;
use crate::offline::data::{Dataset, Split};
use crate::offline::eval::{Protocol, cases};
use crate::offline::faithfulness::{Report, Session, measure};
use crate::pipeline::load_ranker;

/// Explain the top 10 of the first `users` test sessions, with `random_orders` random
/// deletion orders each.
pub fn run(model: &Path, data_dir: &Path, users: usize, random_orders: usize) -> Result<Report> {
    let ranker = load_ranker(model, Device::flex())?;
    let data = Dataset::load(data_dir)?;
    let sessions: Vec<Session> = cases(&data, data_dir, Protocol::ServerRerank, Split::Test)?
        .iter()
        .take(users)
        .map(|case| {
            let history = &data.users[case.user].1[..case.history_len];
            let options = RerankOptions { explain: EXPLAINED_BY_DEFAULT, ..RerankOptions::server_order(case.server_order) };
            Session { events: data.events(window(history, ranker.max_events())), candidates: data.candidate_list(&case.candidates), options }
        })
        .collect();
    measure(&ranker, &sessions, random_orders, 7)
}

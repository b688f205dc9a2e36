//! Other catalogs into the shared data format (native tools only), so `eval` and `train`
//! run on them unchanged.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

use crate::error::{Error, Result};
use crate::offline::baskets::{self, is_product};

/// What [`retail_to_catalog`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// Products in items.tsv.
    pub items: usize,
    /// Customers (users) in sequences.tsv.
    pub users: usize,
}

/// UCI Online Retail (`baskets.tsv`, `items.tsv`) → shared format in `out`.
///
/// Users are customers with at least two invoices; a user's sequence is their invoices'
/// products in invoice order (inside one invoice the file's order, which is arbitrary: one
/// timestamp), a product repeated inside an invoice kept once, the newest `max_len` kept (0:
/// the whole history).
/// `candidates/random.tsv` holds 100 seeded random products a user (the sampled-100
/// protocol); `candidates/pop.tsv` the 100 most bought products not in the user's history
/// as a stand-in server list (there is no real one for this data). With `until`
/// (`YYYY-MM-DD`), only invoices before that day: the training side of a time-based split.
pub fn retail_to_catalog(data: &Path, out: &Path, max_len: usize, seed: u64, until: Option<&str>) -> Result<Converted> {
    let read = |name: &str| std::fs::read_to_string(data.join(name)).map_err(|e| Error::io(&data.join(name), e));
    let items_text = read("items.tsv")?;
    let mut titles: Vec<(String, String)> = Vec::new();
    let mut known = HashSet::new();
    for line in items_text.lines().skip(1) {
        let mut f = line.split('\t');
        let (Some(code), Some(title)) = (f.next(), f.next()) else { continue };
        let code = code.trim();
        if is_product(code) && !title.trim().is_empty() && known.insert(code.to_string()) {
            titles.push((code.to_string(), title.trim().to_string()));
        }
    }
    // customer → [(date, products)]
    let mut invoices: HashMap<String, Vec<(String, Vec<String>)>> = HashMap::new();
    for basket in baskets::read(&data.join("baskets.tsv"), until)? {
        if basket.customer.is_empty() {
            continue;
        }
        let products: Vec<String> = basket.items.into_iter().filter(|c| known.contains(c)).collect();
        if !products.is_empty() {
            invoices.entry(basket.customer).or_default().push((basket.date, products));
        }
    }
    let mut customers: Vec<(String, Vec<String>)> = invoices
        .into_iter()
        .filter(|(_, inv)| inv.len() >= 2)
        .map(|(customer, mut inv)| {
            inv.sort_by(|a, b| a.0.cmp(&b.0));
            let all: Vec<String> = inv.into_iter().flat_map(|(_, p)| p).collect();
            let keep = if max_len == 0 { 0 } else { all.len().saturating_sub(max_len) };
            (customer, all[keep..].to_vec())
        })
        .filter(|(_, seq)| seq.len() >= 5)
        .collect();
    customers.sort();

    let mut popularity: HashMap<&str, usize> = HashMap::new();
    for (_, seq) in &customers {
        for c in &seq[..seq.len() - 2] {
            *popularity.entry(c.as_str()).or_default() += 1;
        }
    }
    let mut by_popularity: Vec<&str> = titles.iter().map(|(c, _)| c.as_str()).collect();
    by_popularity.sort_by(|a, b| popularity.get(b).unwrap_or(&0).cmp(popularity.get(a).unwrap_or(&0)).then(a.cmp(b)));

    std::fs::create_dir_all(out.join("candidates")).map_err(|e| Error::io(out, e))?;
    let write = |name: &str, text: String| std::fs::write(out.join(name), text).map_err(|e| Error::io(&out.join(name), e));
    write("items.tsv", std::iter::once("item_id\ttitle".to_string()).chain(titles.iter().map(|(c, t)| format!("{c}\t{t}"))).collect::<Vec<_>>().join("\n") + "\n")?;
    write("sequences.tsv", std::iter::once("user_id\titems (oldest first)".to_string()).chain(customers.iter().map(|(u, s)| format!("{u}\t{}", s.join(" ")))).collect::<Vec<_>>().join("\n") + "\n")?;
    let mut rng = StdRng::seed_from_u64(seed);
    let random: Vec<String> = customers
        .iter()
        .map(|(u, _)| format!("{u}\t{}", sample(&mut rng, titles.len(), 100.min(titles.len())).iter().map(|i| titles[i].0.as_str()).collect::<Vec<_>>().join(" ")))
        .collect();
    write("candidates/random.tsv", random.join("\n") + "\n")?;
    let pop: Vec<String> = customers
        .iter()
        .map(|(u, s)| {
            let history: HashSet<&str> = s[..s.len() - 1].iter().map(String::as_str).collect();
            format!("{u}\t{}", by_popularity.iter().filter(|c| !history.contains(*c)).take(100).copied().collect::<Vec<_>>().join(" "))
        })
        .collect();
    write("candidates/pop.tsv", pop.join("\n") + "\n")?;
    Ok(Converted { items: titles.len(), users: customers.len() })
}

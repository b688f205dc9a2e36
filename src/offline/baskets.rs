//! The UCI Online Retail baskets (`baskets.tsv`) as the rule miner and the catalog
//! conversion read them: products only (fee and adjustment codes left out), each product once
//! a basket, optionally only invoices before a cut date.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};

/// Stock codes of the UCI Online Retail data that are fees or adjustments, not products.
const RETAIL_NON_PRODUCTS: [&str; 12] = ["POST", "M", "m", "DOT", "BANK CHARGES", "C2", "AMAZONFEE", "CRUK", "D", "S", "B", "PADS"];

/// Whether a stock code is a product (not a fee, postage, an adjustment or a gift voucher).
pub fn is_product(code: &str) -> bool {
    !RETAIL_NON_PRODUCTS.contains(&code) && !code.starts_with("gift_")
}

/// One invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket {
    /// `InvoiceNo`.
    pub invoice: String,
    /// `InvoiceDate`, `YYYY-MM-DD HH:MM:SS` (sorts as text).
    pub date: String,
    /// `CustomerID`, empty when the file has none.
    pub customer: String,
    /// Its products, each once, in the file's order.
    pub items: Vec<String>,
}

/// The invoices of `baskets.tsv` with at least one product; with `until` (`YYYY-MM-DD`), only
/// those dated before that day.
pub fn read(path: &Path, until: Option<&str>) -> Result<Vec<Basket>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut baskets = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [invoice, date, customer, _country, codes] = fields.as_slice() else {
            return Err(Error::invalid(format!("{}:{}", path.display(), number.saturating_add(1)), format!("expected 5 tab-separated fields, got {}", fields.len())));
        };
        if until.is_some_and(|day| *date >= day) {
            continue;
        }
        let mut seen = HashSet::new();
        let items: Vec<String> = codes.split_whitespace().filter(|c| is_product(c) && seen.insert(*c)).map(str::to_string).collect();
        if !items.is_empty() {
            baskets.push(Basket { invoice: invoice.to_string(), date: date.to_string(), customer: customer.trim().to_string(), items });
        }
    }
    Ok(baskets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_out_duplicates_once_cut_by_date() {
        let dir = std::env::temp_dir().join(format!("pocketrank-baskets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("baskets.tsv");
        let rows = "InvoiceNo\tInvoiceDate\tCustomerID\tCountry\tStockCodes\n\
            1\t2011-01-02 10:00:00\t17850.0\tUK\t85123A POST 85123A 22752\n\
            2\t2011-01-03 09:00:00\t\tUK\tPOST M\n\
            3\t2011-02-01 08:00:00\t12\tUK\t22752 gift_0001_10\n";
        std::fs::write(&file, rows).unwrap();
        let all = read(&file, None).unwrap();
        assert_eq!(all.len(), 2, "the fee-only invoice is left out");
        assert_eq!(all[0].items, ["85123A", "22752"]);
        assert_eq!(all[1].items, ["22752"]);
        assert_eq!(read(&file, Some("2011-02-01")).unwrap().len(), 1, "the cut day itself is left out");
        std::fs::write(&file, "header\n1\t2\t3\n").unwrap();
        assert!(read(&file, None).unwrap_err().to_string().contains(":2: expected 5 tab-separated fields"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

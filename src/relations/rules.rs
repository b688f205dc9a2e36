//! Association rules over catalog rows: "baskets holding every item of X also held y", with
//! the support, confidence and lift they were mined with (`pocketrank rules`, FP-growth, or
//! Spark MLlib's `FPGrowth` converted by `pocketrank rules --from-spark`). Two readers:
//!
//! - the rule term of a re-rank: a candidate that completes the session's cart gets the best
//!   confidence among the rules whose antecedent lies inside the cart and whose consequent it
//!   is ([`Rules::complement`]);
//! - `complements(k)`: the cart's likeliest complements straight from the table, with Spark's
//!   `transform` semantics (rules whose antecedent is inside the cart, items already in the
//!   cart left out), best confidence first ([`Rules::complements`]).
//!
//! `rules.bin` layout: sha256 of the `catalog.txt` it was built for (32 bytes) | rule count
//! (u32 LE) | per rule: antecedent length (u8, 1..=[`MAX_ANTECEDENT`]) | antecedent rows,
//! strictly ascending (LEB128 each) | consequent row (LEB128) | support, confidence, lift
//! (f32 LE each).

use crate::error::{Error, Result};

/// Most items in one rule's antecedent the table carries.
pub const MAX_ANTECEDENT: usize = 8;

/// The least bytes one rule takes: a length byte, two one-byte rows and three f32.
const MIN_RULE_BYTES: usize = 1 + 1 + 1 + 12;

/// One rule X → y over catalog rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// X: rows, strictly ascending, non-empty.
    pub antecedent: Vec<u32>,
    /// y: a row not in X.
    pub consequent: u32,
    /// Share of baskets holding X and y.
    pub support: f32,
    /// Share of the baskets holding X that hold y.
    pub confidence: f32,
    /// Confidence over y's own share of baskets.
    pub lift: f32,
}

/// The rule table of one catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// sha256 of the `catalog.txt` bytes the rows index.
    catalog: [u8; 32],
    /// By consequent, then antecedent.
    rules: Vec<Rule>,
}

/// One complement: the item's row and the rule that proposes it (its best).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proposed<'a> {
    /// The proposed item's row.
    pub row: u32,
    /// The best rule proposing it (highest confidence, then lift, then the earlier rule).
    pub rule: &'a Rule,
}

fn bad(problem: impl std::fmt::Display) -> Error {
    Error::bundle(format!("rules.bin: {problem}"))
}

/// The first byte of `bytes` (one `take(1)` gave).
fn first(bytes: &[u8]) -> Result<u8> {
    bytes.first().copied().ok_or_else(|| bad("truncated"))
}

/// Whether sorted `set` holds every row of sorted `subset`.
fn within(subset: &[u32], set: &[u32]) -> bool {
    subset.iter().all(|row| set.binary_search(row).is_ok())
}

/// Whether `a` proposes its item more strongly than `b`.
fn stronger(a: &Rule, b: &Rule) -> bool {
    a.confidence.total_cmp(&b.confidence).then(a.lift.total_cmp(&b.lift)).is_gt()
}

impl Rules {
    /// A table of `rules` for the catalog whose `catalog.txt` hashes to `catalog`; each rule is
    /// checked as [`Rules::from_bytes`] checks it, for a catalog of `rows` rows.
    pub fn new(catalog: [u8; 32], mut rules: Vec<Rule>, rows: usize) -> Result<Rules> {
        for (i, rule) in rules.iter().enumerate() {
            check(rule, rows).map_err(|problem| bad(format!("rule {i}: {problem}")))?;
        }
        rules.sort_by(|a, b| a.consequent.cmp(&b.consequent).then(a.antecedent.cmp(&b.antecedent)));
        let twice = rules.windows(2).find_map(|w| match w {
            [a, b] if a.consequent == b.consequent && a.antecedent == b.antecedent => Some(a),
            _ => None,
        });
        if let Some(rule) = twice {
            return Err(bad(format!("the rule {:?} → {} is listed twice", rule.antecedent, rule.consequent)));
        }
        Ok(Rules { catalog, rules })
    }

    /// The rules, by consequent then antecedent.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The best rule for `candidate` given the cart's rows `cart` (sorted), with its index in
    /// [`Rules::rules`]: one whose antecedent lies inside the cart and whose consequent is the
    /// candidate, which is not in the cart itself.
    pub fn complement(&self, cart: &[u32], candidate: u32) -> Option<(usize, &Rule)> {
        if cart.is_empty() || cart.binary_search(&candidate).is_ok() {
            return None;
        }
        let start = self.rules.partition_point(|r| r.consequent < candidate);
        self.rules
            .iter()
            .enumerate()
            .skip(start)
            .take_while(|(_, r)| r.consequent == candidate)
            .filter(|(_, r)| within(&r.antecedent, cart))
            .fold(None, |best: Option<(usize, &Rule)>, (i, r)| match best {
                Some((_, b)) if !stronger(r, b) => best,
                _ => Some((i, r)),
            })
    }

    /// Up to `k` items for the cart `cart` (rows, sorted), best first: each consequent of a
    /// rule whose antecedent lies inside the cart, items in the cart left out, ranked by
    /// their best rule's confidence, then lift, then row.
    pub fn complements(&self, cart: &[u32], k: usize) -> Vec<Proposed<'_>> {
        let mut best: Vec<Proposed> = Vec::new();
        for rule in self.rules.iter().filter(|r| cart.binary_search(&r.consequent).is_err() && within(&r.antecedent, cart)) {
            // Rules are grouped by consequent: the item's entry, if any, is the last one.
            match best.last_mut() {
                Some(last) if last.row == rule.consequent => {
                    if stronger(rule, last.rule) {
                        last.rule = rule;
                    }
                }
                _ => best.push(Proposed { row: rule.consequent, rule }),
            }
        }
        best.sort_by(|a, b| b.rule.confidence.total_cmp(&a.rule.confidence).then(b.rule.lift.total_cmp(&a.rule.lift)).then(a.row.cmp(&b.row)));
        best.truncate(k);
        best
    }

    /// The `rules.bin` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(36usize.saturating_add(self.rules.len().saturating_mul(20)));
        out.extend_from_slice(&self.catalog);
        out.extend_from_slice(&(self.rules.len() as u32).to_le_bytes());
        for rule in &self.rules {
            out.push(rule.antecedent.len() as u8);
            for &row in rule.antecedent.iter().chain([&rule.consequent]) {
                let mut value = row;
                while value >= 0x80 {
                    out.push((value as u8 & 0x7f) | 0x80);
                    value >>= 7;
                }
                out.push(value as u8);
            }
            for x in [rule.support, rule.confidence, rule.lift] {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out
    }

    /// Parse `rules.bin` for the catalog `catalog_text` (its `catalog.txt` bytes) of `rows`
    /// rows (items + 1): a table built for another catalog, a row outside it, a rule that is
    /// not one, truncation or trailing bytes are errors naming the problem.
    pub fn from_bytes(bytes: &[u8], catalog_text: &[u8], rows: usize) -> Result<Rules> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8]> {
            let end = at.checked_add(n).filter(|&end| end <= bytes.len()).ok_or_else(|| bad("truncated"))?;
            let slice = bytes.get(at..end).ok_or_else(|| bad("truncated"))?;
            at = end;
            Ok(slice)
        };
        let mut catalog = [0u8; 32];
        catalog.copy_from_slice(take(32)?);
        if catalog != crate::bundle::sha256(catalog_text) {
            return Err(bad("built for another catalog (its catalog sha256 differs from catalog.txt's)"));
        }
        let count = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad("truncated"))?) as usize;
        if count > bytes.len() / MIN_RULE_BYTES {
            return Err(bad(format!("declares {count} rules, more than {} bytes can hold", bytes.len())));
        }
        let mut rules = Vec::with_capacity(count);
        for i in 0..count {
            let length = usize::from(first(take(1)?)?);
            let mut row = || -> Result<u32> {
                let mut value = 0u64;
                for shift in (0..35).step_by(7) {
                    let b = first(take(1)?)?;
                    value |= u64::from(b & 0x7f) << shift;
                    if b & 0x80 == 0 {
                        return u32::try_from(value).map_err(|_| bad(format!("rule {i}: a row is not a valid LEB128 number")));
                    }
                }
                Err(bad(format!("rule {i}: a row is not a valid LEB128 number")))
            };
            if !(1..=MAX_ANTECEDENT).contains(&length) {
                return Err(bad(format!("rule {i}: an antecedent of {length} items (1..={MAX_ANTECEDENT})")));
            }
            let antecedent = (0..length).map(|_| row()).collect::<Result<Vec<_>>>()?;
            let consequent = row()?;
            let mut number = || -> Result<f32> { Ok(f32::from_le_bytes(take(4)?.try_into().map_err(|_| bad("truncated"))?)) };
            let (support, confidence, lift) = (number()?, number()?, number()?);
            // Checked with the others by `Rules::new`, under the same index.
            rules.push(Rule { antecedent, consequent, support, confidence, lift });
        }
        if at != bytes.len() {
            return Err(bad(format!("{} bytes after the last rule", bytes.len().saturating_sub(at))));
        }
        Rules::new(catalog, rules, rows)
    }
}

/// What makes a rule one, for a catalog of `rows` rows.
fn check(rule: &Rule, rows: usize) -> std::result::Result<(), String> {
    let inside = |row: u32| row != 0 && (row as usize) < rows;
    if rule.antecedent.is_empty() || rule.antecedent.len() > MAX_ANTECEDENT {
        return Err(format!("an antecedent of {} items (1..={MAX_ANTECEDENT})", rule.antecedent.len()));
    }
    if let Some(&row) = rule.antecedent.iter().chain([&rule.consequent]).find(|&&row| !inside(row)) {
        return Err(format!("row {row} is outside the catalog's rows 1..{rows}"));
    }
    if rule.antecedent.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err("antecedent rows are not strictly ascending".into());
    }
    if rule.antecedent.contains(&rule.consequent) {
        return Err(format!("the consequent {} is in its own antecedent", rule.consequent));
    }
    let share = |x: f32| x > 0.0 && x <= 1.0;
    if !(share(rule.support) && share(rule.confidence) && rule.lift.is_finite() && rule.lift > 0.0) {
        return Err(format!("support {}, confidence {} (each in (0, 1]) or lift {} (finite, > 0) out of range", rule.support, rule.confidence, rule.lift));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(antecedent: &[u32], consequent: u32, confidence: f32, lift: f32) -> Rule {
        Rule { antecedent: antecedent.to_vec(), consequent, support: 0.1, confidence, lift }
    }

    fn table() -> Rules {
        let rules = vec![rule(&[1], 3, 0.5, 2.0), rule(&[1, 2], 3, 0.9, 3.0), rule(&[2], 4, 0.9, 4.0), rule(&[5], 4, 1.0, 9.0), rule(&[1], 2, 0.4, 1.5)];
        Rules::new(crate::bundle::sha256(b"a\nb\nc\nd\ne"), rules, 6).unwrap()
    }

    #[test]
    fn complements_follow_sparks_transform_by_hand() {
        let t = table();
        // Cart {1, 2}: 3 (via {1,2}, 0.9, lift 3), 4 (via {2}, 0.9, lift 4); 2 is in the cart.
        let c = t.complements(&[1, 2], 10);
        assert_eq!(c.iter().map(|c| (c.row, c.rule.confidence)).collect::<Vec<_>>(), vec![(4, 0.9), (3, 0.9)], "equal confidence: the higher lift first");
        assert_eq!(t.complements(&[1, 2], 1).len(), 1);
        assert_eq!(t.complements(&[1], 10).iter().map(|c| c.row).collect::<Vec<_>>(), vec![3, 2]);
        assert!(t.complements(&[], 10).is_empty());
        assert_eq!(t.complement(&[1, 2], 3).map(|(i, r)| (i, r.confidence)), Some((2, 0.9)), "by consequent, then antecedent: [1]→2, [1]→3, [1,2]→3, …");
        assert_eq!(t.complement(&[1], 3).map(|(_, r)| r.confidence), Some(0.5));
        assert_eq!(t.complement(&[1, 3], 3), None, "an item in the cart is not its own complement");
        assert_eq!(t.complement(&[3], 4), None);
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_name_the_problem() {
        let t = table();
        let catalog = b"a\nb\nc\nd\ne";
        let bytes = t.to_bytes();
        assert_eq!(Rules::from_bytes(&bytes, catalog, 6).unwrap(), t);
        let err = |bytes: &[u8], catalog: &[u8], rows: usize| Rules::from_bytes(bytes, catalog, rows).unwrap_err().to_string();
        assert!(err(&bytes, b"a\nb\nc\nd\nf", 6).contains("built for another catalog"));
        assert!(err(&bytes[..bytes.len() - 1], catalog, 6).contains("truncated"));
        assert!(err(&bytes[..20], catalog, 6).contains("truncated"));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(err(&trailing, catalog, 6).contains("1 bytes after the last rule"));
        assert!(err(&bytes, catalog, 5).contains("row 5 is outside the catalog's rows 1..5"));
        let mut huge = bytes.clone();
        huge[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(err(&huge, catalog, 6).contains("declares 4294967295 rules"));
        let bad_rule = |r: Rule| Rules::new([0; 32], vec![r], 6).unwrap_err().to_string();
        assert!(bad_rule(rule(&[2, 1], 3, 0.5, 1.0)).contains("not strictly ascending"));
        assert!(bad_rule(rule(&[3], 3, 0.5, 1.0)).contains("in its own antecedent"));
        assert!(bad_rule(rule(&[1], 3, 1.5, 1.0)).contains("out of range"));
        assert!(bad_rule(rule(&[1], 3, f32::NAN, 1.0)).contains("out of range"));
        assert!(bad_rule(rule(&[0], 3, 0.5, 1.0)).contains("row 0 is outside"));
        let twice = Rules::new([0; 32], vec![rule(&[1], 3, 0.5, 1.0), rule(&[1], 3, 0.6, 1.0)], 6).unwrap_err().to_string();
        assert!(twice.contains("listed twice"), "{twice}");
    }
}

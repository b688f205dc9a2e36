//! Association rules as files (`pocketrank rules`): mined from baskets with FP-growth
//! ([`crate::offline::fpgrowth`]), or converted from Spark MLlib's `associationRules` output, into
//! one rule table: JSON lines of `{"antecedent": [ids], "consequent": id, "support",
//! "confidence", "lift"}`, by antecedent then consequent. `scripts/spark_rules.py` compares
//! the two miners on the same baskets.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::offline::{baskets, fpgrowth};

/// One rule X → y, by item id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRow {
    /// X, ascending.
    pub antecedent: Vec<String>,
    /// y.
    pub consequent: String,
    /// Share of baskets holding X and y.
    pub support: f64,
    /// Share of the baskets holding X that hold y.
    pub confidence: f64,
    /// Confidence over y's own share of baskets.
    pub lift: f64,
}

/// What [`mine`] found.
pub struct Mined {
    /// The baskets mined (products only, each once a basket), ids as in the file.
    pub baskets: Vec<Vec<String>>,
    /// Frequent itemsets: ids ascending, count.
    pub itemsets: Vec<(Vec<String>, usize)>,
    /// The rule table.
    pub rules: Vec<RuleRow>,
    /// The least count of a frequent itemset.
    pub min_count: usize,
    /// Seconds FP-growth and the rules took (reading the file not included).
    pub seconds: f64,
}

impl Mined {
    /// Items in the largest frequent itemset.
    pub fn longest_itemset(&self) -> usize {
        self.itemsets.iter().map(|(items, _)| items.len()).max().unwrap_or(0)
    }
}

/// Where `pocketrank rules` takes its table from.
pub enum Source<'a> {
    /// Mine baskets with FP-growth ([`mine`]).
    Baskets {
        /// `baskets.tsv`.
        path: &'a Path,
        /// Only invoices before this day (YYYY-MM-DD).
        until: Option<&'a str>,
        /// Least share of baskets a frequent itemset occurs in.
        min_support: f64,
        /// Least confidence of a rule.
        min_confidence: f64,
    },
    /// Convert Spark's `associationRules`, written with `df.write.json` (a directory of part
    /// files).
    Spark(&'a Path),
}

/// What [`make`] did.
pub enum Made {
    /// Converted this many of Spark's rules.
    Converted(usize),
    /// Mined these.
    Mined(Mined),
}

/// Write the rule table of `source` to `out`. A mined table's frequent itemsets and baskets
/// also go to `itemsets` and `baskets` when given ([`write_itemsets_and_baskets`]).
pub fn make(source: &Source, out: &Path, itemsets: Option<&Path>, baskets: Option<&Path>) -> Result<Made> {
    match *source {
        Source::Spark(dir) => {
            let rules = from_spark(dir)?;
            write(&rules, out)?;
            Ok(Made::Converted(rules.len()))
        }
        Source::Baskets { path, until, min_support, min_confidence } => {
            let mined = mine(path, until, min_support, min_confidence)?;
            write(&mined.rules, out)?;
            write_itemsets_and_baskets(&mined, itemsets, baskets)?;
            Ok(Made::Mined(mined))
        }
    }
}

/// Mine `baskets.tsv` (invoices before `until` when given) at `min_support` and `min_confidence`.
pub fn mine(path: &Path, until: Option<&str>, min_support: f64, min_confidence: f64) -> Result<Mined> {
    mine_baskets(baskets::read(path, until)?.into_iter().map(|b| b.items).collect(), min_support, min_confidence)
}

/// Mine `baskets` (item ids, each once a basket) at `min_support` and `min_confidence`.
pub fn mine_baskets(baskets: Vec<Vec<String>>, min_support: f64, min_confidence: f64) -> Result<Mined> {
    if !(min_support > 0.0 && min_support <= 1.0) {
        return Err(Error::invalid("--min-support", "must be in (0, 1]"));
    }
    if !(0.0..=1.0).contains(&min_confidence) {
        return Err(Error::invalid("--min-confidence", "must be in [0, 1]"));
    }
    // Ids → indices in sorted order, so index order is id order and the table comes out sorted by id.
    let mut ids: Vec<&str> = baskets.iter().flatten().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let index = |id: &str| ids.binary_search(&id).map_or(0, |i| i as u32);
    let indexed: Vec<Vec<u32>> = baskets.iter().map(|b| b.iter().map(|id| index(id)).collect()).collect();
    let start = Instant::now();
    let min_count = fpgrowth::min_count(min_support, indexed.len());
    let sets = fpgrowth::frequent_itemsets(&indexed, min_count);
    let mined = fpgrowth::rules(&sets, indexed.len(), min_confidence);
    let seconds = start.elapsed().as_secs_f64();
    let id = |i: u32| ids.get(i as usize).map_or_else(String::new, |s| s.to_string());
    let itemsets = sets.iter().map(|s| (s.items.iter().map(|&i| id(i)).collect(), s.count)).collect();
    let rules = mined
        .into_iter()
        .map(|r| RuleRow { antecedent: r.antecedent.iter().map(|&i| id(i)).collect(), consequent: id(r.consequent), support: r.support, confidence: r.confidence, lift: r.lift })
        .collect();
    Ok(Mined { baskets, itemsets, rules, min_count, seconds })
}

/// Spark MLlib's `associationRules` written as JSON lines (`df.write.json(DIR)`: part files
/// of `{"antecedent": [..], "consequent": [one], "confidence", "lift", "support"}`) as a
/// rule table.
pub fn from_spark(dir: &Path) -> Result<Vec<RuleRow>> {
    #[derive(Deserialize)]
    struct SparkRule {
        antecedent: Vec<String>,
        consequent: Vec<String>,
        confidence: f64,
        lift: Option<f64>,
        support: Option<f64>,
    }
    let mut parts: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("part-") && n.contains(".json")))
        .collect();
    parts.sort();
    if parts.is_empty() {
        return Err(Error::invalid(dir.display(), "no part-*.json files (Spark's df.write.json output)"));
    }
    let mut rules = Vec::new();
    for part in parts {
        let text = std::fs::read_to_string(&part).map_err(|e| Error::io(&part, e))?;
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let at = || format!("{}:{}", part.display(), n.saturating_add(1));
            let rule: SparkRule = serde_json::from_str(line).map_err(|e| Error::invalid(at(), e))?;
            let [consequent] = <[String; 1]>::try_from(rule.consequent).map_err(|c| Error::invalid(at(), format!("consequent: expected one item, got {}", c.len())))?;
            let (Some(lift), Some(support)) = (rule.lift, rule.support) else {
                return Err(Error::invalid(at(), "lift and support missing (Spark 3.3 or later writes them)"));
            };
            let mut antecedent = rule.antecedent;
            antecedent.sort();
            rules.push(RuleRow { antecedent, consequent, support, confidence: rule.confidence, lift });
        }
    }
    rules.sort_by(|a, b| a.antecedent.cmp(&b.antecedent).then(a.consequent.cmp(&b.consequent)));
    Ok(rules)
}

/// A rule table as JSON lines.
pub fn write(rules: &[RuleRow], path: &Path) -> Result<()> {
    let mut text = String::new();
    for rule in rules {
        text.push_str(&serde_json::to_string(rule).map_err(Error::model)?);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// [`mine`]'s frequent itemsets as JSON lines `{"items": [ids], "count"}`, and its baskets one
/// a line (ids separated by spaces: what `scripts/spark_rules.py` hands Spark).
fn write_itemsets_and_baskets(mined: &Mined, itemsets: Option<&Path>, baskets: Option<&Path>) -> Result<()> {
    if let Some(path) = itemsets {
        let lines: Vec<String> = mined.itemsets.iter().map(|(items, count)| serde_json::json!({"items": items, "count": count}).to_string()).collect();
        std::fs::write(path, lines.join("\n") + "\n").map_err(|e| Error::io(path, e))?;
    }
    if let Some(path) = baskets {
        let lines: Vec<String> = mined.baskets.iter().map(|b| b.join(" ")).collect();
        std::fs::write(path, lines.join("\n") + "\n").map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// Read a rule table written by [`write`].
pub fn read(path: &Path) -> Result<Vec<RuleRow>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| serde_json::from_str(line).map_err(|e| Error::invalid(format!("{}:{}", path.display(), n.saturating_add(1)), e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table Spark 4 wrote (tests/fixtures/spark-rules: `scripts/spark_rules.py` on the
    /// baskets beside it) reads as the table this crate mines from the same baskets.
    #[test]
    fn spark_output_converts_to_the_mined_table() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spark-rules");
        let spark = from_spark(&fixture.join("rules")).unwrap();
        let settings: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture.join("settings.json")).unwrap()).unwrap();
        let mined = mine(&fixture.join("baskets.tsv"), None, settings["minSupport"].as_f64().unwrap(), settings["minConfidence"].as_f64().unwrap()).unwrap();
        assert!(!spark.is_empty());
        assert_eq!(spark.len(), mined.rules.len());
        for (s, m) in spark.iter().zip(&mined.rules) {
            assert_eq!((&s.antecedent, &s.consequent), (&m.antecedent, &m.consequent));
            for (a, b) in [(s.support, m.support), (s.confidence, m.confidence), (s.lift, m.lift)] {
                assert!((a - b).abs() <= 1e-9, "{s:?} vs {m:?}");
            }
        }
        let dir = std::env::temp_dir().join(format!("pocketrank-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write(&spark, &dir.join("rules.jsonl")).unwrap();
        assert_eq!(read(&dir.join("rules.jsonl")).unwrap(), spark);
        std::fs::write(dir.join("part-0.json"), "{\"antecedent\":[\"a\"],\"consequent\":[\"b\",\"c\"],\"confidence\":1}\n").unwrap();
        assert!(from_spark(&dir).unwrap_err().to_string().contains("consequent: expected one item, got 2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

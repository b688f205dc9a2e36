//! Frequent itemsets by FP-growth (Han, Pei, Yin 2000) and the association rules they give,
//! with Spark MLlib's definitions, so a table mined here and one mined by Spark's `FPGrowth`
//! on a cluster are the same table (`scripts/spark_rules.py` checks it):
//!
//! - an itemset is frequent when it occurs in at least ⌈min_support · n⌉ of the n baskets;
//! - a rule X → y (y one item, X non-empty, X ∪ {y} frequent) has support = count(X ∪ {y}) / n,
//!   confidence = count(X ∪ {y}) / count(X), lift = confidence / (count({y}) / n), and is kept
//!   when its confidence is at least min_confidence.
//!
//! Written here because no kept Rust crate does it: `fp-growth` 0.1.6 mines itemsets only (no
//! rules, no lift) and has had no release since 2021; `rust-rule-miner` and `arm` are
//! unmaintained Apriori experiments. Tested against a brute-force miner on seeded random
//! baskets.

use std::collections::HashMap;

use serde::Serialize;

/// A frequent itemset: its items (ascending) and the number of baskets holding all of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Itemset {
    /// Item indices, ascending.
    pub items: Vec<u32>,
    /// Baskets holding every item.
    pub count: usize,
}

/// One association rule X → y.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinedRule {
    /// X: item indices, ascending, non-empty.
    pub antecedent: Vec<u32>,
    /// y.
    pub consequent: u32,
    /// count(X ∪ {y}) / n.
    pub support: f64,
    /// count(X ∪ {y}) / count(X).
    pub confidence: f64,
    /// confidence / (count({y}) / n).
    pub lift: f64,
}

/// The least count of a frequent itemset among `baskets` baskets (Spark's ⌈min_support · n⌉).
pub fn min_count(min_support: f64, baskets: usize) -> usize {
    (min_support * baskets as f64).ceil().max(1.0) as usize
}

/// An FP-tree over items ranked by frequency (rank 0 the most frequent).
struct Tree {
    /// Rank → item.
    items: Vec<u32>,
    /// Rank → weighted count.
    counts: Vec<usize>,
    /// Node 0 is the root.
    nodes: Vec<Node>,
    /// Rank → the nodes of that item.
    header: Vec<Vec<usize>>,
}

struct Node {
    rank: usize,
    count: usize,
    parent: usize,
    children: Vec<usize>,
}

impl Tree {
    /// The tree of `transactions` (items, weight), keeping the items of weighted count ≥ `min_count`.
    fn build(transactions: &[(Vec<u32>, usize)], min_count: usize) -> Tree {
        let mut totals: HashMap<u32, usize> = HashMap::new();
        for (items, weight) in transactions {
            for &item in items {
                *totals.entry(item).or_default() += weight;
            }
        }
        let mut frequent: Vec<(u32, usize)> = totals.into_iter().filter(|&(_, c)| c >= min_count).collect();
        // Most frequent first; equal counts by item, so the tree (and the mining order) is
        // the same on every run.
        frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let rank_of: HashMap<u32, usize> = frequent.iter().enumerate().map(|(rank, &(item, _))| (item, rank)).collect();
        let mut tree = Tree {
            items: frequent.iter().map(|&(item, _)| item).collect(),
            counts: frequent.iter().map(|&(_, c)| c).collect(),
            nodes: vec![Node { rank: usize::MAX, count: 0, parent: 0, children: Vec::new() }],
            header: vec![Vec::new(); frequent.len()],
        };
        for (items, weight) in transactions {
            let mut ranks: Vec<usize> = items.iter().filter_map(|item| rank_of.get(item).copied()).collect();
            ranks.sort_unstable();
            ranks.dedup();
            tree.insert(&ranks, *weight);
        }
        tree
    }

    fn insert(&mut self, ranks: &[usize], weight: usize) {
        let mut at = 0;
        for &rank in ranks {
            let child = self.nodes[at].children.iter().copied().find(|&c| self.nodes[c].rank == rank);
            at = match child {
                Some(c) => c,
                None => {
                    let c = self.nodes.len();
                    self.nodes.push(Node { rank, count: 0, parent: at, children: Vec::new() });
                    self.nodes[at].children.push(c);
                    self.header[rank].push(c);
                    c
                }
            };
            self.nodes[at].count += weight;
        }
    }

    /// Every frequent itemset of this tree, each joined with `suffix`, into `out`.
    fn mine(&self, suffix: &[u32], min_count: usize, out: &mut Vec<Itemset>) {
        for rank in (0..self.items.len()).rev() {
            let mut items = suffix.to_vec();
            items.push(self.items[rank]);
            // The prefix paths of this item's nodes, weighted by the nodes' counts: the baskets
            // holding the itemset, as far as the more frequent items go.
            let base: Vec<(Vec<u32>, usize)> = self.header[rank]
                .iter()
                .map(|&node| {
                    let mut path = Vec::new();
                    let mut at = self.nodes[node].parent;
                    while at != 0 {
                        path.push(self.items[self.nodes[at].rank]);
                        at = self.nodes[at].parent;
                    }
                    (path, self.nodes[node].count)
                })
                .filter(|(path, _)| !path.is_empty())
                .collect();
            let conditional = Tree::build(&base, min_count);
            if !conditional.items.is_empty() {
                conditional.mine(&items, min_count, out);
            }
            items.sort_unstable();
            out.push(Itemset { items, count: self.counts[rank] });
        }
    }
}

/// Every itemset held by at least `min_count` of `baskets` (items inside a basket counted
/// once), sorted by items.
pub fn frequent_itemsets(baskets: &[Vec<u32>], min_count: usize) -> Vec<Itemset> {
    let transactions: Vec<(Vec<u32>, usize)> = baskets.iter().map(|b| (b.clone(), 1)).collect();
    let tree = Tree::build(&transactions, min_count.max(1));
    let mut out = Vec::new();
    tree.mine(&[], min_count.max(1), &mut out);
    out.sort();
    out
}

/// The rules of `itemsets` (all frequent itemsets of `baskets` baskets) with confidence ≥
/// `min_confidence`: by antecedent, then consequent.
pub fn rules(itemsets: &[Itemset], baskets: usize, min_confidence: f64) -> Vec<MinedRule> {
    let counts: HashMap<&[u32], usize> = itemsets.iter().map(|s| (s.items.as_slice(), s.count)).collect();
    let n = baskets as f64;
    let mut out = Vec::new();
    for set in itemsets.iter().filter(|s| s.items.len() >= 2) {
        for (i, &consequent) in set.items.iter().enumerate() {
            let antecedent: Vec<u32> = set.items.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &x)| x).collect();
            // Every subset of a frequent itemset is frequent, so both are in `counts`.
            let (Some(&x), Some(&y)) = (counts.get(antecedent.as_slice()), counts.get([consequent].as_slice())) else { continue };
            let confidence = set.count as f64 / x as f64;
            if confidence >= min_confidence {
                out.push(MinedRule { antecedent, consequent, support: set.count as f64 / n, confidence, lift: confidence / (y as f64 / n) });
            }
        }
    }
    out.sort_by(|a, b| a.antecedent.cmp(&b.antecedent).then(a.consequent.cmp(&b.consequent)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Every itemset with its count, by enumerating all subsets of a small universe.
    fn brute_force(baskets: &[Vec<u32>], universe: u32, min_count: usize) -> Vec<Itemset> {
        let mut out = Vec::new();
        for mask in 1u32..(1 << universe) {
            let items: Vec<u32> = (0..universe).filter(|i| mask & (1 << i) != 0).collect();
            let count = baskets.iter().filter(|b| items.iter().all(|i| b.contains(i))).count();
            if count >= min_count {
                out.push(Itemset { items, count });
            }
        }
        out.sort();
        out
    }

    #[test]
    fn same_itemsets_and_counts_as_brute_force_on_random_baskets() {
        for seed in 0..40u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let universe = rng.random_range(3..11u32);
            let n = rng.random_range(1..60usize);
            // Skewed item frequencies, as in shops: low items are common.
            let baskets: Vec<Vec<u32>> = (0..n)
                .map(|_| {
                    let mut b: Vec<u32> = (0..universe).filter(|&i| rng.random_bool(0.7 / (1.0 + f64::from(i) * 0.3))).collect();
                    b.reverse();
                    b
                })
                .collect();
            let min = rng.random_range(1..(n / 3).max(2));
            assert_eq!(frequent_itemsets(&baskets, min), brute_force(&baskets, universe, min), "seed {seed}: {n} baskets, min count {min}");
        }
    }

    #[test]
    fn rules_by_hand() {
        // 4 baskets: {0,1} ×2, {0,1,2}, {2}.
        let baskets = vec![vec![0, 1], vec![1, 0], vec![0, 1, 2], vec![2]];
        let sets = frequent_itemsets(&baskets, 2);
        assert_eq!(sets, vec![Itemset { items: vec![0], count: 3 }, Itemset { items: vec![0, 1], count: 3 }, Itemset { items: vec![1], count: 3 }, Itemset { items: vec![2], count: 2 }]);
        let rules = rules(&sets, 4, 0.5);
        // 0 → 1: support 3/4, confidence 3/3, lift 1 / (3/4).
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].antecedent.as_slice(), rules[0].consequent), ([0].as_slice(), 1));
        assert_eq!((rules[0].support, rules[0].confidence), (0.75, 1.0));
        assert!((rules[0].lift - 4.0 / 3.0).abs() < 1e-15);
        assert_eq!(min_count(0.3, 4), 2, "⌈1.2⌉");
        assert_eq!(min_count(0.5, 4), 2);
    }
}

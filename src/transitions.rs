//! First-order item transitions: for each catalog item, the items shoppers most often took
//! right after it, with P(next | item) counted on the training sequences.
//!
//! A count table remembers rare, specific successions that a 64-wide embedding cannot hold;
//! the model-free baseline of `../shared/data/README.md` is built on it. The ranker adds
//! `weight · Σ_j ½^j · P(candidate | j-th most recent session item)` over the 3 most recent
//! events to each candidate's score (the same formula as that baseline).
//!
//! To fit the browser download, only the `per_item` likeliest successors of each item are
//! kept, their probabilities (still over all successors, not renormalised) in steps of 1/255.
//!
//! `transitions.bin` layout: rows (u32 LE, = catalog items + 1, row 0 the unknown item) |
//! per row: successor count (u8) | per successor: its row (LEB128) | probability × 255 (u8).

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Session items, most recent first, that the transition score looks back over.
pub const RECENT_ITEMS: usize = 3;

/// Pruned successor lists, indexed by catalog row.
#[derive(Debug, Clone, PartialEq)]
pub struct Transitions {
    /// `successors[row]`: (successor row, probability in 1/255 steps), likeliest first.
    successors: Vec<Vec<(u32, u8)>>,
}

impl Transitions {
    /// From sequences of catalog rows (1..rows; row 0 = unknown, skipped): count each
    /// consecutive pair, keep the `per_item` likeliest successors of every item with
    /// P = count / all successions of that item. Most pairs occur once, so ties are the rule:
    /// they go to the more popular successor (more occurrences in `sequences`), then the lower
    /// row.
    pub fn count<'a>(sequences: impl IntoIterator<Item = &'a [usize]>, rows: usize, per_item: usize) -> Transitions {
        let mut counts: Vec<HashMap<usize, u32>> = vec![HashMap::new(); rows];
        let mut popularity = vec![0u32; rows];
        for sequence in sequences {
            for &item in sequence.iter().filter(|&&item| item < rows) {
                popularity[item] += 1;
            }
            for pair in sequence.windows(2) {
                if pair[0] != 0 && pair[1] != 0 && pair[0] < rows && pair[1] < rows {
                    *counts[pair[0]].entry(pair[1]).or_default() += 1;
                }
            }
        }
        let per_item = per_item.min(u8::MAX as usize);
        let successors = counts
            .into_iter()
            .map(|row| {
                let total: u32 = row.values().sum();
                let mut ranked: Vec<(usize, u32)> = row.into_iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(popularity[b.0].cmp(&popularity[a.0])).then(a.0.cmp(&b.0)));
                ranked
                    .into_iter()
                    .take(per_item)
                    .map(|(next, n)| (next as u32, (255.0 * f64::from(n) / f64::from(total)).round() as u8))
                    // A successor whose probability rounds to 0 would add nothing.
                    .filter(|&(_, q)| q > 0)
                    .collect()
            })
            .collect();
        Transitions { successors }
    }

    /// Catalog rows covered (items + 1).
    pub fn rows(&self) -> usize {
        self.successors.len()
    }

    /// Successor entries kept, over all items.
    pub fn entries(&self) -> usize {
        self.successors.iter().map(Vec::len).sum()
    }

    /// For each of `candidates` (catalog rows), Σ_j ½^j · P(candidate | `recent[j]`) over the
    /// first [`RECENT_ITEMS`] of `recent` (catalog rows, most recent first; unknown rows add
    /// nothing).
    pub fn scores(&self, recent: &[usize], candidates: &[usize]) -> Vec<f32> {
        let mut by_row: HashMap<usize, f32> = HashMap::new();
        let mut decay = 1.0f32;
        for &item in recent.iter().take(RECENT_ITEMS) {
            for &(next, q) in self.successors.get(item).map(Vec::as_slice).unwrap_or_default() {
                *by_row.entry(next as usize).or_default() += decay * f32::from(q) / 255.0;
            }
            decay *= 0.5;
        }
        candidates.iter().map(|row| by_row.get(row).copied().unwrap_or(0.0)).collect()
    }

    /// The `transitions.bin` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.successors.len() + 3 * self.entries());
        out.extend_from_slice(&(self.successors.len() as u32).to_le_bytes());
        for row in &self.successors {
            out.push(row.len() as u8);
            for &(next, q) in row {
                let mut value = next;
                while value >= 0x80 {
                    out.push((value as u8 & 0x7f) | 0x80);
                    value >>= 7;
                }
                out.push(value as u8);
                out.push(q);
            }
        }
        out
    }

    /// Parse `transitions.bin` for a catalog of `rows` rows (items + 1).
    pub fn from_bytes(bytes: &[u8], rows: usize) -> Result<Transitions> {
        let bad = |problem: String| Error::bundle(format!("transitions.bin: {problem}"));
        let mut at = 0usize;
        let mut byte = || -> Result<u8> {
            let b = *bytes.get(at).ok_or_else(|| bad("truncated".into()))?;
            at += 1;
            Ok(b)
        };
        let declared = u32::from_le_bytes([byte()?, byte()?, byte()?, byte()?]) as usize;
        if declared != rows {
            return Err(bad(format!("covers {declared} catalog rows, the model has {rows}")));
        }
        let mut successors = Vec::with_capacity(rows);
        for row in 0..rows {
            let n = byte()?;
            let mut list = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let mut next = 0u64;
                let mut shift = 0;
                loop {
                    let b = byte()?;
                    next |= u64::from(b & 0x7f) << shift;
                    if b & 0x80 == 0 {
                        break;
                    }
                    shift += 7;
                    if shift > 28 {
                        return Err(bad(format!("row {row}: a successor row is not a valid LEB128 number")));
                    }
                }
                if next == 0 || next >= rows as u64 {
                    return Err(bad(format!("row {row}: successor row {next} is outside 1..{rows}")));
                }
                list.push((next as u32, byte()?));
            }
            successors.push(list);
        }
        if at != bytes.len() {
            return Err(bad(format!("{} bytes after the last row", bytes.len() - at)));
        }
        Ok(Transitions { successors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_prunes_and_scores_by_hand() {
        // Row 1 is followed by 2 twice and by 3 once; row 2 by 3 once.
        let sequences: [&[usize]; 3] = [&[1, 2, 3], &[1, 2], &[1, 3]];
        let full = Transitions::count(sequences, 4, 8);
        assert_eq!(full.entries(), 3);
        // P(2|1) = 2/3 → 170/255, P(3|1) = 1/3 → 85/255, P(3|2) = 1 → 255/255.
        let scores = full.scores(&[1], &[2, 3, 1]);
        assert_eq!(scores, vec![170.0 / 255.0, 85.0 / 255.0, 0.0]);
        // Most recent 2 (weight 1), then 1 (weight ½): P(3) = 1 + ½·85/255.
        let scores = full.scores(&[2, 1], &[3, 2]);
        assert!((scores[0] - (1.0 + 0.5 * 85.0 / 255.0)).abs() < 1e-6, "{scores:?}");
        assert!((scores[1] - 0.5 * 170.0 / 255.0).abs() < 1e-6, "{scores:?}");
        // Only the 3 most recent count; unknown rows add nothing.
        assert_eq!(full.scores(&[0, 3, 3, 1], &[2]), vec![0.0]);

        let pruned = Transitions::count(sequences, 4, 1);
        assert_eq!(pruned.entries(), 2);
        // The kept successor keeps its probability over all successors (not renormalised).
        assert_eq!(pruned.scores(&[1], &[2, 3]), vec![170.0 / 255.0, 0.0]);

        // 1 → 2 and 1 → 3 once each: the tie goes to 3, which occurs more often overall.
        let tied: [&[usize]; 3] = [&[1, 2], &[1, 3], &[3]];
        assert_eq!(Transitions::count(tied, 4, 1).scores(&[1], &[2, 3]), vec![0.0, 128.0 / 255.0]);
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_name_the_problem() {
        let sequences: Vec<Vec<usize>> = vec![vec![1, 300, 2], vec![300, 299, 1], vec![1, 300]];
        let table = Transitions::count(sequences.iter().map(Vec::as_slice), 301, 4);
        let bytes = table.to_bytes();
        assert_eq!(Transitions::from_bytes(&bytes, 301).unwrap(), table);

        let err = |bytes: &[u8], rows: usize| Transitions::from_bytes(bytes, rows).unwrap_err().to_string();
        assert!(err(&bytes, 302).contains("covers 301 catalog rows, the model has 302"));
        assert!(err(&bytes[..bytes.len() - 1], 301).contains("truncated"));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(err(&trailing, 301).contains("1 bytes after the last row"));
        // Row 1 → successor 0 (the unknown row) is refused.
        let mut zero = 3u32.to_le_bytes().to_vec();
        zero.extend_from_slice(&[0, 1, 0, 9, 0]);
        assert!(err(&zero, 3).contains("row 1: successor row 0 is outside 1..3"), "{}", err(&zero, 3));
    }
}

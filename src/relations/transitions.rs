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
use std::ops::{Add, Mul};

use crate::error::{Error, Result};

/// Session items, most recent first, that the transition score looks back over.
pub const RECENT_ITEMS: usize = 3;

/// Every consecutive pair of a set of sequences, counted once: the exact table of the
/// model-free baseline and the stand-in server, and the pruned table the bundle ships, both
/// derive from it.
#[derive(Debug, Clone)]
pub struct Counts {
    /// `pairs[item]`: successor → times it came right after `item`.
    pairs: Vec<HashMap<usize, u32>>,
    /// Occurrences of each item in the sequences.
    popularity: Vec<u32>,
}

impl Counts {
    /// Count the pairs of `sequences` of items `0..items` (others are skipped).
    pub fn count<'a>(sequences: impl IntoIterator<Item = &'a [usize]>, items: usize) -> Counts {
        let mut pairs: Vec<HashMap<usize, u32>> = vec![HashMap::new(); items];
        let mut popularity = vec![0u32; items];
        for sequence in sequences {
            for &item in sequence {
                if let Some(n) = popularity.get_mut(item) {
                    *n = n.saturating_add(1);
                }
            }
            for pair in sequence.windows(2) {
                if let ([from, next], true) = (pair, pair.iter().all(|&i| i < items))
                    && let Some(row) = pairs.get_mut(*from)
                {
                    let n = row.entry(*next).or_default();
                    *n = n.saturating_add(1);
                }
            }
        }
        Counts { pairs, popularity }
    }

    /// Occurrences of each item.
    pub fn popularity(&self) -> &[u32] {
        &self.popularity
    }

    /// Every successor of every item with P(next | item) = count / all successions of item.
    pub fn exact(&self) -> Vec<Vec<(usize, f64)>> {
        self.pairs
            .iter()
            .map(|row| {
                let total: f64 = row.values().map(|&n| f64::from(n)).sum();
                row.iter().map(|(&next, &n)| (next, f64::from(n) / total)).collect()
            })
            .collect()
    }

    /// The `per_item` likeliest successors of every item, as a bundle table over catalog rows
    /// (row 0, the unknown item, is neither a source nor a successor). P stays over all
    /// successors. Most pairs occur once, so ties are the rule: they go to the more popular
    /// successor, then the lower row.
    pub fn pruned(&self, per_item: usize) -> Transitions {
        let per_item = per_item.min(usize::from(u8::MAX));
        let popularity = |row: usize| self.popularity.get(row).copied().unwrap_or(0);
        let successors = self
            .pairs
            .iter()
            .enumerate()
            .map(|(from, row)| {
                if from == 0 {
                    return Vec::new();
                }
                let total: u32 = row.iter().filter(|&(&next, _)| next != 0).map(|(_, &n)| n).fold(0, u32::saturating_add);
                let mut ranked: Vec<(usize, u32)> = row.iter().filter(|&(&next, _)| next != 0).map(|(&next, &n)| (next, n)).collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(popularity(b.0).cmp(&popularity(a.0))).then(a.0.cmp(&b.0)));
                ranked
                    .into_iter()
                    .take(per_item)
                    .filter_map(|(next, n)| {
                        let q = (255.0 * f64::from(n) / f64::from(total)).round() as u8;
                        // A successor whose probability rounds to 0 would add nothing.
                        Some((u32::try_from(next).ok()?, q)).filter(|_| q > 0)
                    })
                    .collect()
            })
            .collect();
        Transitions { successors }
    }
}

// Float arithmetic of a generic score type: it cannot overflow into a panic (clippy only sees
// the `Add`/`Mul` bounds).
#[allow(clippy::arithmetic_side_effects)]
/// For each item that follows one of `recent` (items, most recent first), its parts of
/// Σ_j ½^j · P(item | `recent[j]`) over the first [`RECENT_ITEMS`], as (j, ½^j·P) in order
/// of j. The one transition score: the shipped table, the baseline and the stand-in server
/// all read it, and an explanation can name the session item each part came from.
pub fn decayed<T, S>(recent: &[usize], successors: impl Fn(usize) -> S) -> foldhash::HashMap<usize, Vec<(usize, T)>>
where
    T: Copy + Add<Output = T> + Mul<Output = T> + From<f32>,
    S: IntoIterator<Item = (usize, T)>,
{
    let mut parts: foldhash::HashMap<usize, Vec<(usize, T)>> = foldhash::HashMap::default();
    let mut decay = T::from(1.0);
    for (j, &item) in recent.iter().take(RECENT_ITEMS).enumerate() {
        for (next, p) in successors(item) {
            parts.entry(next).or_default().push((j, decay * p));
        }
        decay = decay * T::from(0.5);
    }
    parts
}

/// The sum of [`decayed`]'s parts, added in order.
#[allow(clippy::arithmetic_side_effects)] // float addition, as in `decayed`
pub fn total<T: Copy + Add<Output = T> + From<f32>>(parts: &[(usize, T)]) -> T {
    parts.iter().fold(T::from(0.0), |sum, &(_, p)| sum + p)
}

/// Pruned successor lists, indexed by catalog row.
#[derive(Debug, Clone, PartialEq)]
pub struct Transitions {
    /// `successors[row]`: (successor row, probability in 1/255 steps), likeliest first.
    successors: Vec<Vec<(u32, u8)>>,
}

impl Transitions {
    /// From sequences of catalog rows (row 0 = unknown, skipped), the `per_item` likeliest
    /// successors of each of `rows` rows ([`Counts::pruned`]).
    pub fn count<'a>(sequences: impl IntoIterator<Item = &'a [usize]>, rows: usize, per_item: usize) -> Transitions {
        Counts::count(sequences, rows).pruned(per_item)
    }

    /// Catalog rows covered (items + 1).
    pub fn rows(&self) -> usize {
        self.successors.len()
    }

    /// Successor entries kept, over all items.
    pub fn entries(&self) -> usize {
        self.successors.iter().map(Vec::len).sum()
    }

    /// The kept successors of `row` with their probabilities.
    fn successors(&self, row: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        self.successors.get(row).into_iter().flatten().map(|&(next, q)| (next as usize, f32::from(q) / 255.0))
    }

    /// For each of `candidates` (catalog rows), the parts of its transition score from
    /// `recent` (catalog rows, most recent first; unknown rows add nothing): see [`decayed`].
    pub fn parts(&self, recent: &[usize], candidates: &[usize]) -> Vec<Vec<(usize, f32)>> {
        let by_row = decayed(recent, |item| self.successors(item));
        candidates.iter().map(|row| by_row.get(row).cloned().unwrap_or_default()).collect()
    }

    /// Σ_j ½^j · P(candidate | `recent[j]`) for each of `candidates` ([`Transitions::parts`] summed).
    pub fn scores(&self, recent: &[usize], candidates: &[usize]) -> Vec<f32> {
        self.parts(recent, candidates).iter().map(|parts| total(parts)).collect()
    }

    /// The `transitions.bin` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries().saturating_mul(3).saturating_add(self.successors.len()).saturating_add(4));
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
            at = at.saturating_add(1);
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
                let mut shift = 0u32;
                loop {
                    let b = byte()?;
                    next |= u64::from(b & 0x7f) << shift;
                    if b & 0x80 == 0 {
                        break;
                    }
                    shift = shift.saturating_add(7);
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
            return Err(bad(format!("{} bytes after the last row", bytes.len().saturating_sub(at))));
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

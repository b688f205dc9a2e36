//! The catalog a model was trained on: item id ↔ ID-embedding row, and the one cut of a
//! session to the window the model reads.

use foldhash::HashMap;

use crate::error::{Error, Result};

/// Catalog item ids in ID-embedding order. Row 0 is "unknown": an item outside the catalog is
/// understood from its title alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// Row − 1 → id.
    ids: Vec<String>,
    /// Id → row (1-based).
    rows: HashMap<String, usize>,
}

impl Catalog {
    /// From ids in row order (row 1 is the first); ids must be distinct.
    pub fn new(ids: Vec<String>) -> Result<Catalog> {
        let rows: HashMap<String, usize> = ids.iter().enumerate().map(|(i, id)| (id.clone(), i.saturating_add(1))).collect();
        if rows.len() != ids.len() {
            return Err(Error::bundle(format!("catalog.txt lists {} lines, {} distinct items", ids.len(), rows.len())));
        }
        Ok(Catalog { ids, rows })
    }

    /// Parse `catalog.txt` (one id a line).
    pub fn from_text(bytes: &[u8]) -> Result<Catalog> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::bundle("catalog.txt is not UTF-8"))?;
        Catalog::new(text.lines().map(str::to_string).collect())
    }

    /// `catalog.txt`'s bytes.
    pub fn to_text(&self) -> Vec<u8> {
        self.ids.join("\n").into_bytes()
    }

    /// Items in the catalog (rows are 1..=len).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the catalog has no items.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// `id`'s row of the ID table (0 = not in the catalog).
    pub fn row(&self, id: &str) -> usize {
        self.rows.get(id).copied().unwrap_or(0)
    }

    /// Whether `id` has a row of its own.
    pub fn contains(&self, id: &str) -> bool {
        self.rows.contains_key(id)
    }

    /// Ids in row order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }
}

/// The newest `max_events` of `events` (oldest first): the part of a session the model reads.
/// Every place that hands a session to the model cuts it here.
pub fn window<T>(events: &[T], max_events: usize) -> &[T] {
    events.get(events.len().saturating_sub(max_events)..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_start_at_one_and_unknown_is_zero() {
        let c = Catalog::from_text(b"a\nb\nc").unwrap();
        assert_eq!((c.row("a"), c.row("c"), c.row("z")), (1, 3, 0));
        assert_eq!(c.len(), 3);
        assert_eq!(Catalog::from_text(&c.to_text()).unwrap(), c);
        assert!(Catalog::from_text(b"a\na").unwrap_err().to_string().contains("2 lines, 1 distinct"));
    }

    #[test]
    fn window_keeps_the_newest() {
        assert_eq!(window(&[1, 2, 3, 4], 2), &[3, 4]);
        assert_eq!(window(&[1, 2], 5), &[1, 2]);
        assert_eq!(window::<u8>(&[], 5), &[] as &[u8]);
    }
}

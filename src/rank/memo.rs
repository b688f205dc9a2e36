//! What scoring remembers between the calls of one personalizer: the vectors of the items it
//! has encoded (bounded; the least recently used goes first) and the session state of the
//! last session window. Each is keyed by everything that determines it, so an entry is never
//! stale: an item vector by the item's catalog row and title, the session state by the
//! window's items, titles and event types. Neither depends on the personal head, so learning
//! keeps both.
//!
//! The item vectors live in `lru::LruCache`. Looked at: `lru` (bounded map with O(1) get and
//! put, no dependencies beyond `hashbrown`), `quick_cache` and `moka` (built for concurrent
//! access: locks and threads a wasm page has no use for), `hashlink` (an LRU on a linked hash
//! map, larger); `lru` does exactly this job.

use std::hash::BuildHasher;
use std::num::NonZeroUsize;

use lru::LruCache;

use crate::api::Event;

/// What determines an item's vector: its catalog row and its title.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemKey<'a> {
    /// The item's row of the ID table (0: known by its title alone).
    pub row: usize,
    /// The title as the model reads it.
    pub title: &'a str,
}

/// One remembered vector with the key it was computed for: the map is keyed by the key's
/// hash (a lookup then allocates nothing), and a hit is a hit only when row and title match,
/// so two keys that share a hash never share a vector.
struct Remembered {
    row: usize,
    title: Box<str>,
    vector: Vec<f32>,
}

impl Remembered {
    fn is_for(&self, key: ItemKey) -> bool {
        self.row == key.row && *self.title == *key.title
    }
}

/// Item vectors and the last session state; capacity 0 remembers nothing (every call
/// recomputes: the reference the benches compare with).
pub struct Memo {
    items: Option<LruCache<u64, Remembered>>,
    hasher: foldhash::fast::RandomState,
    session: Option<ForWindow>,
    /// The leave-one-out session states of the last explained window (`crate::rank::explain`).
    left_out: Option<ForWindow>,
    /// Item lookups answered from memory, and encoded, since the start.
    pub hits: u64,
    /// Item vectors encoded since the start.
    pub misses: u64,
}

impl Memo {
    /// Up to `capacity` item vectors (and the last session state, unless `capacity` is 0).
    pub fn new(capacity: usize) -> Memo {
        Memo { items: NonZeroUsize::new(capacity).map(LruCache::new), hasher: Default::default(), session: None, left_out: None, hits: 0, misses: 0 }
    }

    /// A memo that remembers nothing.
    pub fn none() -> Memo {
        Memo::new(0)
    }

    /// Keep at most `capacity` item vectors from now on (the least recently used go); 0 drops
    /// everything and remembers nothing more.
    pub fn resize(&mut self, capacity: usize) {
        match (NonZeroUsize::new(capacity), &mut self.items) {
            (Some(cap), Some(items)) => items.resize(cap),
            (cap, items) => {
                *items = cap.map(LruCache::new);
                self.session = None;
                self.left_out = None;
            }
        }
    }

    /// How many item vectors are held.
    pub fn len(&self) -> usize {
        self.items.as_ref().map_or(0, LruCache::len)
    }

    /// Whether no item vector is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn hash(&self, key: ItemKey) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The vector remembered for `key`, marked as just used.
    pub fn vector(&mut self, key: ItemKey) -> Option<&[f32]> {
        let hash = self.hash(key);
        let found = self.items.as_mut()?.get(&hash).filter(|r| r.is_for(key)).map(|r| r.vector.as_slice());
        if found.is_some() {
            self.hits = self.hits.saturating_add(1);
        }
        found
    }

    /// Whether a vector is remembered for `key` (without marking it used).
    pub fn holds(&self, key: ItemKey) -> bool {
        let hash = self.hash(key);
        self.items.as_ref().and_then(|items| items.peek(&hash)).is_some_and(|r| r.is_for(key))
    }

    /// Remember `vector` for `key` (replacing what another key with the same hash held).
    pub fn remember(&mut self, key: ItemKey, vector: Vec<f32>) {
        self.misses = self.misses.saturating_add(1);
        let hash = self.hash(key);
        if let Some(items) = &mut self.items {
            items.put(hash, Remembered { row: key.row, title: key.title.into(), vector });
        }
    }

    /// The session state remembered for the window `events`, if it is that window.
    pub fn session(&self, events: &[Event]) -> Option<&[f32]> {
        self.session.as_ref()?.of(events)
    }

    /// Remember `state` as the session state of the window `events`.
    pub fn remember_session(&mut self, events: &[Event], state: Vec<f32>) {
        if self.items.is_some() {
            self.session = Some(ForWindow { window: events.to_vec(), values: state });
        }
    }

    /// The leave-one-out states remembered for the window `events`, if it is that window.
    pub fn left_out(&self, events: &[Event]) -> Option<&[f32]> {
        self.left_out.as_ref()?.of(events)
    }

    /// Remember `states` as the leave-one-out states of the window `events`.
    pub fn remember_left_out(&mut self, events: &[Event], states: Vec<f32>) {
        if self.items.is_some() {
            self.left_out = Some(ForWindow { window: events.to_vec(), values: states });
        }
    }
}

/// Numbers computed for one session window.
struct ForWindow {
    window: Vec<Event>,
    values: Vec<f32>,
}

impl ForWindow {
    /// The numbers, if `events` is the same window: the same items, titles and event types in
    /// the same order (what the session transformer reads; timestamps it does not).
    fn of(&self, events: &[Event]) -> Option<&[f32]> {
        let same = self.window.len() == events.len() && self.window.iter().zip(events).all(|(a, b)| a.item_id == b.item_id && a.kind == b.kind && a.title == b.title);
        same.then_some(self.values.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EventKind;

    #[test]
    fn bounded_least_recently_used_first_out() {
        let key = |title| ItemKey { row: 0, title };
        let mut memo = Memo::new(2);
        memo.remember(key("a"), vec![1.0]);
        memo.remember(key("b"), vec![2.0]);
        assert_eq!(memo.vector(key("a")), Some([1.0].as_slice()));
        assert_eq!(memo.vector(ItemKey { row: 1, title: "a" }), None, "the row is part of the key");
        // Two keys with one hash: the second replaces the first, and neither reads the other's vector.
        let hash = memo.hash(key("a"));
        let a = memo.items.as_mut().map(|items| items.put(hash, Remembered { row: 0, title: "z".into(), vector: vec![9.0] }));
        assert!(a.is_some());
        assert_eq!(memo.vector(key("a")), None, "a vector is read only for the key it was computed for");
        memo.remember(key("a"), vec![1.0]);
        assert_eq!(memo.vector(key("a")), Some([1.0].as_slice()));
        memo.remember(key("c"), vec![3.0]);
        assert!(memo.holds(key("a")) && memo.holds(key("c")) && !memo.holds(key("b")), "b was the least recently used");
        assert_eq!(memo.len(), 2);
        memo.resize(1);
        assert_eq!(memo.len(), 1);
        memo.resize(0);
        memo.remember(key("d"), vec![4.0]);
        assert!(memo.is_empty(), "capacity 0 remembers nothing");
    }

    #[test]
    fn the_session_state_is_for_its_window_only() {
        let event = |id: &str, ts: f64| Event { item_id: id.into(), kind: EventKind::View, ts, title: None };
        let mut memo = Memo::new(4);
        memo.remember_session(&[event("a", 1.0)], vec![0.5]);
        assert_eq!(memo.session(&[event("a", 7.0)]), Some([0.5].as_slice()), "timestamps are not read by the model");
        assert_eq!(memo.session(&[event("b", 1.0)]), None);
        assert_eq!(memo.session(&[event("a", 1.0), event("b", 2.0)]), None);
        let clicked = Event { kind: EventKind::Click, ..event("a", 1.0) };
        assert_eq!(memo.session(&[clicked]), None);
        let mut off = Memo::none();
        off.remember_session(&[event("a", 1.0)], vec![0.5]);
        assert_eq!(off.session(&[event("a", 1.0)]), None);
    }
}

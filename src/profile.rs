//! The long-term profile: what the shopper bought beyond the session window, so the repeat
//! prior still knows those items on the next visit, once their events have left the window
//! the session transformer reads. It stays on the device inside the personal state
//! ([`crate::state`]) and `forget()` clears it.
//!
//! Bounded: the [`PROFILE_ITEMS`] most recently bought distinct items, in `lru::LruCache`
//! (the crate the item-vector cache uses: O(1) lookup on the hot path, the least recently
//! bought dropped first).

use std::num::NonZeroUsize;

use lru::LruCache;

use crate::api::{Event, EventKind};

/// Distinct items a profile keeps: about 4 KB of ids, and every distinct product of 99.5 % of
/// the retail customers with several invoices (2,772 of 2,787; 127 products on average;
/// `pocketrank convert-retail --max-len 1000000`).
pub const PROFILE_ITEMS: usize = 500;

/// Items bought beyond the session window, with how often, the most recently bought kept.
#[derive(Debug, Clone)]
pub struct Profile {
    bought: LruCache<String, u32>,
}

const CAPACITY: NonZeroUsize = match NonZeroUsize::new(PROFILE_ITEMS) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

impl Default for Profile {
    fn default() -> Self {
        Profile { bought: LruCache::new(CAPACITY) }
    }
}

impl Profile {
    /// Keep what an event that leaves the window says for the long term: a purchase.
    pub fn remember(&mut self, event: &Event) {
        if event.kind == EventKind::Purchase {
            let times = self.bought.get_or_insert_mut(event.item_id.clone(), || 0);
            *times = times.saturating_add(1);
        }
    }

    /// Whether the shopper bought `id` beyond the window.
    pub fn contains(&self, id: &str) -> bool {
        self.bought.contains(id)
    }

    /// How often the shopper bought `id` beyond the window (0: never).
    pub fn times(&self, id: &str) -> u32 {
        self.bought.peek(id).copied().unwrap_or(0)
    }

    /// Items kept.
    pub fn len(&self) -> usize {
        self.bought.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.bought.is_empty()
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.bought.clear();
    }

    /// (id, times bought), least recently bought first (the order [`Profile::from_entries`] reads).
    pub fn entries(&self) -> Vec<(String, u32)> {
        self.bought.iter().rev().map(|(id, &times)| (id.clone(), times)).collect()
    }

    /// A profile of `entries` (id, times bought), least recently bought first; beyond
    /// [`PROFILE_ITEMS`] the oldest go.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, u32)>) -> Profile {
        let mut profile = Profile::default();
        for (id, times) in entries {
            profile.bought.put(id, times);
        }
        profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, kind: EventKind) -> Event {
        Event { item_id: id.into(), kind, ts: 0.0, title: None }
    }

    #[test]
    fn keeps_purchases_most_recent_first_out_bounded() {
        let mut p = Profile::default();
        p.remember(&event("a", EventKind::Purchase));
        p.remember(&event("b", EventKind::View));
        p.remember(&event("c", EventKind::Cart));
        p.remember(&event("d", EventKind::Purchase));
        p.remember(&event("a", EventKind::Purchase));
        assert_eq!(p.entries(), vec![("d".to_string(), 1), ("a".to_string(), 2)], "purchases only, counted; a bought again is the most recent");
        assert!(p.contains("a") && !p.contains("b"));
        assert_eq!((p.times("a"), p.times("b")), (2, 0));
        let many = Profile::from_entries((0..PROFILE_ITEMS + 10).map(|i| (i.to_string(), 1)));
        assert_eq!(many.len(), PROFILE_ITEMS);
        assert!(!many.contains("9") && many.contains("10"), "the oldest went first");
        assert_eq!(Profile::from_entries(many.entries()).entries(), many.entries());
        p.clear();
        assert!(p.is_empty());
    }
}

//! A shopper's personalizer: the loaded ranker plus the current session's events.

use burn::tensor::Device;

use crate::bundle::Bundle;
use crate::error::Result;
use crate::input::{Candidate, Event, Ranked, RerankOptions};
use crate::rank::Ranker;

/// Loaded model + in-memory session. Raw events never leave this struct.
pub struct Personalizer {
    ranker: Ranker,
    session: Vec<Event>,
}

impl Personalizer {
    /// Verify and load a bundle, on the CPU.
    pub fn from_bundle_bytes(bytes: &[u8]) -> Result<Personalizer> {
        let bundle = Bundle::from_bytes(bytes)?;
        Ok(Personalizer::new(Ranker::from_bundle(&bundle, Device::flex())?))
    }

    /// A personalizer over an already loaded ranker, with an empty session.
    pub fn new(ranker: Ranker) -> Personalizer {
        Personalizer { ranker, session: Vec::new() }
    }

    /// Record an event; the session keeps the model's window of newest events.
    pub fn observe(&mut self, event: Event) {
        if self.session.len() == self.ranker.max_events() {
            // A window of at most 50 events: shifting is cheaper than any ring buffer bookkeeping.
            self.session.remove(0);
        }
        self.session.push(event);
    }

    /// The session, oldest event first.
    pub fn session(&self) -> &[Event] {
        &self.session
    }

    /// Drop the session's events.
    pub fn clear_session(&mut self) {
        self.session.clear();
    }

    /// Re-rank server candidates for the current session.
    pub fn rerank(&self, candidates: &[Candidate], options: &RerankOptions) -> Result<Vec<Ranked>> {
        self.ranker.rerank(&self.session, candidates, options)
    }

    /// The ranker underneath.
    pub fn ranker(&self) -> &Ranker {
        &self.ranker
    }
}

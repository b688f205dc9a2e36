//! A shopper's personalizer: the loaded ranker, the current session, and the personal head
//! that learns from what the shopper takes out of the slates they were shown.

use burn::tensor::Device;

use crate::bundle::{Bundle, to_hex};
use crate::error::Result;
use crate::input::{Candidate, Event, EventKind, Ranked, RerankOptions};
use crate::learn::{HeadParams, LearnConfig, Slate};
use crate::private::{PrivacyParams, PrivateUpdate, privatize};
use crate::rank::Ranker;
use crate::state::{Decoded, PersonalState};

/// What `import_state` did with intact bytes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Restore {
    /// Whether the personal head and session were restored.
    pub restored: bool,
    /// Why not, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Loaded model + in-memory session + personal head. Raw events never leave this struct
/// except through [`Personalizer::export_state`], which the caller keeps on the device.
pub struct Personalizer {
    ranker: Ranker,
    session: Vec<Event>,
    shipped_head: HeadParams,
    /// The personal head as plain numbers: the source of truth that learning, state and
    /// private updates read, pushed into the ranker's tensors whenever it changes.
    head: HeadParams,
    learning: LearnConfig,
    /// The last slate shown, kept until the next re-rank so a take can be learned from.
    last_slate: Option<Slate>,
    /// Indices into `last_slate` taken since the last update.
    pending: Vec<usize>,
}

impl Personalizer {
    /// Verify and load a bundle, on the CPU.
    pub fn from_bundle_bytes(bytes: &[u8]) -> Result<Personalizer> {
        let bundle = Bundle::from_bytes(bytes)?;
        Personalizer::new(Ranker::from_bundle(&bundle, Device::flex())?)
    }

    /// A personalizer over an already loaded ranker, with an empty session and the shipped head.
    pub fn new(ranker: Ranker) -> Result<Personalizer> {
        let shipped_head = ranker.head_params()?;
        Ok(Personalizer { ranker, session: Vec::new(), head: shipped_head.clone(), shipped_head, learning: LearnConfig::default(), last_slate: None, pending: Vec::new() })
    }

    /// Change the learning settings (validated).
    pub fn set_learning(&mut self, config: LearnConfig) -> Result<()> {
        config.validate("learning")?;
        self.learning = config;
        Ok(())
    }

    /// The learning settings.
    pub fn learning(&self) -> &LearnConfig {
        &self.learning
    }

    /// Record an event. A click, cart or purchase of an item in the last shown slate is a
    /// lesson: after `every` of them the personal head takes its bounded steps.
    pub fn observe(&mut self, event: Event) -> Result<()> {
        let taken = self.last_slate.as_ref().and_then(|s| s.ids.iter().position(|id| *id == event.item_id));
        if let Some(index) = taken.filter(|_| self.learning.enabled && event.kind != EventKind::View) {
            if !self.pending.contains(&index) {
                self.pending.push(index);
            }
            if self.pending.len() >= self.learning.every {
                self.learn_pending()?;
            }
        }
        if self.session.len() == self.ranker.max_events() {
            // A window of at most 50 events: shifting is cheaper than any ring buffer bookkeeping.
            self.session.remove(0);
        }
        self.session.push(event);
        Ok(())
    }

    fn learn_pending(&mut self) -> Result<()> {
        if let Some(slate) = self.last_slate.as_ref().filter(|_| !self.pending.is_empty()) {
            let next = self.head.learn(&self.shipped_head, slate, &self.pending, &self.learning);
            self.set_head(next)?;
        }
        self.pending.clear();
        Ok(())
    }

    fn set_head(&mut self, head: HeadParams) -> Result<()> {
        self.ranker.set_head(&head)?;
        self.head = head;
        Ok(())
    }

    /// The session, oldest event first.
    pub fn session(&self) -> &[Event] {
        &self.session
    }

    /// Drop the session's events (the personal head stays).
    pub fn clear_session(&mut self) {
        self.session.clear();
    }

    /// Re-rank server candidates for the current session, and remember the slate.
    pub fn rerank(&mut self, candidates: &[Candidate], options: &RerankOptions) -> Result<Vec<Ranked>> {
        // Takes from the previous slate are learned before it is replaced.
        self.learn_pending()?;
        let (ranked, slate) = self.ranker.rerank_slate(&self.session, candidates, options)?;
        self.last_slate = slate;
        Ok(ranked)
    }

    /// Personal state as bytes: format version, model fingerprint, personal head, session, checksum.
    pub fn export_state(&self) -> Result<Vec<u8>> {
        Ok(PersonalState { model: *self.ranker.fingerprint(), head: self.head.flat(), events: self.session.clone() }.to_bytes())
    }

    /// Restore a state. Corrupted bytes are an error and leave a clean start (shipped head,
    /// empty session); a state of another model or format is discarded cleanly.
    pub fn import_state(&mut self, bytes: &[u8]) -> Result<Restore> {
        self.forget()?;
        let decoded = PersonalState::from_bytes(bytes, self.ranker.fingerprint())?;
        let state = match decoded {
            Decoded::Discarded(reason) => return Ok(Restore { restored: false, reason: Some(reason) }),
            Decoded::Usable(state) => state,
        };
        let Some(head) = HeadParams::from_flat(self.shipped_head.d, &state.head) else {
            return Ok(Restore { restored: false, reason: Some("head does not fit this model".into()) });
        };
        if head.flat().iter().any(|x| !x.is_finite()) {
            return Err(crate::Error::invalid("state.head", "not finite; starting clean"));
        }
        self.set_head(head)?;
        self.session = state.events;
        let overflow = self.session.len().saturating_sub(self.ranker.max_events());
        self.session.drain(..overflow);
        Ok(Restore { restored: true, reason: None })
    }

    /// Back to the shipped head with an empty session; nothing personal is kept.
    pub fn forget(&mut self) -> Result<()> {
        self.set_head(self.shipped_head.clone())?;
        self.session.clear();
        self.last_slate = None;
        self.pending.clear();
        Ok(())
    }

    /// An opt-in release of the change of the head's shareable part (bias and server weights,
    /// [`HeadParams::shareable`]), clipped and noised (see [`crate::private`]).
    pub fn export_private_update(&self, privacy: &PrivacyParams) -> Result<PrivateUpdate> {
        let delta: Vec<f32> = self.head.shareable().iter().zip(self.shipped_head.shareable()).map(|(p, p0)| p - p0).collect();
        let mut rng = crate::private::os_seeded_rng()?;
        Ok(PrivateUpdate {
            mechanism: "gaussian".into(),
            model: to_hex(self.ranker.fingerprint()),
            privacy: *privacy,
            values: privatize(&delta, privacy, &mut rng)?,
        })
    }

    /// The ranker underneath.
    pub fn ranker(&self) -> &Ranker {
        &self.ranker
    }

    /// The shipped head this personalizer started from.
    pub fn shipped_head(&self) -> &HeadParams {
        &self.shipped_head
    }
}

//! A shopper's personalizer: the loaded ranker, the current session, and the personal head
//! that learns from what the shopper takes out of the slates they were shown.

use burn::tensor::Device;

pub use crate::backend::{BackendName, BackendReport, Timings};
use crate::api::{Budget, Candidate, Complement, Event, EventCounts, EventKind, Limits, Ranked, RerankOptions, StateSummary};
use crate::bundle::{Bundle, to_hex};
use crate::catalog::window;
use crate::error::Result;
use crate::learn::{HeadParams, LearnConfig, Slate};
use crate::private::{PrivacyParams, PrivateUpdate, privatize};
use crate::profile::Profile;
use crate::rank::{Candidates, Memo, Ranker, ScoredSlate, order};
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
    /// The model on the CPU: always loaded, so a lost GPU never loses the shopper's ranking.
    ranker: Ranker,
    /// What the CPU ranker computed and may need again ([`Memo`]).
    memo: Memo,
    /// The same model on a GPU, when it was chosen; scoring goes here first. Its own memo:
    /// its vectors come from its own arithmetic.
    accelerator: Option<(Ranker, Memo)>,
    backend: BackendReport,
    session: Vec<Event>,
    /// What the shopper bought beyond the window (with `learning.profile`).
    profile: Profile,
    shipped_head: HeadParams,
    /// The personal head as plain numbers: the source of truth that learning, state and
    /// private updates read, pushed into the ranker's tensors whenever it changes.
    head: HeadParams,
    learning: LearnConfig,
    limits: Limits,
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

    /// [`Personalizer::from_bundle_bytes`] for a bundle that must carry the signature of the
    /// publisher whose Ed25519 key is `public_key` ([`crate::bundle::sign`]).
    pub fn from_signed_bundle_bytes(bytes: &[u8], public_key: &[u8; 32]) -> Result<Personalizer> {
        let bundle = Bundle::from_bytes(bytes)?;
        crate::bundle::sign::verify(&bundle, public_key)?;
        Personalizer::new(Ranker::from_bundle(&bundle, Device::flex())?)
    }

    /// A personalizer over an already loaded ranker, with an empty session and the shipped head.
    pub fn new(ranker: Ranker) -> Result<Personalizer> {
        let shipped_head = ranker.head_params()?;
        Ok(Personalizer {
            ranker,
            memo: Memo::new(Limits::default().item_cache),
            accelerator: None,
            backend: BackendReport::new(BackendName::Cpu, "the CPU was asked for", None),
            session: Vec::new(),
            profile: Profile::default(),
            head: shipped_head.clone(),
            shipped_head,
            learning: LearnConfig::default(),
            limits: Limits::default(),
            last_slate: None,
            pending: Vec::new(),
        })
    }

    /// Which backend scores, and why.
    pub fn backend(&self) -> &BackendReport {
        &self.backend
    }

    /// Score on the CPU from now on (dropping any accelerator), for `reason`, with the
    /// warm-up timings when the choice was measured.
    pub fn use_cpu(&mut self, report: BackendReport) {
        self.accelerator = None;
        self.backend = report;
    }

    /// The same bundle on `device` (a GPU), with this personalizer's head: ready to be timed
    /// against the CPU and handed to [`Personalizer::use_accelerator`].
    pub fn accelerator(&self, bundle: &Bundle, device: Device) -> Result<Ranker> {
        Ranker::on_gpu(bundle, device, &self.head)
    }

    /// Score on `accelerator` (the same bundle on a GPU) from now on, with the personal head.
    pub fn use_accelerator(&mut self, mut accelerator: Ranker, report: BackendReport) -> Result<()> {
        if accelerator.fingerprint() != self.ranker.fingerprint() {
            return Err(crate::Error::invalid("accelerator", "holds another model than the CPU ranker"));
        }
        accelerator.set_head(&self.head)?;
        self.accelerator = Some((accelerator, Memo::new(self.limits.item_cache)));
        self.backend = report;
        Ok(())
    }

    /// Median milliseconds of one re-rank right after a new event (a full window of events,
    /// `candidates` items the ranker has seen: the work a call does once vectors are cached)
    /// on the CPU and on `accelerator`, `runs` timed runs each after one untimed run (shader
    /// compilation, first allocations). `now` is a millisecond clock. The shopper's session,
    /// head and memo are not touched.
    pub async fn time_backends(&self, accelerator: &Ranker, candidates: usize, runs: usize, now: &dyn Fn() -> f64) -> Result<Timings> {
        let window = self.ranker.max_events();
        let (events, slate) = self.ranker.synthetic_request(candidates, window.saturating_add(runs).saturating_add(1));
        let options = RerankOptions::default();
        let mut medians = [0.0; 2];
        for (ranker, median) in [&self.ranker, accelerator].into_iter().zip(&mut medians) {
            let mut memo = Memo::new(self.limits.item_cache.max(candidates.saturating_add(window).saturating_add(runs).saturating_add(1)));
            let mut times = Vec::with_capacity(runs);
            for run in 0..=runs {
                // The window slides by one event a run: a new session state, one new item.
                let session = events.get(run..run.saturating_add(window)).unwrap_or(&events);
                let start = now();
                ranker.score(session, Candidates::Listed(&slate), &options, &mut memo).await?;
                if run > 0 {
                    times.push(now() - start);
                }
            }
            times.sort_by(f64::total_cmp);
            *median = times.get(times.len() / 2).copied().unwrap_or(f64::INFINITY);
        }
        Ok((medians[0], medians[1]))
    }

    /// Change the learning settings (validated). Turning the profile off empties it.
    pub fn set_learning(&mut self, config: LearnConfig) -> Result<()> {
        config.validate("learning")?;
        if !config.profile {
            self.profile.clear();
        }
        self.learning = config;
        Ok(())
    }

    /// The learning settings.
    pub fn learning(&self) -> &LearnConfig {
        &self.learning
    }

    /// Change the input limits (validated); a smaller event limit drops the oldest events now.
    pub fn set_limits(&mut self, limits: Limits) -> Result<()> {
        limits.validate("limits")?;
        self.limits = limits;
        self.memo.resize(limits.item_cache);
        if let Some((_, memo)) = &mut self.accelerator {
            memo.resize(limits.item_cache);
        }
        self.keep_window();
        Ok(())
    }

    /// The input limits in force; the JSON validators take them
    /// ([`Candidate::list_from_json`], [`Event::from_json`]).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Record an event (its title cut to the limit). A click, cart or purchase of an item in
    /// the last shown slate is a lesson: after `every` of them the personal head takes its
    /// bounded steps.
    pub fn observe(&mut self, event: Event) -> Result<()> {
        event.check("event", &self.limits)?;
        let event = self.cut(event);
        let taken = self.last_slate.as_ref().and_then(|s| s.ids.iter().position(|id| *id == event.item_id));
        if let Some(index) = taken.filter(|_| self.learning.enabled && event.kind != EventKind::View) {
            if !self.pending.contains(&index) {
                self.pending.push(index);
            }
            if self.pending.len() >= self.learning.every {
                self.learn_pending()?;
            }
        }
        self.session.push(event);
        self.keep_window();
        Ok(())
    }

    /// `event` with its title cut to the limit: what the session keeps.
    fn cut(&self, mut event: Event) -> Event {
        event.title = event.title.map(|title| self.limits.cut_title(title));
        event
    }

    /// Keep only the events the model reads: its window (50 events for the shipped model) or
    /// the event limit, whichever is smaller; at that size shifting is cheaper than any
    /// ring-buffer bookkeeping.
    fn keep_window(&mut self) {
        let kept = self.ranker.max_events().min(self.limits.events);
        let overflow = self.session.len().saturating_sub(window(&self.session, kept).len());
        let left: Vec<Event> = self.session.drain(..overflow).collect();
        self.keep_in_profile(&left);
    }

    /// Events leaving the window: what they say for the long term goes into the profile.
    fn keep_in_profile(&mut self, events: &[Event]) {
        if self.learning.profile {
            for event in events {
                self.profile.remember(event);
            }
        }
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
        if let Some((accelerator, _)) = &mut self.accelerator {
            accelerator.set_head(&head)?;
        }
        self.head = head;
        Ok(())
    }

    /// The session, oldest event first.
    pub fn session(&self) -> &[Event] {
        &self.session
    }

    /// Drop the session's events (a new visit). The personal head stays, and the profile keeps
    /// what the events bought.
    pub fn clear_session(&mut self) {
        let left = std::mem::take(&mut self.session);
        self.keep_in_profile(&left);
    }

    /// What the shopper bought beyond the window.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Re-rank server candidates for the current session, and remember the slate (CPU only:
    /// with an accelerator, use [`Personalizer::rerank_async`]).
    pub fn rerank(&mut self, candidates: &[Candidate], options: &RerankOptions) -> Result<Vec<Ranked>> {
        crate::rank::ready(self.rerank_async(candidates, options))
    }

    /// [`Personalizer::rerank`] on the chosen backend. When the accelerator fails (a lost
    /// device, a failed operation), it is dropped and the CPU answers this call and every
    /// later one, with the same session and the same head, so the same ranking.
    pub async fn rerank_async(&mut self, candidates: &[Candidate], options: &RerankOptions) -> Result<Vec<Ranked>> {
        Candidate::check_list(candidates, "candidates", &self.limits)?;
        // Takes from the previous slate are learned before it is replaced.
        self.learn_pending()?;
        let listed = Candidates::Listed(candidates);
        let accelerated = match &mut self.accelerator {
            None => None,
            Some((accelerator, memo)) => match accelerator.score_for(&self.session, Some(&self.profile), listed, options, memo).await {
                Ok(result) => Some(result),
                // Bad input is bad on every backend: say so, keep the accelerator.
                Err(e) if e.kind() == crate::ErrorKind::InvalidInput => return Err(e),
                Err(e) => {
                    self.use_cpu(BackendReport::after_failure(e));
                    None
                }
            },
        };
        let ScoredSlate { scored, slate, vectors } = match accelerated {
            Some(result) => result,
            None => crate::rank::ready(self.ranker.score_for(&self.session, Some(&self.profile), listed, options, &mut self.memo))?,
        };
        self.last_slate = slate;
        let (mut ranked, personalization) = order::ranked(candidates, scored.terms(&self.ranker.weights()), vectors.as_deref(), &options.budget);
        if options.explain > 0 {
            // On the CPU whichever backend scored: a small batch, and the same parts on every page.
            // Under the blend the page was ordered by (an overlap floor may have lowered it).
            let applied = RerankOptions { budget: Budget { personalization, ..options.budget }, ..options.clone() };
            crate::rank::ready(self.ranker.explain(&self.session, Some(&self.profile), candidates, &mut ranked, &applied, &mut self.memo))?;
        }
        Ok(ranked)
    }

    /// Up to `k` items (at most [`Limits::candidates`]) that complete the session's cart
    /// (its `cart` and `purchase` events), from the bundle's association rules: a "frequently
    /// bought together" list without a server list. Empty when the bundle has no rules.
    pub fn complements(&self, k: usize) -> Result<Vec<Complement>> {
        if k > self.limits.candidates {
            return Err(crate::Error::invalid("k", format!("must be an integer in 0..={}", self.limits.candidates)));
        }
        Ok(self.ranker.complements(&self.session, k))
    }

    /// Personal state as bytes: format version, model fingerprint, personal head, session, checksum.
    pub fn export_state(&self) -> Result<Vec<u8>> {
        Ok(PersonalState { model: *self.ranker.fingerprint(), head: self.head.flat(), events: self.session.clone(), profile: self.profile.entries() }.to_bytes())
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
        // Cut to this page's limits, which may be tighter than those the state was saved under.
        self.session = state.events.into_iter().map(|event| self.cut(event)).collect();
        self.profile = Profile::from_entries(state.profile);
        self.keep_window();
        Ok(Restore { restored: true, reason: None })
    }

    /// Back to the shipped head with an empty session; nothing personal is kept.
    pub fn forget(&mut self) -> Result<()> {
        self.set_head(self.shipped_head.clone())?;
        self.session.clear();
        self.profile.clear();
        self.last_slate = None;
        self.pending.clear();
        Ok(())
    }

    /// What the device keeps about its shopper: the session's events by type, how far learning
    /// moved the head, the state's size.
    pub fn state_summary(&self) -> Result<StateSummary> {
        let norm = crate::learn::l2_norm;
        let (head, shipped) = (self.head.flat(), self.shipped_head.flat());
        let change: Vec<f32> = head.iter().zip(&shipped).map(|(p, p0)| p - p0).collect();
        let shipped_norm = norm(&shipped);
        Ok(StateSummary {
            events: self.session.len(),
            by_type: EventCounts::of(&self.session),
            head_change: if shipped_norm > 0.0 { norm(&change) / shipped_norm } else { norm(&change) },
            profile_items: self.profile.len(),
            state_bytes: self.export_state()?.len(),
            learning: self.learning.enabled,
        })
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

    /// Use `head` as the personal head (e.g. an aggregate's, to evaluate it); it must fit the
    /// model and be finite.
    pub fn use_head(&mut self, head: HeadParams) -> Result<()> {
        let fits = HeadParams::from_flat(self.shipped_head.d, &head.flat()).is_some();
        if !fits || head.flat().iter().any(|x| !x.is_finite()) {
            return Err(crate::Error::invalid("head", "does not fit this model or is not finite"));
        }
        self.set_head(head)
    }

    /// The ranker underneath.
    pub fn ranker(&self) -> &Ranker {
        &self.ranker
    }

    /// The personal head as it stands.
    pub fn head(&self) -> &HeadParams {
        &self.head
    }

    /// The shipped head this personalizer started from.
    pub fn shipped_head(&self) -> &HeadParams {
        &self.shipped_head
    }
}

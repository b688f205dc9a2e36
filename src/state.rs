//! Personal state: the personal head and the session's events as versioned, checksummed bytes.
//!
//! ```text
//! MAGIC (8) | format version (u32) | model fingerprint (32) | head length (u32) | head (f32 × n)
//!           | events length (u32) | events (JSON) | profile length (u32) | profile (JSON [id, times])
//!           | sha256 of everything before (32)
//! ```
//!
//! Format 1 had no profile: it is still read, with an empty profile, so a shopper's head and
//! session survive the upgrade.
//!
//! Integers and floats are little-endian. A checksum or layout failure is an error (the
//! caller keeps a clean state); a state of another format version or made for another model
//! is discarded cleanly, because a personal head only means something for the weights it was
//! learned on.

use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::api::Event;

/// The first bytes of every state.
pub const MAGIC: &[u8; 8] = b"PRSTATE\n";

/// The layout this build writes (it reads 1 as well).
pub const FORMAT_VERSION: u32 = 2;

/// What a state holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonalState {
    /// sha256 of the weights the head was learned on.
    pub model: [u8; 32],
    /// The personal head, flat ([`crate::learn::HeadParams::flat`]).
    pub head: Vec<f32>,
    /// The session's events, oldest first.
    pub events: Vec<Event>,
    /// The long-term profile: (item id, times bought), least recently bought first
    /// ([`crate::profile::Profile::entries`]).
    pub profile: Vec<(String, u32)>,
}

/// The outcome of reading a state that was intact.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Usable for this model.
    Usable(PersonalState),
    /// Intact but not for this build or model; the reason says why.
    Discarded(String),
}

fn state_error(problem: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("personal state rejected: {problem}; starting clean"))
}

impl PersonalState {
    /// Serialise with a trailing checksum.
    pub fn to_bytes(&self) -> Vec<u8> {
        let events = serde_json::to_vec(&self.events).unwrap_or_else(|_| b"[]".to_vec());
        let profile = serde_json::to_vec(&self.profile).unwrap_or_else(|_| b"[]".to_vec());
        let mut out = Vec::with_capacity(self.head.len().saturating_mul(4).saturating_add(events.len()).saturating_add(profile.len()).saturating_add(8 + 4 + 32 + 4 + 4 + 4 + 32));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.model);
        out.extend_from_slice(&(self.head.len() as u32).to_le_bytes());
        for x in &self.head {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&(events.len() as u32).to_le_bytes());
        out.extend_from_slice(&events);
        out.extend_from_slice(&(profile.len() as u32).to_le_bytes());
        out.extend_from_slice(&profile);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Read a state for the model with fingerprint `model`.
    pub fn from_bytes(bytes: &[u8], model: &[u8; 32]) -> Result<Decoded> {
        let body_len = bytes.len().checked_sub(32).ok_or_else(|| state_error("too short"))?;
        let (body, digest) = bytes.split_at(body_len);
        if Sha256::digest(body).as_slice() != digest {
            return Err(state_error("checksum mismatch (corrupted or truncated)"));
        }
        let rest = body.strip_prefix(MAGIC.as_slice()).ok_or_else(|| state_error("not a pocketrank state"))?;
        let (version, rest) = take_u32(rest)?;
        if version != FORMAT_VERSION && version != 1 {
            return Ok(Decoded::Discarded(format!("state format {version}, this build reads 1 and {FORMAT_VERSION}")));
        }
        let (fingerprint, rest) = rest.split_first_chunk::<32>().ok_or_else(|| state_error("truncated model fingerprint"))?;
        if fingerprint != model {
            return Ok(Decoded::Discarded("state was learned on another model".into()));
        }
        let (n, rest) = take_u32(rest)?;
        let head_bytes = (n as usize).checked_mul(4).filter(|&b| b <= rest.len()).ok_or_else(|| state_error("head longer than the state"))?;
        let (head, rest) = rest.split_at(head_bytes);
        let head = head.chunks_exact(4).filter_map(|c| <[u8; 4]>::try_from(c).ok()).map(f32::from_le_bytes).collect();
        // Format 1 ends with the events; format 2 has the profile after them.
        let (events, rest) = take_json(rest, "events", version == 1)?;
        let profile = if version == 1 { Vec::new() } else { take_json(rest, "profile", true)?.0 };
        Ok(Decoded::Usable(PersonalState { model: *fingerprint, head, events, profile }))
    }
}

/// A JSON section named `name`: its u32 length, then that many bytes. The `last` section must
/// end the body exactly.
fn take_json<'a, T: serde::de::DeserializeOwned>(bytes: &'a [u8], name: &str, last: bool) -> Result<(T, &'a [u8])> {
    let (n, rest) = take_u32(bytes)?;
    let (section, rest) = if last {
        if n as usize != rest.len() {
            return Err(state_error(format!("{name} length does not match")));
        }
        (rest, &[][..])
    } else {
        rest.split_at_checked(n as usize).ok_or_else(|| state_error(format!("{name} longer than the state")))?
    };
    let value = serde_json::from_slice(section).map_err(|e| state_error(format!("{name} unreadable: {e}")))?;
    Ok((value, rest))
}

fn take_u32(bytes: &[u8]) -> Result<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>().ok_or_else(|| state_error("truncated"))?;
    Ok((u32::from_le_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EventKind;

    fn state() -> PersonalState {
        PersonalState {
            model: [7; 32],
            head: vec![1.0, -2.5, 3.25],
            events: vec![Event { item_id: "a".into(), kind: EventKind::Cart, ts: 3.0, title: Some("A".into()) }],
            profile: vec![("b".into(), 1), ("c".into(), 3)],
        }
    }

    #[test]
    fn round_trips() {
        let s = state();
        assert_eq!(PersonalState::from_bytes(&s.to_bytes(), &[7; 32]).unwrap(), Decoded::Usable(s));
    }

    /// Format 1, as the previous build wrote it: no profile section.
    fn format_1(s: &PersonalState) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&s.model);
        out.extend_from_slice(&(s.head.len() as u32).to_le_bytes());
        s.head.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        let events = serde_json::to_vec(&s.events).unwrap();
        out.extend_from_slice(&(events.len() as u32).to_le_bytes());
        out.extend_from_slice(&events);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    #[test]
    fn format_1_is_read_with_an_empty_profile() {
        let s = state();
        let read = PersonalState::from_bytes(&format_1(&s), &[7; 32]).unwrap();
        assert_eq!(read, Decoded::Usable(PersonalState { profile: Vec::new(), ..s }));
    }

    // contract: state-damaged
    // contract: state-other
    #[test]
    fn corruption_is_an_error_other_models_are_discarded() {
        let bytes = state().to_bytes();
        for i in [0, 9, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            let err = PersonalState::from_bytes(&bad, &[7; 32]).unwrap_err();
            assert!(err.to_string().contains("checksum mismatch"), "{err}");
        }
        assert!(PersonalState::from_bytes(&bytes[..10], &[7; 32]).is_err());
        assert!(PersonalState::from_bytes(&[], &[7; 32]).is_err());
        assert_eq!(PersonalState::from_bytes(&bytes, &[8; 32]).unwrap(), Decoded::Discarded("state was learned on another model".into()));
    }
}

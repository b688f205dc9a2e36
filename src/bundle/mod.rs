//! The model bundle: one self-describing file that carries everything the browser needs
//! (configuration, weights, tokenizer, catalog), each part checked by sha256.
//!
//! Layout, all integers little-endian:
//!
//! ```text
//! MAGIC (16 bytes) | header length (u32) | header (JSON) | part bytes, in header order
//! ```
//!
//! The header holds the format version and, for each part, its name, size and sha256.
//! Loading refuses a wrong magic, another format version, a size that does not add up
//! (truncation or trailing bytes), a digest mismatch (tampering) and a missing part.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The first bytes of every bundle.
pub const MAGIC: &[u8; 16] = b"POCKETRANK-BNDL\n";

mod decode;
pub mod quant;
pub mod sign;

pub use decode::{Decoded, decode, read_config};

/// The bundle layout this build writes. Bump on any incompatible change.
pub const FORMAT_VERSION: u32 = 3;
/// Layouts this build reads: 1 has no quantised part, 2 no transitions part. A build that
/// reads only up to 2 must refuse a 3: it would drop the transition term and rank otherwise.
const READABLE_VERSIONS: [u32; 3] = [1, 2, 3];

/// A part a bundle may carry. A new part is a new variant and a row in [`Part::spec`] (its
/// decoding lives in its own module); the framing needs nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `config.json`: the model configuration.
    Config,
    /// `weights.bpk`: model weights (burnpack bytes).
    Weights,
    /// `tokenizer.json`: the Hugging Face tokenizer.
    Tokenizer,
    /// `catalog.txt`: item ids, one a line, in ID-embedding order (row 1 is the first line).
    Catalog,
    /// `embeddings.q8`, optional: the item encoder's embedding tables in int8
    /// ([`quant`]); when present, `weights.bpk` holds every other weight.
    Quantized,
    /// `transitions.bin`, optional: the pruned item-transition table
    /// (`crate::relations::transitions`).
    Transitions,
    /// `rules.bin`, optional: association rules over catalog rows (`crate::relations::rules`).
    Rules,
    /// `signature.ed25519`, optional: the publisher's signature over every other part
    /// ([`sign`]); checked when the page pins a key.
    Signature,
}

/// What the framing knows of a part.
struct PartSpec {
    name: &'static str,
    /// A bundle without it is refused.
    required: bool,
    /// Part of the model's fingerprint: personal state learned on one model is not used with
    /// another, and anything that changes scores changes the model.
    fingerprinted: bool,
}

impl Part {
    /// Every part, in the order they are written.
    pub const ALL: [Part; 8] = [Part::Config, Part::Weights, Part::Tokenizer, Part::Catalog, Part::Quantized, Part::Transitions, Part::Rules, Part::Signature];

    const fn spec(self) -> PartSpec {
        let (name, required, fingerprinted) = match self {
            Part::Config => ("config.json", true, false),
            Part::Weights => ("weights.bpk", true, true),
            Part::Tokenizer => ("tokenizer.json", true, false),
            Part::Catalog => ("catalog.txt", true, false),
            Part::Quantized => ("embeddings.q8", false, true),
            Part::Transitions => ("transitions.bin", false, true),
            Part::Rules => ("rules.bin", false, true),
            Part::Signature => ("signature.ed25519", false, false),
        };
        PartSpec { name, required, fingerprinted }
    }

    /// The part's name in the bundle header.
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    fn named(name: &str) -> Result<Part> {
        Part::ALL.into_iter().find(|p| p.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Part::ALL.iter().map(|p| p.name()).collect();
            Error::bundle(format!("part '{name}' is not one this build knows ({known:?}); use a bundle made for this version of pocketrank"))
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    format_version: u32,
    parts: Vec<PartHeader>,
}

#[derive(Serialize, Deserialize)]
struct PartHeader {
    name: String,
    size: u64,
    sha256: String,
}

/// A verified bundle: its parts, every one matching its digest, the required ones present.
/// The parts are bytes here; [`decode`] turns them into a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bundle {
    /// Parts in [`Part::ALL`] order.
    parts: Vec<(Part, Vec<u8>)>,
}

/// sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&sha256(bytes))
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Bundle {
    /// A bundle of the required parts.
    pub fn new(config: Vec<u8>, weights: Vec<u8>, tokenizer: Vec<u8>, catalog: Vec<u8>) -> Bundle {
        Bundle::default().with(Part::Config, config).with(Part::Weights, weights).with(Part::Tokenizer, tokenizer).with(Part::Catalog, catalog)
    }

    /// The same bundle with `part` set to `bytes`.
    #[must_use]
    pub fn with(mut self, part: Part, bytes: Vec<u8>) -> Bundle {
        self.set(part, bytes);
        self
    }

    /// Set `part` to `bytes`.
    pub fn set(&mut self, part: Part, bytes: Vec<u8>) {
        self.parts.retain(|(p, _)| *p != part);
        self.parts.push((part, bytes));
        self.parts.sort_by_key(|(p, _)| Part::ALL.iter().position(|q| q == p));
    }

    /// The same bundle without `part` (an optional one).
    #[must_use]
    pub fn without(mut self, part: Part) -> Bundle {
        self.parts.retain(|(p, _)| *p != part);
        self
    }

    /// `part`, when the bundle carries it.
    pub fn part(&self, part: Part) -> Option<&[u8]> {
        self.parts.iter().find(|(p, _)| *p == part).map(|(_, bytes)| bytes.as_slice())
    }

    /// `part`, which must be there.
    pub fn required(&self, part: Part) -> Result<&[u8]> {
        self.part(part).ok_or_else(|| Error::bundle(format!("missing part '{}'", part.name())))
    }

    /// sha256 over the fingerprinted parts, in table order: what a personal state and a
    /// private update are tied to.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut digest = Sha256::new();
        for (part, bytes) in &self.parts {
            if part.spec().fingerprinted {
                digest.update(bytes);
            }
        }
        digest.finalize().into()
    }

    /// What a publisher signs: sha256 over a fixed label and, for every part but the
    /// signature, its name and sha256, in table order. Each part's bytes are checked against its
    /// sha256 on load, so this covers every byte the model reads.
    pub fn signed_message(&self) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(b"pocketrank bundle signature v1\n");
        for (part, bytes) in self.parts.iter().filter(|(p, _)| *p != Part::Signature) {
            digest.update(part.name().as_bytes());
            digest.update(b"\n");
            digest.update(sha256_hex(bytes).as_bytes());
            digest.update(b"\n");
        }
        digest.finalize().into()
    }

    /// Parse and verify a bundle; nothing of a bundle that fails any check is used.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| Error::bundle("not a pocketrank bundle (bad magic bytes)"))?;
        let (len_bytes, rest) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| Error::bundle("truncated before the header length"))?;
        let header_len = usize::try_from(u32::from_le_bytes(*len_bytes)).map_err(|_| Error::bundle("header length overflows"))?;
        let (header_bytes, mut body) = rest.split_at_checked(header_len).ok_or_else(|| Error::bundle("truncated inside the header"))?;
        let header: Header = serde_json::from_slice(header_bytes)
            .map_err(|e| Error::bundle(format!("unreadable header: {e}")))?;
        if !READABLE_VERSIONS.contains(&header.format_version) {
            return Err(Error::bundle(format!(
                "format version {} is not supported by this build (reads {READABLE_VERSIONS:?}); \
                 use a bundle made for this version of pocketrank",
                header.format_version
            )));
        }
        let declared = header
            .parts
            .iter()
            .try_fold(0u64, |sum, p| sum.checked_add(p.size))
            .ok_or_else(|| Error::bundle("part sizes overflow"))?;
        if declared != body.len() as u64 {
            return Err(Error::bundle(format!(
                "size mismatch: the header declares {declared} bytes of parts, the file has {} \
                 (truncated or altered)",
                body.len()
            )));
        }
        let mut bundle = Bundle::default();
        for part in &header.parts {
            let size = usize::try_from(part.size).map_err(|_| Error::bundle("part size overflows"))?;
            let (data, tail) = body.split_at_checked(size).ok_or_else(|| Error::bundle("part sizes exceed the file"))?;
            body = tail;
            if sha256_hex(data) != part.sha256 {
                return Err(Error::bundle(format!(
                    "part '{}' fails its sha256 check (corrupted or tampered)",
                    part.name
                )));
            }
            let known = Part::named(&part.name)?;
            if bundle.part(known).is_some() {
                return Err(Error::bundle(format!("part '{}' appears twice", part.name)));
            }
            bundle.set(known, data.to_vec());
        }
        for part in Part::ALL.into_iter().filter(|p| p.spec().required) {
            bundle.required(part)?;
        }
        Ok(bundle)
    }

    /// Serialise the bundle, computing each part's digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            format_version: FORMAT_VERSION,
            parts: self
                .parts
                .iter()
                .map(|(part, data)| PartHeader { name: part.name().to_string(), size: data.len() as u64, sha256: sha256_hex(data) })
                .collect(),
        };
        // A header of strings and integers always serialises; an empty one would be refused
        // on reading, never silently accepted.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        // Magic (16 bytes) and header length (4).
        let mut out = Vec::with_capacity(header.len().saturating_add(20));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&u32::try_from(header.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&header);
        for (_, data) in &self.parts {
            out.extend_from_slice(data);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small bundle of the required parts (the signing tests use it too).
    pub(crate) fn sample() -> Bundle {
        Bundle::new(b"{}".to_vec(), vec![1, 2, 3, 4], b"tok".to_vec(), b"a\nb\n".to_vec())
    }

    #[test]
    fn round_trips() {
        let b = Bundle::from_bytes(&sample().to_bytes()).unwrap();
        assert_eq!(b.part(Part::Weights), Some(&[1u8, 2, 3, 4][..]));
        assert_eq!(b.part(Part::Catalog), Some(&b"a\nb\n"[..]));
        assert!(b.part(Part::Quantized).is_none());
        let both = sample().with(Part::Transitions, vec![7; 3]).with(Part::Quantized, vec![9; 5]);
        let read = Bundle::from_bytes(&both.to_bytes()).unwrap();
        assert_eq!(read, both);
        assert_eq!(read.part(Part::Quantized), Some(&[9u8; 5][..]));
        assert_eq!(read.part(Part::Transitions), Some(&[7u8; 3][..]));
        // Parts are written in table order whatever order they were set in.
        assert_eq!(sample().with(Part::Transitions, vec![7; 3]).with(Part::Quantized, vec![9; 5]).to_bytes(), sample().with(Part::Quantized, vec![9; 5]).with(Part::Transitions, vec![7; 3]).to_bytes());
    }

    #[test]
    fn the_fingerprint_covers_what_scores() {
        let base = sample().fingerprint();
        assert_eq!(sample().with(Part::Config, b"{ }".to_vec()).fingerprint(), base, "the config alone does not change the weights");
        assert_ne!(sample().with(Part::Weights, vec![1]).fingerprint(), base);
        assert_ne!(sample().with(Part::Transitions, vec![1]).fingerprint(), base);
        // The same digest as sha256(weights ‖ quantised ‖ transitions), the layout states are tied to.
        let both = sample().with(Part::Quantized, vec![9]).with(Part::Transitions, vec![7]);
        let expected: [u8; 32] = Sha256::digest([1u8, 2, 3, 4, 9, 7]).into();
        assert_eq!(both.fingerprint(), expected);
    }

    // contract: bundle-damaged
    #[test]
    fn refuses_missing_and_unknown_parts() {
        let missing = Bundle::default().with(Part::Config, vec![]).with(Part::Weights, vec![]).with(Part::Tokenizer, vec![]);
        assert!(Bundle::from_bytes(&missing.to_bytes()).unwrap_err().to_string().contains("missing part 'catalog.txt'"));
        let bytes = sample().to_bytes();
        let needle = b"\"tokenizer.json\"";
        let at = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
        let mut renamed = bytes.clone();
        renamed[at + 1] = b'x';
        let err = Bundle::from_bytes(&renamed).unwrap_err().to_string();
        assert!(err.contains("part 'xokenizer.json' is not one this build knows"), "{err}");
    }

    // contract: bundle-damaged
    #[test]
    fn refuses_truncation_tampering_version_and_magic() {
        let bytes = sample().to_bytes();
        let err = Bundle::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(err.to_string().contains("size mismatch"), "{err}");

        let mut tampered = bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0xff;
        let err = Bundle::from_bytes(&tampered).unwrap_err();
        assert!(err.to_string().contains("'catalog.txt' fails its sha256"), "{err}");

        let needle = format!("\"format_version\":{FORMAT_VERSION}").into_bytes();
        let at = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
        let mut versioned = bytes.clone();
        versioned[at + needle.len() - 1] = b'9';
        let err = Bundle::from_bytes(&versioned).unwrap_err();
        assert!(err.to_string().contains("format version 9"), "{err}");

        let err = Bundle::from_bytes(b"hello").unwrap_err();
        assert!(err.to_string().contains("bad magic"), "{err}");
        assert!(Bundle::from_bytes(&bytes[..20]).is_err());
    }
}

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

/// The bundle layout this build writes. Bump on any incompatible change.
pub const FORMAT_VERSION: u32 = 3;
/// Layouts this build reads: 1 has no quantised part, 2 no transitions part. A build that
/// reads only up to 2 must refuse a 3: it would drop the transition term and rank otherwise.
const READABLE_VERSIONS: [u32; 3] = [1, 2, 3];

/// Part names, in the order they are written.
pub const CONFIG: &str = "config.json";
/// Model weights (burnpack bytes).
pub const WEIGHTS: &str = "weights.bpk";
/// The tokenizer (Hugging Face `tokenizer.json`).
pub const TOKENIZER: &str = "tokenizer.json";
/// Catalog item ids, one a line, in ID-embedding order (row 1 is the first line).
pub const CATALOG: &str = "catalog.txt";
/// Optional: the item encoder's embedding tables in int8 (`crate::quant`); when present,
/// `weights.bpk` holds every other weight.
pub const QUANTIZED: &str = "embeddings.q8";
/// Optional: the pruned item-transition table (`crate::transitions`).
pub const TRANSITIONS: &str = "transitions.bin";

const REQUIRED_PARTS: [&str; 4] = [CONFIG, WEIGHTS, TOKENIZER, CATALOG];

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

/// A verified bundle: every part present and matching its digest.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// `config.json`: the model configuration.
    pub config: Vec<u8>,
    /// `weights.bpk`: the weights.
    pub weights: Vec<u8>,
    /// `tokenizer.json`.
    pub tokenizer: Vec<u8>,
    /// `catalog.txt`.
    pub catalog: Vec<u8>,
    /// `embeddings.q8`, when the embedding tables are quantised.
    pub quantized: Option<Vec<u8>>,
    /// `transitions.bin`, when the model scores item transitions.
    pub transitions: Option<Vec<u8>>,
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Bundle {
    /// Parse and verify a bundle; nothing of a bundle that fails any check is used.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| Error::bundle("not a pocketrank bundle (bad magic bytes)"))?;
        let (len_bytes, rest) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| Error::bundle("truncated before the header length"))?;
        let header_len = u32::from_le_bytes(*len_bytes) as usize;
        if rest.len() < header_len {
            return Err(Error::bundle("truncated inside the header"));
        }
        let (header_bytes, mut body) = rest.split_at(header_len);
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
        let mut parts: Vec<(String, Vec<u8>)> = Vec::with_capacity(header.parts.len());
        for part in &header.parts {
            let (data, tail) = body.split_at(part.size as usize);
            body = tail;
            if sha256_hex(data) != part.sha256 {
                return Err(Error::bundle(format!(
                    "part '{}' fails its sha256 check (corrupted or tampered)",
                    part.name
                )));
            }
            parts.push((part.name.clone(), data.to_vec()));
        }
        let mut take = |name: &str| -> Result<Vec<u8>> {
            let index = parts
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| Error::bundle(format!("missing part '{name}'")))?;
            Ok(parts.swap_remove(index).1)
        };
        Ok(Bundle {
            config: take(CONFIG)?,
            weights: take(WEIGHTS)?,
            tokenizer: take(TOKENIZER)?,
            catalog: take(CATALOG)?,
            quantized: take(QUANTIZED).ok(),
            transitions: take(TRANSITIONS).ok(),
        })
    }

    /// Serialise the bundle, computing each part's digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut parts: Vec<(&str, &[u8])> = vec![
            (CONFIG, &self.config),
            (WEIGHTS, &self.weights),
            (TOKENIZER, &self.tokenizer),
            (CATALOG, &self.catalog),
        ];
        debug_assert!(parts.iter().map(|p| p.0).eq(REQUIRED_PARTS));
        if let Some(quantized) = &self.quantized {
            parts.push((QUANTIZED, quantized));
        }
        if let Some(transitions) = &self.transitions {
            parts.push((TRANSITIONS, transitions));
        }
        let header = Header {
            format_version: FORMAT_VERSION,
            parts: parts
                .iter()
                .map(|(name, data)| PartHeader {
                    name: name.to_string(),
                    size: data.len() as u64,
                    sha256: sha256_hex(data),
                })
                .collect(),
        };
        let header = serde_json::to_vec(&header).expect("a header of strings and integers serialises");
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        for (_, data) in parts {
            out.extend_from_slice(data);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        Bundle {
            config: b"{}".to_vec(),
            weights: vec![1, 2, 3, 4],
            tokenizer: b"tok".to_vec(),
            catalog: b"a\nb\n".to_vec(),
            quantized: None,
            transitions: None,
        }
    }

    #[test]
    fn round_trips() {
        let b = Bundle::from_bytes(&sample().to_bytes()).unwrap();
        assert_eq!(b.weights, vec![1, 2, 3, 4]);
        assert_eq!(b.catalog, b"a\nb\n");
        assert!(b.quantized.is_none());
        let quantized = Bundle { quantized: Some(vec![9; 5]), ..sample() };
        assert_eq!(Bundle::from_bytes(&quantized.to_bytes()).unwrap().quantized, Some(vec![9; 5]));
        let with_transitions = Bundle { transitions: Some(vec![7; 3]), ..sample() };
        assert_eq!(Bundle::from_bytes(&with_transitions.to_bytes()).unwrap().transitions, Some(vec![7; 3]));
    }

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

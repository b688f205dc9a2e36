//! Publisher signatures: a page that pins the publisher's Ed25519 public key loads only bundles
//! that publisher signed. The part's sha256 in the (unsigned) header catches damage; only a
//! signature catches a bundle rebuilt with other weights and fresh sums.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::{Bundle, Part};
use crate::error::{Error, Result};

/// `bundle` with a `signature.ed25519` part made with `secret` (a 32-byte Ed25519 seed).
pub fn sign(bundle: Bundle, secret: &[u8; 32]) -> Bundle {
    let signature = SigningKey::from_bytes(secret).sign(&bundle.signed_message());
    bundle.with(Part::Signature, signature.to_bytes().to_vec())
}

/// The public key of `secret`.
pub fn public_key(secret: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(secret).verifying_key().to_bytes()
}

/// Check `bundle`'s signature against the pinned `public_key`.
pub fn verify(bundle: &Bundle, public_key: &[u8; 32]) -> Result<()> {
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| Error::invalid("options.publicKey", "not an Ed25519 public key"))?;
    let bytes = bundle.part(Part::Signature).ok_or_else(|| Error::bundle("it carries no signature.ed25519 part, and the page pins a publisher key"))?;
    let signature = <[u8; 64]>::try_from(bytes).map_err(|_| Error::bundle(format!("signature.ed25519 is {} bytes, not 64", bytes.len())))?;
    key.verify_strict(&bundle.signed_message(), &Signature::from_bytes(&signature))
        .map_err(|_| Error::bundle("its signature does not match the pinned publisher key (altered after signing, or signed by another key)"))
}

/// A 32-byte key from 64 hex digits; `path` names the field in errors.
pub fn key_from_hex(text: &str, path: &str) -> Result<[u8; 32]> {
    let text = text.trim();
    let bad = || Error::invalid(path, "expected 64 hex digits (32 bytes)");
    if text.len() != 64 || !text.is_ascii() {
        return Err(bad());
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::sample;

    // contract: bundle-signature
    #[test]
    fn signed_bundles_verify_and_altered_ones_do_not() {
        let secret = [7u8; 32];
        let key = public_key(&secret);
        let signed = sign(sample(), &secret);
        let read = Bundle::from_bytes(&signed.to_bytes()).unwrap();
        verify(&read, &key).unwrap();
        // Other weights with fresh sums pass the framing, not the signature.
        let altered = read.clone().with(Part::Weights, vec![9, 9]);
        assert!(Bundle::from_bytes(&altered.to_bytes()).is_ok());
        assert!(verify(&altered, &key).unwrap_err().to_string().contains("does not match the pinned publisher key"));
        assert!(verify(&read, &public_key(&[8u8; 32])).is_err(), "another publisher's key");
        assert!(verify(&sample(), &key).unwrap_err().to_string().contains("no signature.ed25519 part"));
        // Signing again replaces the signature; the message never covers the signature itself.
        assert_eq!(sign(read.clone(), &secret).signed_message(), read.signed_message());
    }

    #[test]
    fn keys_read_from_hex() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(key_from_hex(&hex, "k").unwrap()[31], 255);
        assert_eq!(key_from_hex("abc", "k").unwrap_err().to_string(), "k: expected 64 hex digits (32 bytes)");
        assert!(key_from_hex(&"zz".repeat(32), "k").is_err());
    }
}

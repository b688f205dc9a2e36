//! `pocketrank keygen` and `pocketrank sign`: a publisher's key pair, and its signature on a
//! model directory's bundle.

use std::path::Path;

use super::{BUNDLE_FILE, read_bundle, rewrite_manifest, write_file};
use crate::bundle::sign::{key_from_hex, public_key, sign};
use crate::bundle::to_hex;
use crate::error::{Error, Result};

/// Write a fresh secret key (hex) to `out` and its public key to `out`.pub; returns the public
/// key in hex.
pub fn keygen(out: &Path) -> Result<String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| Error::model(format!("no randomness source: {e}")))?;
    let public = to_hex(&public_key(&secret));
    std::fs::write(out, to_hex(&secret) + "\n").map_err(|e| Error::io(out, e))?;
    let pub_path = out.with_extension(out.extension().map_or("pub".into(), |e| format!("{}.pub", e.to_string_lossy())));
    std::fs::write(&pub_path, public.clone() + "\n").map_err(|e| Error::io(&pub_path, e))?;
    Ok(public)
}

/// Sign the bundle of the model directory `model` with the secret key in `key_file`, and
/// rewrite the manifest; returns the public key in hex.
pub fn sign_model_dir(model: &Path, key_file: &Path) -> Result<String> {
    let text = std::fs::read_to_string(key_file).map_err(|e| Error::io(key_file, e))?;
    let secret = key_from_hex(&text, &key_file.display().to_string())?;
    let signed = sign(read_bundle(model)?, &secret);
    write_file(model, BUNDLE_FILE, &signed.to_bytes())?;
    rewrite_manifest(model)?;
    Ok(to_hex(&public_key(&secret)))
}

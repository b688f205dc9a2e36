#!/usr/bin/env bash
# Every test: Rust unit and integration tests (golden parity, bundle checks, CLI, learning,
# private updates), then the wasm package in Node (parity, errors, learning, no network) and
# in headless chromium (IndexedDB persistence, requests). Needs ./setup.sh once (pkg/, chromium).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pocketrank/target}"

# The Node and browser tests run pkg/: rebuild it when the sources changed since it was built,
# so a Rust change is never tested against a stale wasm.
if [ "$(cat pkg/.source-sha256 2>/dev/null)" != "$(scripts/source-digest.sh)" ]; then
  echo "pkg/ is older than the sources: ./build.sh"
  ./build.sh
fi
# No panics by construction: the library's deny list (src/lib.rs: unwrap, expect, panic,
# indexing, unchecked arithmetic) natively and in the WebGPU build, which holds the wasm layer.
cargo clippy --lib --quiet -- -D warnings
cargo clippy --lib --quiet --target wasm32-unknown-unknown --no-default-features --features webgpu -- -D warnings
# Release: the golden tests run the real model on 200 sessions, and the release build shares
# its dependencies with the CLI that setup.sh built.
cargo test --release
node --test tests/node/ tests/browser/

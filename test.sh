#!/usr/bin/env bash
# Every test: Rust unit and integration tests (golden parity, bundle checks, CLI, learning,
# private updates), then the wasm package in Node (parity, errors, learning, no network) and
# in headless chromium (IndexedDB persistence, requests). Needs ./setup.sh once (pkg/, chromium).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pocketrank/target}"

# Release: the parity tests run the real model on 200 sessions, and the release build shares
# its dependencies with the CLI that setup.sh built.
cargo test --release
node --test tests/node/ tests/browser/

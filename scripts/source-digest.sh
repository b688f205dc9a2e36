#!/usr/bin/env bash
# One sha256 over everything the wasm package is built from (the crate's sources, manifests,
# the build script): build.sh records it in pkg/, test.sh compares it to tell a stale build.
set -euo pipefail
cd "$(dirname "$0")/.."
find src Cargo.toml Cargo.lock build.sh -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1

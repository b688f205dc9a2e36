// Wasm (CPU build) timings in Node with performance.now(), 100 candidates and a 50-event
// session of real Games titles: with caches and, in the same run, the full recompute
// (benches/bench-core.mjs); the instantiation, the wasm size and the state size.
//   node benches/wasm.mjs            (after ./build.sh; real Games titles from ../shared/data)
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { loadPackage, shippedBundle, gamesItems, root } from "../tests/node/helpers.mjs";
import { measure, rows } from "./bench-core.mjs";

const items = gamesItems(2150);
const wasm = readFileSync(path.join(root, "pkg/cpu/pocketrank_cpu_bg.wasm"));
let t = performance.now();
const build = await import(path.join(root, "pkg/cpu/pocketrank_cpu.js"));
await build.default({ module_or_path: wasm });
const instantiateMs = performance.now() - t;
const { Personalizer } = await loadPackage();
const bundle = shippedBundle();
const r = await measure(Personalizer, bundle, items, { backend: "cpu" });
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores; Node ${process.version}; backend ${r.cached.backend.name}`);
console.log(`wasm: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} gzipped; compile + instantiate ${instantiateMs.toFixed(1)} ms; bundle ${bundle.length} bytes`);
for (const line of rows(r)) console.log(line);
console.log(`personal state: ${r.cached.stateBytes} bytes`);

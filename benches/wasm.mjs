// Wasm (CPU build) timings in Node with performance.now(): init, first re-rank, p50/p95 re-rank of
// 100 candidates with a 50-event session, and one on-device learning step.
//   node benches/wasm.mjs            (after ./build.sh; real Games titles from ../shared/data)
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { loadPackage, shippedBundle, gamesItems, root } from "../tests/node/helpers.mjs";
import { measure } from "./bench-core.mjs";

const items = gamesItems();
const { Personalizer } = await loadPackage();
const bundle = shippedBundle();
const r = await measure(Personalizer, bundle, items, { backend: "cpu" });
const wasm = readFileSync(path.join(root, "pkg/cpu/pocketrank_cpu_bg.wasm"));
const f = (x) => x.toFixed(2);
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores; Node ${process.version}; backend ${r.backend.name}`);
console.log(`wasm: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} gzipped; bundle ${bundle.length} bytes`);
console.log(`init (instantiate + verify + load bundle): ${f(r.createMs)} ms`);
console.log(`first re-rank (100 candidates, 50 events): ${f(r.firstMs)} ms`);
console.log(`re-rank p50 ${f(r.p50)} ms, p95 ${f(r.p95)} ms (100 runs)`);
console.log(`learning step (click on a 100-item slate): p50 ${f(r.learnP50)} ms, p95 ${f(r.learnP95)} ms`);
console.log(`personal state: ${r.stateBytes} bytes`);

// Wasm (CPU) timings in Node with performance.now(): init, first re-rank, p50/p95 re-rank of
// 100 candidates with a 50-event session, and one on-device learning step.
//   node benches/wasm.mjs            (after ./build.sh; real Games titles from ../shared/data)
import { readFileSync } from "node:fs";
import { loadPackage, shippedBundle, titles, root } from "../tests/node/helpers.mjs";
import path from "node:path";
import os from "node:os";

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const titleOf = titles("../shared/data/games");
const ids = [...titleOf.keys()];
const item = (i) => ({ id: ids[i], title: titleOf.get(ids[i]) });

let t = performance.now();
const { Personalizer } = await loadPackage();
const bundle = shippedBundle();
const p = await Personalizer.create(bundle, { backend: "cpu" });
const init = performance.now() - t;
for (let i = 0; i < 50; i++) p.observe({ itemId: ids[1000 + i], type: "view", ts: i, title: titleOf.get(ids[1000 + i]) });
const candidates = Array.from({ length: 100 }, (_, i) => item(2000 + i));
t = performance.now();
p.rerank(candidates);
const first = performance.now() - t;
const rerank = [];
for (let i = 0; i < 100; i++) {
  t = performance.now();
  p.rerank(candidates);
  rerank.push(performance.now() - t);
}
// One learning step: a click on a shown item triggers the bounded head update.
const learn = [];
for (let i = 0; i < 50; i++) {
  p.rerank(candidates);
  t = performance.now();
  p.observe({ itemId: candidates[i].id, type: "click", ts: 100 + i, title: candidates[i].title });
  learn.push(performance.now() - t);
}
const frozen = await Personalizer.create(bundle, { backend: "cpu" });
frozen.setLearning({ enabled: false });
frozen.rerank(candidates);
const observeOnly = [];
for (let i = 0; i < 50; i++) {
  t = performance.now();
  frozen.observe({ itemId: candidates[i].id, type: "click", ts: 100 + i, title: candidates[i].title });
  observeOnly.push(performance.now() - t);
}
const wasm = readFileSync(path.join(root, "pkg/pocketrank_bg.wasm"));
const { gzipSync } = await import("node:zlib");
const fmt = (x) => x.toFixed(2);
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores; Node ${process.version}; backend ${p.backend}`);
console.log(`wasm: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} gzipped; bundle ${bundle.length} bytes`);
console.log(`init (instantiate + verify + load bundle): ${fmt(init)} ms`);
console.log(`first re-rank (100 candidates, 50 events): ${fmt(first)} ms`);
console.log(`re-rank p50 ${fmt(quantile(rerank, 0.5))} ms, p95 ${fmt(quantile(rerank, 0.95))} ms (100 runs)`);
console.log(`learning step (click on a 100-item slate): p50 ${fmt(quantile(learn, 0.5))} ms, p95 ${fmt(quantile(learn, 0.95))} ms; observe without learning p50 ${fmt(quantile(observeOnly, 0.5))} ms`);
console.log(`personal state: ${p.exportState().length} bytes`);

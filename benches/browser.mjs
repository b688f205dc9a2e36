// Runs www/bench.html in headless chromium (Debian's, via playwright-core) for every backend,
// with real Games titles, and prints per backend the cached path beside the full recompute
// (benches/bench-core.mjs), the stages of loading, the first re-rank after page load with the
// bundle and wasm in the browser's cache (the page loaded once before), GPU calls and sizes.
//   node benches/browser.mjs [cpu] [webgpu] [auto]      (after ./build.sh; default: all three)
//   cpu     chromium without WebGPU: the CPU build;
//   webgpu  chromium with --enable-unsafe-webgpu (on a machine without a GPU: SwiftShader,
//           Chromium's software adapter): the WebGPU build on WebGPU;
//   auto    the same browser: what the warm-up chooses, and its measurements.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { serve, launch } from "../tests/browser/harness.mjs";
import { root, gamesItems } from "../tests/node/helpers.mjs";
import { rows } from "./bench-core.mjs";

const RUNS = { cpu: 100, webgpu: 20, auto: 20 };
const f = (x) => x.toFixed(1);
const size = (build) => {
  const wasm = readFileSync(path.join(root, `pkg/${build}/pocketrank_${build}_bg.wasm`));
  return `${wasm.length} B raw, ${gzipSync(wasm, { level: 9 }).length} B gzipped`;
};
const n = (x) => (Number.isInteger(x) ? x : x.toFixed(1));
const calls = (c) => (c.dispatches || c.submits || c.readbacks ? `${n(c.dispatches)} dispatches, ${n(c.submits)} submits, ${n(c.uploads)} uploads, ${n(c.readbacks)} readbacks` : "none");

const items = gamesItems(2150);
const server = await serve(root, { cache: true });
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores`);
try {
  const asked = process.argv.slice(2);
  for (const backend of asked.length ? asked : ["cpu", "webgpu", "auto"]) {
    const browser = await launch({ webgpu: backend !== "cpu" });
    try {
      const page = await browser.newPage();
      await page.addInitScript((list) => (window.benchItems = list), items);
      const url = `${server.url}/www/bench.html?backend=${backend}&runs=${RUNS[backend]}`;
      // The first load fills the browser's cache; the figures come from the second.
      for (const visit of [1, 2]) {
        if (visit === 1) await page.goto(url);
        else await page.reload();
        await page.waitForFunction(() => window.result !== undefined, null, { timeout: 900_000 });
      }
      const r = await page.evaluate(() => window.result);
      if (r.error) {
        console.log(`${backend}: failed: ${r.error}`);
        continue;
      }
      const c = r.cached;
      const build = c.backend.name === "cpu" && backend === "cpu" ? "cpu" : "webgpu";
      console.log(`\n### ${backend} → ${c.backend.name} (${r.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0]}; ${build} build: ${size(build)})`);
      console.log(`chosen because: ${c.backend.reason}`);
      const t = c.loadTimings;
      console.log(`first re-rank ${f(c.firstDoneAt)} ms after the page started loading (cached assets): bundle fetch ${f(r.fetchMs)} ms, wasm compile + instantiate ${f(t.wasmMs)}, verify ${f(t.verifyMs)}, load ${f(t.loadMs)}, backend ${f(t.backendMs)}, 50 observes and the first re-rank ${f(c.firstMs)} ms`);
      console.log(`GPU calls per warm re-rank: ${calls(c.perWarm)}; full recompute: ${calls(r.full.perWarm)}`);
      for (const line of rows(r)) console.log(line);
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}

// Runs www/bench.html in headless chromium (Debian's, via playwright-core) for every backend
// and prints the timings with the wasm sizes:   node benches/browser.mjs [cpu] [webgpu] [auto]
// (after ./build.sh; default: all three)
//   cpu     chromium without WebGPU: the CPU build;
//   webgpu  chromium with --enable-unsafe-webgpu (on a machine without a GPU: SwiftShader,
//           Chromium's software adapter): the WebGPU build on WebGPU;
//   auto    the same browser: what the warm-up chooses, and its measurements.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { serve, launch } from "../tests/browser/harness.mjs";
import { root } from "../tests/node/helpers.mjs";

const RUNS = { cpu: 100, webgpu: 30, auto: 30 };
const f = (x) => x.toFixed(2);
const size = (build) => {
  const wasm = readFileSync(path.join(root, `pkg/${build}/pocketrank_${build}_bg.wasm`));
  return `${wasm.length} B raw, ${gzipSync(wasm, { level: 9 }).length} B gz`;
};

const calls = (c) => (c.dispatches ? `${c.dispatches} dispatches, ${c.submits} submits, ${c.uploads} uploads, ${c.readbacks} readbacks, ${c.pipelines} new pipelines, ${c.buffers} new buffers` : "none");

const server = await serve();
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores`);
console.log("| backend | wasm | init ms | first re-rank ms | re-rank p50 / p95 ms | GPU calls per re-rank | learning step p50 ms | chosen because |");
console.log("|---|---|---|---|---|---|---|---|");
try {
  const asked = process.argv.slice(2);
  for (const backend of asked.length ? asked : ["cpu", "webgpu", "auto"]) {
    const browser = await launch({ webgpu: backend !== "cpu" });
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/www/bench.html?backend=${backend}&runs=${RUNS[backend]}`);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 300_000 });
      const r = await page.evaluate(() => window.result);
      if (r.error) {
        console.log(`| ${backend} | | | | | | | failed: ${r.error} |`);
        continue;
      }
      const build = r.backend.name === "cpu" && backend === "cpu" ? "cpu" : "webgpu";
      const browserName = r.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0];
      console.log(`| ${backend} → ${r.backend.name} | ${build}: ${size(build)} | ${f(r.initMs)} | ${f(r.firstMs)} | ${f(r.p50)} / ${f(r.p95)} (${r.runs} runs) | ${calls(r.perRerank)} | ${f(r.learnP50)} | ${r.backend.reason} (${browserName}) |`);
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}

// Runs www/bench.html in headless chromium (Debian's, via playwright-core) and prints the
// timings with the wasm sizes:   node benches/browser.mjs   (after ./build.sh)
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { serve, launch } from "../tests/browser/harness.mjs";
import { root } from "../tests/node/helpers.mjs";

const server = await serve();
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/www/bench.html`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 120_000 });
  const r = await page.evaluate(() => window.result);
  const wasm = readFileSync(path.join(root, "pkg/pocketrank_bg.wasm"));
  const f = (x) => x.toFixed(2);
  console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores; ${r.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0]}`);
  console.log(`backend ${r.backend}: wasm ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} gzipped`);
  console.log(`init ${f(r.initMs)} ms, first re-rank ${f(r.firstMs)} ms, re-rank p50 ${f(r.p50)} ms / p95 ${f(r.p95)} ms (100 candidates, 50 events), learning step p50 ${f(r.learnP50)} ms`);
} finally {
  await browser.close();
  await server.close();
}

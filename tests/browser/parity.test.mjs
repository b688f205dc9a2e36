// The whole golden corpus in real chromium without WebGPU (the CPU build): re-ranks, learning
// runs and errors as natively; "auto" picks the CPU, says why, and the WebGPU build is never
// fetched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { golden } from "../node/helpers.mjs";
import { checkReplay } from "../golden/check.mjs";

test("chromium without WebGPU: auto → CPU build, golden order, no WebGPU download", async () => {
  const corpus = golden();
  const server = await serve();
  const browser = await launch({ webgpu: false });
  try {
    const page = await browser.newPage();
    const requests = [];
    page.on("request", (r) => requests.push(new URL(r.url()).pathname));
    await page.goto(`${server.url}/tests/browser/parity.html`);
    await page.waitForFunction(() => window.ready === true);
    const backend = await page.evaluate(() => window.create({ backend: "auto" }));
    assert.equal(backend.name, "cpu");
    assert.match(backend.reason, /no WebGPU adapter|no WebGPU \(navigator.gpu is missing\)/);
    const { got } = await page.evaluate(() => window.replayCorpus());
    const { scores, head } = checkReplay(corpus, got);
    console.log(`# chromium, CPU build: ${corpus.reranks.length} re-ranks, ${corpus.learning.length} learning runs, ${corpus.errors.cases.length} errors; largest score difference ${scores.toExponential(2)}, head ${head.toExponential(2)}; backend: ${backend.reason}`);
    assert.ok(requests.includes("/pkg/cpu/pocketrank_cpu_bg.wasm"), "the CPU build was loaded");
    assert.deepEqual(requests.filter((p) => p.includes("webgpu")), [], "the CPU-only path never fetches the WebGPU build");
    await assert.rejects(page.evaluate(() => window.create({ backend: "webgpu" })), /options.backend: "webgpu" was asked for, but this browser/);
  } finally {
    await browser.close();
    await server.close();
  }
});

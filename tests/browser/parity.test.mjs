// The golden corpus in real chromium without WebGPU (the CPU build): the native order exactly,
// scores within the corpus's tolerance; "auto" picks the CPU, says why, and the WebGPU build
// is never fetched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { assertGolden } from "./golden.mjs";
import { golden, titles, sessionInputs } from "../node/helpers.mjs";

test("chromium without WebGPU: auto → CPU build, golden order, no WebGPU download", async () => {
  const corpus = golden();
  const titleOf = titles(corpus.data);
  const inputs = corpus.sessions.map((s) => sessionInputs(s, titleOf));
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
    const { rankings } = await page.evaluate((sessions) => window.runSessions(sessions), inputs);
    const worst = assertGolden(corpus.sessions, rankings, corpus.tolerance);
    console.log(`# chromium, CPU build: ${rankings.length} sessions, largest score difference ${worst.toExponential(2)}; backend: ${backend.reason}`);
    assert.ok(requests.includes("/pkg/cpu/pocketrank_cpu_bg.wasm"), "the CPU build was loaded");
    assert.deepEqual(requests.filter((p) => p.includes("webgpu")), [], "the CPU-only path never fetches the WebGPU build");
    await assert.rejects(page.evaluate(() => window.create({ backend: "webgpu" })), /options.backend: "webgpu" was asked for, but this browser/);
  } finally {
    await browser.close();
    await server.close();
  }
});

// WebGPU in real chromium (--enable-unsafe-webgpu; on machines without a GPU this is
// SwiftShader, Chromium's software adapter): the WebGPU build gives the native order on golden
// sessions with scores within 1e-3; "auto" chooses by a measured warm-up and says why; a
// destroyed device falls back to the CPU with the same session and the same ranking.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { assertGolden } from "./golden.mjs";
import { golden, titles, sessionInputs } from "../node/helpers.mjs";

const WEBGPU_TOLERANCE = 1e-3;

let server, browser, corpus, inputs;
before(async () => {
  corpus = golden();
  const titleOf = titles(corpus.data);
  inputs = corpus.sessions.map((s) => sessionInputs(s, titleOf));
  server = await serve();
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function page(requests = []) {
  const page = await browser.newPage();
  page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(`${server.url}/tests/browser/parity.html`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

/** The first session of each half of the corpus (server-rerank, sampled-100). */
function firstOfEach() {
  return [0, corpus.sessions.length / 2];
}

test("webgpu: the whole golden corpus in native order, scores within 1e-3, only the WebGPU build fetched", { timeout: 600_000 }, async () => {
  const requests = [];
  const p = await page(requests);
  const backend = await p.evaluate(() => window.create({ backend: "webgpu" }));
  assert.deepEqual(backend, { name: "webgpu", reason: "WebGPU was asked for" });
  const { rankings, backend: still } = await p.evaluate((s) => window.runSessions(s), inputs);
  assert.equal(still.name, "webgpu", `still on WebGPU: ${still.reason}`);
  const worst = assertGolden(corpus.sessions, rankings, WEBGPU_TOLERANCE);
  console.log(`# chromium WebGPU: ${rankings.length} golden sessions, same order, largest score difference ${worst.toExponential(2)}`);
  assert.ok(requests.includes("/pkg/webgpu/pocketrank_webgpu_bg.wasm"));
  assert.ok(!requests.some((path) => path.startsWith("/pkg/cpu/")), "the WebGPU build carries its own CPU path");
  await p.close();
});

test("device loss mid-session: falls back to the CPU with the same session and ranking", { timeout: 600_000 }, async () => {
  const p = await page();
  await p.evaluate(() => window.create({ backend: "webgpu" }));
  const [i, j] = firstOfEach();
  const result = await p.evaluate(async ([a, b]) => {
    const q = window.p;
    for (const e of a.events) await q.observe(e);
    const onGpu = await q.rerank(a.candidates, a.options);
    for (const device of window.gpuDevices) device.destroy();
    const afterLoss = await q.rerank(a.candidates, a.options);
    const backend = q.backend;
    // And it keeps working for the next shopper session.
    const next = await window.runSessions([b]);
    return { onGpu, afterLoss, backend, next: next.rankings[0], devices: window.gpuDevices.length };
  }, [inputs[i], inputs[j]]);
  assert.ok(result.devices >= 1, "the page saw the package's GPU device");
  assert.equal(result.backend.name, "cpu");
  assert.match(result.backend.reason, /^WebGPU failed \(model failed: reading a result back: .*destroyed.*\); switched to the CPU$/);
  assertGolden([corpus.sessions[i]], [result.onGpu], WEBGPU_TOLERANCE);
  assertGolden([corpus.sessions[i]], [result.afterLoss], corpus.tolerance);
  assert.deepEqual(result.afterLoss.map((r) => r.id), result.onGpu.map((r) => r.id), "identical ranking after the loss");
  assertGolden([corpus.sessions[j]], [result.next], corpus.tolerance);
  console.log(`# device destroyed: ${result.backend.reason}`);
  await p.close();
});

test("auto: chooses the faster backend by a measured warm-up and reports both timings", { timeout: 600_000 }, async () => {
  const p = await page();
  const backend = await p.evaluate(() => window.create({ backend: "auto", warmupRuns: 3 }));
  assert.ok(backend.cpuMs > 0 && backend.webgpuMs > 0, JSON.stringify(backend));
  assert.equal(backend.name, backend.webgpuMs < backend.cpuMs ? "webgpu" : "cpu");
  assert.match(backend.reason, /warm-up, one re-rank of 100 candidates: WebGPU [\d.]+ ms, CPU [\d.]+ ms/);
  const [i] = firstOfEach();
  const { rankings } = await p.evaluate((s) => window.runSessions(s), [inputs[i]]);
  assertGolden([corpus.sessions[i]], rankings, WEBGPU_TOLERANCE);
  console.log(`# auto chose ${backend.name}: ${backend.reason}`);
  await p.close();
});

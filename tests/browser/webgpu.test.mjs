// WebGPU in real chromium (--enable-unsafe-webgpu; on machines without a GPU this is
// SwiftShader, Chromium's software adapter): the WebGPU build gives the native order on golden
// sessions with scores within 1e-3; "auto" chooses by a measured warm-up and says why; a
// destroyed device falls back to the CPU with the same session and the same ranking.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { golden } from "../node/helpers.mjs";
import { assertRanking, checkReplay } from "../golden/check.mjs";

const WEBGPU_TOLERANCE = 1e-3;

let server, browser, corpus, inputs;
before(async () => {
  corpus = golden();
  inputs = corpus.reranks;
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
  return [0, corpus.reranks.findIndex((r) => r.name.startsWith("sampled-100"))];
}

test("webgpu: the whole golden corpus in native order, scores within 1e-3, only the WebGPU build fetched", { timeout: 600_000 }, async () => {
  const requests = [];
  const p = await page(requests);
  const backend = await p.evaluate(() => window.create({ backend: "webgpu" }));
  assert.deepEqual(backend, { name: "webgpu", reason: "WebGPU was asked for" });
  const { got, backend: still } = await p.evaluate(() => window.replayCorpus());
  assert.equal(still.name, "webgpu", `still on WebGPU: ${still.reason}`);
  const { scores, head } = checkReplay({ ...corpus, tolerance: WEBGPU_TOLERANCE }, got);
  console.log(`# chromium WebGPU: ${corpus.reranks.length} re-ranks, ${corpus.learning.length} learning runs, ${corpus.errors.cases.length} errors, same orders; largest score difference ${scores.toExponential(2)}, head ${head.toExponential(2)}`);
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
    // A new event: the session state must be computed again, on a device that is gone.
    await q.observe(a.events[0]);
    const afterLoss = await q.rerank(a.candidates, a.options);
    // The same calls on a CPU personalizer of the same page that recomputes everything.
    const cpu = await window.Personalizer.create(await window.bundle(), { backend: "cpu", limits: { itemCache: 0 } });
    for (const e of a.events) await cpu.observe(e);
    await cpu.rerank(a.candidates, a.options);
    await cpu.observe(a.events[0]);
    const expected = await cpu.rerank(a.candidates, a.options);
    const backend = q.backend;
    // And it keeps working for the next shopper session.
    const next = await window.runSessions([b]);
    return { onGpu, afterLoss, expected, backend, next: next.rankings[0], devices: window.gpuDevices.length };
  }, [inputs[i], inputs[j]]);
  assert.ok(result.devices >= 1, "the page saw the package's GPU device");
  assert.equal(result.backend.name, "cpu");
  assert.match(result.backend.reason, /^WebGPU failed \(model failed: reading a result back: .*\); switched to the CPU$/);
  assertRanking(result.onGpu, corpus.reranks[i].expected, WEBGPU_TOLERANCE, corpus.reranks[i].name);
  assertRanking(result.afterLoss, result.expected, 0, "after the loss: the full recompute's answer on the CPU");
  assertRanking(result.next, corpus.reranks[j].expected, corpus.tolerance, corpus.reranks[j].name);
  console.log(`# device destroyed: ${result.backend.reason}`);
  await p.close();
});

test("auto: chooses the faster backend by a measured warm-up and reports both timings", { timeout: 600_000 }, async () => {
  const p = await page();
  const backend = await p.evaluate(() => window.create({ backend: "auto", warmupRuns: 3 }));
  assert.ok(backend.cpuMs > 0 && backend.webgpuMs > 0, JSON.stringify(backend));
  assert.equal(backend.name, backend.webgpuMs < backend.cpuMs ? "webgpu" : "cpu");
  assert.match(backend.reason, /warm-up, one re-rank of 100 candidates after a new event: WebGPU [\d.]+ ms, CPU [\d.]+ ms/);
  const [i] = firstOfEach();
  const { rankings } = await p.evaluate((s) => window.runSessions(s), [inputs[i]]);
  assertRanking(rankings[0], corpus.reranks[i].expected, WEBGPU_TOLERANCE, corpus.reranks[i].name);
  console.log(`# auto chose ${backend.name}: ${backend.reason}`);
  await p.close();
});

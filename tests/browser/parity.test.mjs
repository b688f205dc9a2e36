// The whole golden corpus in real chromium without WebGPU (the CPU build): re-ranks, learning
// runs and errors as natively, and alike with caching off; "auto" picks the CPU, says why, and
// the WebGPU build is never fetched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { golden } from "../node/helpers.mjs";
import { assertRanking, checkReplay } from "../golden/check.mjs";

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
    // Caching changes no result: the same corpus with caching off answers within 1e-6.
    await page.evaluate(() => window.create({ backend: "cpu", limits: { itemCache: 0 } }));
    const { got: recomputed } = await page.evaluate(() => window.replayCorpus());
    let cacheGap = 0;
    got.reranks.forEach((r, i) => (cacheGap = Math.max(cacheGap, assertRanking(r, recomputed.reranks[i], 1e-6, `caches off: ${corpus.reranks[i].name}`))));
    got.learning.forEach((run, i) => run.answers.forEach((r, j) => (cacheGap = Math.max(cacheGap, assertRanking(r, recomputed.learning[i].answers[j], 1e-6, `caches off: ${corpus.learning[i].name}`)))));
    assert.deepEqual(got.errors, recomputed.errors);
    console.log(`# chromium, caches on vs off: largest score difference ${cacheGap}`);
    assert.ok(requests.includes("/pkg/cpu/pocketrank_cpu_bg.wasm"), "the CPU build was loaded");
    assert.deepEqual(requests.filter((p) => p.includes("webgpu")), [], "the CPU-only path never fetches the WebGPU build");
    await assert.rejects(page.evaluate(() => window.create({ backend: "webgpu" })), /options.backend: "webgpu" was asked for, but this browser/);
    // The retail model's corpus: its rule table in the rule terms and their why.
    const retail = golden("retail");
    await page.evaluate(() => window.create({ backend: "cpu" }, "retail"));
    const { got: retailGot } = await page.evaluate(() => window.replayCorpus("retail"));
    const fromRetail = checkReplay(retail, retailGot);
    console.log(`# chromium, CPU build, retail: ${retail.reranks.length} re-ranks; largest score difference ${fromRetail.scores.toExponential(2)}, head ${fromRetail.head.toExponential(2)}`);
  } finally {
    await browser.close();
    await server.close();
  }
});

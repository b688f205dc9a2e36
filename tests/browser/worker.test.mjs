// Web Worker mode in chromium: the model runs off the main thread and gives the golden
// rankings; errors cross the worker boundary as real Errors and the worker survives them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { golden, titles, sessionInputs } from "../node/helpers.mjs";

test("WorkerPersonalizer: golden rankings off the main thread, errors as Errors", async () => {
  const corpus = golden();
  const titleOf = titles(corpus.data);
  const sessions = corpus.sessions.slice(0, 40);
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const workers = [];
    page.on("worker", (w) => workers.push(w.url()));
    await page.goto(`${server.url}/tests/browser/worker.html`);
    await page.waitForFunction(() => window.ready === true);
    const out = await page.evaluate((s) => window.runInWorker(s), sessions.map((s) => sessionInputs(s, titleOf)));
    assert.deepEqual(workers.map((u) => new URL(u).pathname), ["/pkg/worker.js"]);
    assert.deepEqual(out.backend, { name: "cpu", reason: "the CPU was asked for" });
    sessions.forEach((session, i) => {
      assert.deepEqual(out.rankings[i].map((r) => r.id), session.expected.map((e) => e.id), `order differs for user ${session.user}`);
      out.rankings[i].forEach((r, j) => assert.ok(Math.abs(r.score - session.expected[j].score) <= corpus.tolerance));
    });
    assert.equal(out.error, "candidates[0].id: empty");
    assert.equal(out.alive, 1);
  } finally {
    await browser.close();
    await server.close();
  }
});

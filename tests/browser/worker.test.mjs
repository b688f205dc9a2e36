// Web Worker mode in chromium: the model runs off the main thread and answers the whole golden
// corpus as natively; errors cross the worker boundary as real Errors with their codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { golden } from "../node/helpers.mjs";
import { checkReplay } from "../golden/check.mjs";

test("WorkerPersonalizer: the golden corpus off the main thread, errors as Errors", async () => {
  const corpus = golden();
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const workers = [];
    page.on("worker", (w) => workers.push(w.url()));
    await page.goto(`${server.url}/tests/browser/worker.html`);
    await page.waitForFunction(() => window.ready === true);
    const out = await page.evaluate(() => window.runInWorker());
    assert.deepEqual(workers.map((u) => new URL(u).pathname), ["/pkg/worker.js"]);
    assert.deepEqual(out.backend, { name: "cpu", reason: "the CPU was asked for" });
    checkReplay(corpus, out.got);
  } finally {
    await browser.close();
    await server.close();
  }
});

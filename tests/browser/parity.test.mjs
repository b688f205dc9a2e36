// The golden corpus in real chromium (wasm on the CPU): the native order exactly, scores
// within the corpus's tolerance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { golden, titles, sessionInputs } from "../node/helpers.mjs";

test("golden corpus in chromium: same order, scores within tolerance", async () => {
  const corpus = golden();
  const titleOf = titles(corpus.data);
  const inputs = corpus.sessions.map((s) => sessionInputs(s, titleOf));
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/tests/browser/parity.html`);
    await page.waitForFunction(() => window.ready === true);
    const { backend, rankings } = await page.evaluate((sessions) => window.runSessions(sessions), inputs);
    assert.equal(backend, "cpu");
    let worst = 0;
    corpus.sessions.forEach((session, i) => {
      assert.deepEqual(rankings[i].map((r) => r.id), session.expected.map((e) => e.id), `order differs for user ${session.user}`);
      rankings[i].forEach((r, j) => (worst = Math.max(worst, Math.abs(r.score - session.expected[j].score))));
    });
    assert.ok(worst <= corpus.tolerance, `largest score difference ${worst}`);
    console.log(`# chromium: ${rankings.length} sessions, largest score difference ${worst.toExponential(2)}`);
  } finally {
    await browser.close();
    await server.close();
  }
});

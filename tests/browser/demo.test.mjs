// The demo storefront page works as a shopper uses it: the list renders, a click re-ranks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";

test("www/ demo: loads the model, renders 12 products, a click is recorded and re-ranks", async () => {
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/www/index.html`);
    await page.waitForFunction(() => document.querySelectorAll("#list li").length === 12);
    assert.match(await page.textContent("#status"), /model loaded on cpu/);
    const before = await page.$$eval("#list li", (lis) => lis.map((li) => li.textContent));
    await page.click("#list li:nth-child(5)");
    await page.waitForFunction((b) => [...document.querySelectorAll("#list li")].map((li) => li.textContent).join() !== b.join(), before);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

// Bundle loading for storefronts in chromium: progress reports, the Cache API on the next
// load, and an integrity check that refuses a wrong or tampered bundle before use.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { serve, launch } from "./harness.mjs";
import { shippedBundle } from "../node/helpers.mjs";

test("fetchBundle: progress, cache, integrity", async () => {
  const bundle = shippedBundle();
  const sri = `sha256-${createHash("sha256").update(bundle).digest("base64")}`;
  const hex = createHash("sha256").update(bundle).digest("hex");
  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const bundleRequests = [];
    page.on("request", (r) => r.url().endsWith("/model.bundle") && bundleRequests.push(r.url()));
    await page.goto(`${server.url}/tests/browser/loader.html`);
    await page.waitForFunction(() => window.ready === true);

    const wrong = await page.evaluate((i) => window.load(i), `sha256-${"A".repeat(43)}=`);
    assert.match(wrong.error, /^bundle: integrity check failed for \/models\/games\/model.bundle: expected sha256-A+=, got sha256-/);
    assert.equal(wrong.cached, 0, "a bundle that fails the check is not cached");

    const first = await page.evaluate((i) => window.load(i), sri);
    assert.equal(first.length, bundle.length);
    assert.equal(first.ranked, 1);
    assert.ok(first.progress.length >= 2, "several progress reports while downloading");
    assert.deepEqual(first.progress.at(-1), [bundle.length, bundle.length]);
    assert.equal(bundleRequests.length, 2);

    const second = await page.evaluate((i) => window.load(i), hex);
    assert.equal(second.length, bundle.length);
    assert.equal(bundleRequests.length, 2, "the second load comes from the Cache API");

    await page.evaluate(() => window.tamperCache());
    const healed = await page.evaluate((i) => window.load(i), sri);
    assert.equal(healed.length, bundle.length);
    assert.equal(bundleRequests.length, 3, "a tampered cached copy is dropped and fetched again");

    const bad = await page.evaluate(() => window.load("md5-abc"));
    assert.match(bad.error, /^integrity: expected "sha256-<base64>" or 64 hex digits/);
  } finally {
    await browser.close();
    await server.close();
  }
});

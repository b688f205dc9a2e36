// The demo shop and the browser extension, end to end in Debian's chromium: the shop built
// with Vite from the npm package (www/shop/build.mjs), served by its own storefront server
// (www/shop/server.mjs), played as a shopper would; the MV3 extension (www/extension) loaded
// unpacked, re-ranking the shop's tiles in place.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { launch, launchWithExtension } from "./harness.mjs";
import { root } from "../node/helpers.mjs";
import { buildShop } from "../../www/shop/build.mjs";
import { startShop } from "../../www/shop/server.mjs";
import { buildExtension } from "../../www/extension/build.mjs";

const work = mkdtempSync(path.join(os.tmpdir(), "pocketrank-shop-"));
let shop;

before(async () => {
  buildShop(path.join(work, "shop"));
  shop = await startShop({ dir: path.join(work, "shop"), games: path.join(root, "../shared/data/games") });
});
after(async () => {
  await shop?.close();
  rmSync(work, { recursive: true, force: true });
});

const order = (page) => page.$$eval("#grid .tile", (tiles) => tiles.map((t) => t.dataset.pocketrankId));
const events = (page, dept) => page.$eval(`#knows .knows-dept:nth-child(${dept === "games" ? 1 : 2}) .events`, (e) => Number.parseInt(e.textContent, 10));

/** Click and wait until the device's panel counts `want` events for `dept`. */
async function act(page, selector, dept, want) {
  await page.click(selector);
  // Off the grid again: a pointer left resting on a tile would count as a view.
  await page.mouse.move(0, 0);
  await page.waitForFunction(([n, w]) => Number.parseInt(document.querySelector(`#knows .knows-dept:nth-child(${n}) .events`)?.textContent, 10) === w, [dept === "games" ? 1 : 2, want]);
}

test("the shop re-ranks as the shopper clicks, explains, completes the cart, restores and forgets; no other origin", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors = [];
    const origins = new Set();
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => origins.add(new URL(r.url()).origin));
    await page.goto(shop.url);
    await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
    assert.match(await page.textContent("#status"), /backend: cpu \(.*no WebGPU.*\)/);
    assert.equal(await page.locator("#grid .tile").count(), 24);
    assert.match(await page.textContent("#latency"), /re-ranked 100 server candidates on cpu in [\d.]+ ms/);
    const first = await order(page);

    // A look: the pointer rests on a tile (a view, no re-rank).
    await page.hover("#grid .tile:nth-child(5) h3");
    await page.waitForFunction(() => /\(1 views/.test(document.querySelector("#knows .knows-dept:nth-child(1) .events")?.textContent));
    assert.deepEqual(await order(page), first, "a view does not move the grid");
    await page.mouse.move(0, 0);

    // A scripted session: three games from further down the page.
    for (const [i, nth] of [12, 18, 22].entries()) await act(page, `#grid .tile:nth-child(${nth})`, "games", i + 2);
    const clicked = await order(page);
    assert.notDeepEqual(clicked, first, "the grid re-ranked");
    const whys = await page.$$eval("#grid .tile .why", (ps) => ps.map((p) => p.textContent).filter(Boolean));
    assert.ok(whys.some((w) => /because you clicked “.+”/.test(w)), `explanations shown: ${whys.slice(0, 3).join(" | ")}`);
    assert.match(await page.textContent("#knows .knows-dept:nth-child(1) .head-change"), /^[1-9]|^0\.0*[1-9]/, "learning moved the head");

    // Personalisation 0 is the server's order.
    await page.locator("#personalization").fill("0");
    await page.waitForFunction((f) => [...document.querySelectorAll("#grid .tile")].map((t) => t.dataset.pocketrankId).join() !== f.join(), clicked);
    const serverRanks = await page.$$eval("#grid .tile", (tiles) => tiles.map((t) => Number(t.dataset.serverRank)));
    assert.deepEqual(serverRanks, serverRanks.toSorted((a, b) => a - b));
    await page.locator("#personalization").fill("1");

    // The cart: a home & gifts item, and what goes with it from the rules.
    await page.click("#departments button[data-dept=retail]");
    await page.waitForFunction(() => document.getElementById("page-title").textContent.startsWith("Home & gifts"));
    await page.fill("#search input", "lunch bag");
    await page.click("#search button");
    await page.waitForFunction(() => document.getElementById("page-title").textContent === "Home & gifts: “lunch bag”");
    assert.ok((await page.$$eval("#grid .tile h3", (hs) => hs.map((h) => h.textContent))).every((t) => /lunch bag/i.test(t)), "search found lunch bags");
    await act(page, "#grid .tile:nth-child(1) .add", "retail", 1);
    await page.waitForSelector("#complements li.complement");
    assert.match(await page.textContent("#complements li.complement"), /\(with .+; confidence \d+ %\)/);
    assert.equal(await page.locator("#cart-items li").count(), 1);

    // Reload: the personal state comes back from IndexedDB.
    await page.reload();
    await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
    assert.match(await page.textContent("#status"), /games restored, retail restored/);
    assert.deepEqual([await events(page, "games"), await events(page, "retail")], [4, 1]);

    // Forget: nothing personal left, after a reload too.
    await page.click("#forget");
    await page.waitForFunction(() => [...document.querySelectorAll("#knows .events")].every((e) => e.textContent.startsWith("0 ")));
    await page.reload();
    await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
    assert.deepEqual([await events(page, "games"), await events(page, "retail")], [0, 0]);
    assert.deepEqual(await page.$$eval("#knows .head-change", (ds) => ds.map((d) => d.textContent)), ["0.00 % from the shipped model", "0.00 % from the shipped model"]);

    assert.deepEqual([...origins], [new URL(shop.url).origin], "every request went to the shop's own origin");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("the MV3 extension, loaded unpacked, re-ranks the shop's tiles in place and forgets from its popup", async () => {
  const extension = buildExtension(path.join(work, "extension"));
  const { context, worker } = await launchWithExtension(extension, path.join(work, "profile"));
  try {
    const id = new URL(worker.url()).host;
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // The shop without its own personalisation: what the extension shows is the extension's.
    await page.goto(`${shop.url}?personalize=off`);
    await page.waitForSelector("html[data-pocketrank-extension=ranked]", { timeout: 60_000 });
    assert.equal(await page.locator("#grid .tile[data-pocketrank-extension-rank]").count(), 24, "every tile ranked by the extension");

    for (const [i, nth] of [10, 16, 20].entries()) {
      await page.click(`#grid .tile:nth-child(${nth}) h3`);
      // The content script re-ranks after each recorded click and says how many events it saw.
      await page.waitForSelector(`html[data-pocketrank-events="${i + 1}"]`, { timeout: 30_000 });
    }
    const badges = await page.$$eval(".pocketrank-extension-badge", (bs) => bs.map((b) => b.textContent));
    assert.ok(badges.some((b) => /because you clicked “.+”/.test(b)), badges.slice(0, 3).join(" | "));
    const ranks = await page.$$eval("#grid .tile", (tiles) => tiles.map((t) => [Number(t.dataset.serverRank), Number(t.dataset.pocketrankExtensionRank)]));
    assert.deepEqual(ranks.map(([, r]) => r), ranks.map((_, i) => i + 1), "the tiles stand in the extension's order");
    assert.notDeepEqual(ranks.map(([s]) => s), ranks.map((_, i) => i + 1), "which is not the page's own order");

    const popup = await context.newPage();
    await popup.goto(`chrome-extension://${id}/popup.html`);
    await popup.waitForSelector("body[data-ready]");
    assert.equal(await popup.textContent(".events"), "3");
    const stored = await worker.evaluate(() => chrome.storage.local.get("state"));
    assert.ok(stored.state?.length > 0, "the personal state is in extension storage");
    await popup.click("#forget");
    await popup.waitForFunction(() => document.querySelector(".events")?.textContent === "0");
    assert.deepEqual(await worker.evaluate(() => chrome.storage.local.get("state")), {}, "forget empties extension storage");
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

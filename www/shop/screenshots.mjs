// The README's screenshots, from the current build: the shop after a short session (clicks,
// a cart with its complements) and the shop re-ranked by the extension, with its popup.
//
//   node www/shop/screenshots.mjs     (after ./setup.sh; writes www/shop/screenshot.png,
//                                      www/extension/screenshot.png, www/extension/popup.png)
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
// The project's chromium launcher (Debian's chromium, headless), shared with the tests.
import { launch, launchWithExtension } from "../../tests/browser/harness.mjs";
import { buildShop } from "./build.mjs";
import { startShop } from "./server.mjs";
import { buildExtension } from "../extension/build.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const viewport = { width: 1280, height: 900 };
const work = mkdtempSync(path.join(os.tmpdir(), "pocketrank-screenshots-"));

const settle = (page) => page.evaluate(() => new Promise((r) => setTimeout(r, 300)));

try {
  const shop = await startShop({ dir: buildShop(path.join(work, "shop")), games: path.join(root, "../shared/data/games") });
  try {
    const browser = await launch();
    const page = await browser.newPage({ viewport });
    await page.goto(shop.url);
    await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
    await page.click("#departments button[data-dept=retail]");
    await page.waitForFunction(() => document.getElementById("page-title").textContent.startsWith("Home & gifts"));
    await page.fill("#search input", "lunch bag");
    await page.click("#search button");
    await page.waitForFunction(() => document.getElementById("page-title").textContent.includes("lunch bag"));
    await page.click("#grid .tile:nth-child(1) .add");
    await page.waitForSelector("#complements li.complement");
    await page.click("#departments button[data-dept=games]");
    await page.waitForFunction(() => document.getElementById("page-title").textContent.startsWith("Video games"));
    for (const nth of [9, 14]) {
      await page.click(`#grid .tile:nth-child(${nth}) h3`);
      await settle(page);
    }
    await page.screenshot({ path: path.join(here, "screenshot.png") });
    await browser.close();

    const extension = buildExtension(path.join(work, "extension"));
    const { context, worker } = await launchWithExtension(extension, path.join(work, "profile"), { viewport });
    const shopPage = await context.newPage();
    await shopPage.goto(`${shop.url}?personalize=off`);
    await shopPage.waitForSelector("html[data-pocketrank-extension=ranked]", { timeout: 60_000 });
    for (const [i, nth] of [8, 15].entries()) {
      await shopPage.click(`#grid .tile:nth-child(${nth}) h3`);
      await shopPage.waitForSelector(`html[data-pocketrank-events="${i + 1}"]`);
    }
    await shopPage.screenshot({ path: path.join(root, "www/extension/screenshot.png") });
    const popup = await context.newPage();
    await popup.setViewportSize({ width: 360, height: 320 });
    await popup.goto(`chrome-extension://${new URL(worker.url()).host}/popup.html`);
    await popup.waitForSelector("body[data-ready]");
    await popup.screenshot({ path: path.join(root, "www/extension/popup.png") });
    await context.close();
    console.log("wrote www/shop/screenshot.png, www/extension/screenshot.png, www/extension/popup.png");
  } finally {
    await shop.close();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

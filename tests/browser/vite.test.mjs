// The npm package works under Vite: `vite build` bundles a page that imports "pocketrank" from
// node_modules (wasm emitted as an asset), and the built page re-ranks in chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { serve, launch } from "./harness.mjs";
import { root } from "../node/helpers.mjs";

test("vite build of a page importing pocketrank runs in chromium", async () => {
  const app = mkdtempSync(path.join(os.tmpdir(), "pocketrank-vite-"));
  cpSync(path.join(root, "tests/vite"), app, { recursive: true });
  mkdirSync(path.join(app, "node_modules"));
  symlinkSync(path.join(root, "pkg"), path.join(app, "node_modules/pocketrank"), "dir");
  mkdirSync(path.join(app, "public"));
  cpSync(path.join(root, "models/games/model.bundle"), path.join(app, "public/model.bundle"));
  const vite = path.join(root, "node_modules/vite/bin/vite.js");
  execFileSync(process.execPath, [vite, "build", "--logLevel", "warn", "--base", "./"], { cwd: app, encoding: "utf8" });
  const assets = readdirSync(path.join(app, "dist/assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `wasm emitted: ${assets.join(", ")}`);

  const server = await serve(path.join(app, "dist"));
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 30_000 });
    const result = await page.evaluate(() => window.result);
    assert.equal(result.backend.name, "cpu");
    assert.match(result.backend.reason, /no WebGPU/);
    assert.deepEqual([...result.ids].sort(), ["0", "2", "3"]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

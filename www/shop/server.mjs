// The demo shop's server, playing the storefront: the built page, the model bundles, and the
// candidate lists in server order (storefront.mjs). One origin serves everything, so the page
// never talks to another.
//
//   node www/shop/server.mjs [--dir www/shop/dist] [--port 4173] [--check]
//
// `--check` (or CI set in the environment): load the shop once in headless chromium, print what
// it showed, and exit instead of serving. `--dir` is what build.mjs wrote.
import { createServer } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEPARTMENTS, candidates, categories, loadCatalog, lookup } from "./storefront.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml" };

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

function file(res, at) {
  const body = readFileSync(at);
  res.writeHead(200, { "content-type": TYPES[path.extname(at)] ?? "application/octet-stream", "content-length": body.length }).end(body);
}

/** The shop's request handler over a built site and its catalog. */
export function handler({ site, catalog }) {
  const departments = Object.entries(DEPARTMENTS).map(([id, name]) => ({ id, name, categories: categories(id), bundle: `/models/${id}/model.bundle` }));
  return (req, res) => {
    const url = new URL(req.url, "http://shop");
    try {
      if (url.pathname === "/api/departments") return json(res, 200, { departments });
      if (url.pathname === "/api/list") return json(res, 200, { candidates: candidates(catalog, Object.fromEntries(url.searchParams)) });
      if (url.pathname === "/api/items") return json(res, 200, { items: lookup(catalog, url.searchParams.get("dept"), (url.searchParams.get("ids") ?? "").split(",")) });
      const model = url.pathname.match(/^\/models\/(games|retail)\/model\.bundle$/);
      if (model) return file(res, path.join(root, "models", model[1], "model.bundle"));
      const at = path.join(site, url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname));
      if (!at.startsWith(site) || !existsSync(at) || !statSync(at).isFile()) return json(res, 404, { error: `${url.pathname}: not found` });
      return file(res, at);
    } catch (e) {
      return json(res, 400, { error: e.message });
    }
  };
}

/** Start the shop on `port` (0: any free one); resolves to `{ url, close }`. */
export async function startShop({ dir, games, port = 0, host = "127.0.0.1" }) {
  const catalog = loadCatalog({ games, retail: path.join(dir, "data", "retail") });
  const server = createServer(handler({ site: path.join(dir, "site"), catalog }));
  await new Promise((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return { url: `http://${host}:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** Load the shop in headless chromium; returns what the page showed. */
async function check(url) {
  // The project's chromium launcher, shared with the tests (loaded only to check).
  const { launch } = await import("../../tests/browser/harness.mjs");
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    return { tiles: await page.locator("#grid .tile").count(), status: await page.textContent("#status") };
  } finally {
    await browser.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      dir: { type: "string", default: path.join(here, "dist") },
      games: { type: "string", default: path.join(root, "../shared/data/games") },
      port: { type: "string", default: "4173" },
      check: { type: "boolean", default: false },
    },
  });
  const checking = values.check || Boolean(process.env.CI);
  const shop = await startShop({ dir: path.resolve(values.dir), games: path.resolve(values.games), port: checking ? 0 : Number(values.port) });
  if (checking) {
    try {
      const seen = await check(shop.url);
      console.log(`demo shop checked at ${shop.url}: ${seen.tiles} tiles; ${seen.status}`);
      if (seen.tiles === 0) process.exitCode = 1;
    } catch (e) {
      console.error(`demo shop check failed: ${e.message}`);
      process.exitCode = 1;
    } finally {
      await shop.close();
    }
  } else {
    console.log(`pocketrank demo shop: ${shop.url}  (Ctrl-C stops it)`);
  }
}

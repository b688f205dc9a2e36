// Real-browser test harness: a static server for the repository on 127.0.0.1 and Debian's
// chromium driven by playwright-core (browsers cannot be downloaded here).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { root } from "../node/helpers.mjs";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

const BUNDLE_CHUNK = 256 * 1024;

/**
 * Serve `dir` (default: the repository) read-only; returns { url, close }. `cache`: let the
 * browser keep what it fetched (`cache-control: max-age=3600`), as a storefront's CDN would;
 * the tests leave it off, so every load is a real fetch they can observe.
 */
export async function serve(dir = root, { cache = false } = {}) {
  const server = createServer(async (req, res) => {
    let file = path.join(dir, decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (file.endsWith(path.sep)) file = path.join(file, "index.html");
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "content-length": body.length, ...(cache ? { "cache-control": "max-age=3600" } : {}) });
      if (file.endsWith(".bundle")) {
        // As over a real network, a model arrives in pieces (here 256 KB, 5 ms apart), so the
        // loader's download progress is observable whatever the bundle's size.
        for (let at = 0; at < body.length; at += BUNDLE_CHUNK) {
          res.write(body.subarray(at, at + BUNDLE_CHUNK));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        res.end();
      } else {
        res.end(body);
      }
    } catch {
      res.writeHead(500).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"];

/** Headless chromium with a fresh profile; `webgpu` adds the software WebGPU adapter. */
export async function launch({ webgpu = false } = {}) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: webgpu ? [...ARGS, "--enable-unsafe-webgpu"] : ARGS });
}

/**
 * Headless chromium with the unpacked extension in `extension` loaded (extensions need a
 * persistent profile, here `profile`); returns the context and the extension's service worker.
 */
export async function launchWithExtension(extension, profile, { viewport } = {}) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...(viewport ? { viewport } : {}),
    args: [...ARGS, `--disable-extensions-except=${extension}`, `--load-extension=${extension}`],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker"));
  return { context, worker };
}

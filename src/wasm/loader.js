// Fetch a model bundle the way a storefront should: progress reports, the Cache API so the
// next visit does not download it again, and an integrity check (like Subresource
// Integrity) before a single byte is used or cached.
//
//   import { fetchBundle } from "pocketrank/loader";
//   const bytes = await fetchBundle("/models/games/model.bundle", {
//     integrity: "sha256-…",                       // or the hex sha256 from MANIFEST.sha256
//     onProgress: (loaded, total) => bar.value = loaded / total,
//   });

function toHex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function toBase64(buffer) {
  let text = "";
  for (const b of new Uint8Array(buffer)) text += String.fromCharCode(b);
  return btoa(text);
}

/** Does `bytes` match `integrity` ("sha256-<base64>" or 64 hex digits)? */
async function verify(bytes, integrity) {
  if (!integrity) return { ok: true };
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const expected = integrity.trim();
  if (expected.startsWith("sha256-")) {
    const actual = `sha256-${toBase64(digest)}`;
    return { ok: actual === expected, actual };
  }
  if (/^[0-9a-fA-F]{64}$/.test(expected)) {
    const actual = toHex(digest);
    return { ok: actual === expected.toLowerCase(), actual };
  }
  throw new Error(`integrity: expected "sha256-<base64>" or 64 hex digits, got ${JSON.stringify(integrity)}`);
}

async function readWithProgress(response, onProgress) {
  const total = Number(response.headers.get("content-length")) || 0;
  if (!response.body || !onProgress) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.(bytes.length, bytes.length);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total || loaded);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

/**
 * The bundle's bytes, verified. options: `integrity`, `onProgress(loaded, total)`,
 * `cache` (default true where the Cache API exists), `cacheName` (default "pocketrank-models").
 * Rejects with an Error naming the problem; a bundle that fails the check is never cached,
 * and a cached copy that fails it is dropped and fetched again.
 */
export async function fetchBundle(url, options = {}) {
  const { integrity, onProgress, cache = true, cacheName = "pocketrank-models" } = options;
  const store = cache && globalThis.caches ? await caches.open(cacheName) : null;
  if (store) {
    const hit = await store.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      if ((await verify(bytes, integrity)).ok) {
        onProgress?.(bytes.length, bytes.length);
        return bytes;
      }
      await store.delete(url);
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`bundle: ${url} answered ${response.status} ${response.statusText}`);
  const bytes = await readWithProgress(response, onProgress);
  const check = await verify(bytes, integrity);
  if (!check.ok) throw new Error(`bundle: integrity check failed for ${url}: expected ${integrity}, got ${check.actual}`);
  if (store) await store.put(url, new Response(bytes, { headers: { "content-type": "application/octet-stream" } }));
  return bytes;
}

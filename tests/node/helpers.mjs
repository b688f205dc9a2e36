// Shared by the Node tests: load the wasm package, the shipped bundle and the golden corpus
// (self-contained: its re-ranks, learning runs and error cases carry their own inputs).
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The package from pkg/; `create` hands it the CPU build's bytes (Node has no WebGPU, and no fetch of files). */
export async function loadPackage() {
  const pkg = await import(path.join(root, "pkg/pocketrank.js"));
  const wasm = { cpu: readFileSync(path.join(root, "pkg/cpu/pocketrank_cpu_bg.wasm")) };
  return { ...pkg, Personalizer: { create: (bundle, options = {}) => pkg.Personalizer.create(bundle, { wasm, ...options }) } };
}

export function shippedBundle() {
  return new Uint8Array(readFileSync(path.join(root, "models/games/model.bundle")));
}

export function golden(name = "games") {
  return JSON.parse(readFileSync(path.join(root, `tests/golden/${name}.json`), "utf8"));
}

/** item id -> title, from a data set's items.tsv (for the benches, which run on real titles). */
export function titles(dataDir) {
  const text = readFileSync(path.resolve(root, dataDir, "items.tsv"), "utf8");
  const map = new Map();
  for (const line of text.split("\n").slice(1)) {
    if (!line.trim()) continue;
    const [id, title = ""] = line.split("\t");
    map.set(id.trim(), title.trim());
  }
  return map;
}

/** `n` real Games catalog items `{id, title}` (from row 1000): the benches' and load tests' sessions and slates. */
export function gamesItems(n = 150) {
  const titleOf = titles("../shared/data/games");
  return [...titleOf.keys()].slice(1000, 1000 + n).map((id) => ({ id, title: titleOf.get(id) }));
}

/**
 * A reader of the wasm memory's size in bytes. The package's CPU build is one module instance:
 * initialised here, its `memory` export is the memory every personalizer lives in.
 */
export async function cpuMemory() {
  const build = await import(path.join(root, "pkg/cpu/pocketrank_cpu.js"));
  const { memory } = await build.default({ module_or_path: readFileSync(path.join(root, "pkg/cpu/pocketrank_cpu_bg.wasm")) });
  return () => memory.buffer.byteLength;
}

/** Five real Games catalog items, a small slate for the learning and persistence tests. */
export const SLATE = [
  { id: "0", title: "Fire Emblem: The Sacred Stones" },
  { id: "1", title: "GBA 6-Pak Care Case - Game Boy Advance" },
  { id: "2", title: "Super Mario Advance" },
  { id: "3", title: "Metroid Fusion" },
  { id: "4", title: "Pokemon Ruby" },
];

/** `bytes` with one more part (digests recomputed). */
export function appendPart(bytes, name, data) {
  return rebundleBytes(bytes, null, (b) => b, { name, data });
}

/** `bytes` with part `name` edited (`edit` returning null drops it; optionally one part added), every digest recomputed. */
export function rebundleBytes(bytes, name, edit, extra = null) {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset + 16, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + headerLength)));
  let at = 20 + headerLength;
  const parts = header.parts.map((p) => {
    const part = bytes.subarray(at, at + p.size);
    at += p.size;
    return { name: p.name, data: p.name === name ? edit(part) : part };
  });
  const kept = parts.filter((p) => p.data !== null);
  if (extra) kept.push(extra);
  const digested = kept.map((p) => ({ name: p.name, size: p.data.length, sha256: createHash("sha256").update(p.data).digest("hex") }));
  const head = new TextEncoder().encode(JSON.stringify({ format_version: header.format_version, parts: digested }));
  const out = new Uint8Array(20 + head.length + kept.reduce((n, p) => n + p.data.length, 0));
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(16, head.length, true);
  out.set(head, 20);
  let offset = 20 + head.length;
  for (const p of kept) {
    out.set(p.data, offset);
    offset += p.data.length;
  }
  return out;
}

// Shared by the Node tests: load the wasm package, the shipped bundle and the golden corpus
// (self-contained: its re-ranks, learning runs and error cases carry their own inputs).
import { readFileSync } from "node:fs";
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

export function golden() {
  return JSON.parse(readFileSync(path.join(root, "tests/golden/games.json"), "utf8"));
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

/** Five real Games catalog items, a small slate for the learning and persistence tests. */
export const SLATE = [
  { id: "0", title: "Fire Emblem: The Sacred Stones" },
  { id: "1", title: "GBA 6-Pak Care Case - Game Boy Advance" },
  { id: "2", title: "Super Mario Advance" },
  { id: "3", title: "Metroid Fusion" },
  { id: "4", title: "Pokemon Ruby" },
];

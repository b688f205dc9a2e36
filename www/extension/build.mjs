// Build the unpacked extension into --out (default www/extension/dist): its own files, the
// CPU build of pkg/ (the extension never loads WebGPU: an offscreen document need not have an
// adapter, and the CPU build is a third of the size) and the games model. Load the result
// with chrome://extensions → "Load unpacked", or --load-extension.
//
//   node www/extension/build.mjs [--out DIR]
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const OWN = ["manifest.json", "background.js", "content.js", "offscreen.html", "offscreen.js", "popup.html", "popup.js"];
const PACKAGE = ["pocketrank.js", "methods.js", "cpu"];

/** Build the extension into `out`; returns `out`. */
export function buildExtension(out = path.join(here, "dist")) {
  if (!existsSync(path.join(root, "pkg/cpu"))) throw new Error("pkg/cpu missing: run ./build.sh");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(path.join(out, "pkg"), { recursive: true });
  for (const name of OWN) cpSync(path.join(here, name), path.join(out, name));
  for (const name of PACKAGE) cpSync(path.join(root, "pkg", name), path.join(out, "pkg", name), { recursive: true });
  cpSync(path.join(root, "models/games/model.bundle"), path.join(out, "model.bundle"));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  console.log(`extension built in ${buildExtension(values.out ? path.resolve(values.out) : undefined)}`);
}

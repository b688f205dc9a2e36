// Build the demo shop into --out (default www/shop/dist):
//   site/         the page, bundled by Vite with pocketrank from node_modules (wasm as assets);
//   data/retail/  the retail department's data set, made by `pocketrank convert-retail` from
//                 ../shared/data/retail (read at build time, never committed).
// Needs ./build.sh's pkg/ and the native CLI (setup.sh builds both).
//
//   node www/shop/build.mjs [--out DIR]
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

/** Build the shop into `out`; returns `out`. */
export function buildShop(out = path.join(here, "dist")) {
  // The package as an npm dependency (a `file:` link to pkg/), as a shop would install it.
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--silent"], { cwd: here, stdio: "inherit" });
  const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), ".cache/pocketrank/target");
  const cli = path.join(targetDir, "release/pocketrank");
  if (!existsSync(cli)) throw new Error(`${cli} missing: run ./setup.sh (or cargo build --release --bin pocketrank)`);
  execFileSync(cli, ["convert-retail", "--data", path.join(root, "../shared/data/retail"), "--out", path.join(out, "data/retail")], { stdio: ["ignore", "ignore", "inherit"] });
  const vite = path.join(root, "node_modules/vite/bin/vite.js");
  execFileSync(process.execPath, [vite, "build", here, "--outDir", path.join(out, "site"), "--emptyOutDir", "--logLevel", "warn"], { cwd: here, stdio: "inherit" });
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  console.log(`demo shop built in ${buildShop(values.out ? path.resolve(values.out) : undefined)}`);
}

// The package's TypeScript types compile against a storefront-style usage file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { root } from "./helpers.mjs";

test("pkg/*.d.ts type-check a storefront's calls (tsc --strict)", () => {
  const tsc = path.join(root, "node_modules/typescript/bin/tsc");
  const args = [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler", "--lib", "esnext,dom", path.join(root, "tests/types/usage.ts")];
  try {
    execFileSync(process.execPath, args, { encoding: "utf8" });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});

test("the method list is declared once: the types, the wrapper, the worker and persistence all carry it", async () => {
  const { readFileSync } = await import("node:fs");
  const { METHODS } = await import(path.join(root, "pkg/methods.js"));
  const types = readFileSync(path.join(root, "pkg/pocketrank.d.ts"), "utf8");
  const declared = [...types.slice(types.indexOf("interface PersonalizerMethods")).split("}")[0].matchAll(/^\s+(\w+)\(/gm)].map((m) => m[1]);
  assert.deepEqual(declared, METHODS.map((m) => m.name), "PersonalizerMethods in index.d.ts lists METHODS in order");
  const { Personalizer } = await import(path.join(root, "pkg/pocketrank.js"));
  const { WorkerPersonalizer } = await import(path.join(root, "pkg/worker-client.js"));
  const { PersistentPersonalizer } = await import(path.join(root, "pkg/persist.js"));
  for (const cls of [Personalizer, WorkerPersonalizer, PersistentPersonalizer]) {
    for (const { name } of METHODS) assert.equal(typeof cls.prototype[name], "function", `${cls.name}.${name}`);
  }
});

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

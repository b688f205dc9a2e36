// The whole golden corpus through the wasm package in Node (CPU build): every re-rank in the
// native order with scores within the corpus's tolerance, every learning run to the native
// head, every bad call to the native message and code with the ranking unchanged after it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadPackage, shippedBundle, golden, root } from "./helpers.mjs";
import { replay } from "../golden/replay.mjs";
import { checkReplay } from "../golden/check.mjs";

const { Personalizer } = await loadPackage();

test("golden corpus in Node: re-ranks, learning runs and errors as natively", async () => {
  const corpus = golden();
  const bundle = shippedBundle();
  assert.equal(createHash("sha256").update(bundle).digest("hex"), corpus.modelSha256, "golden corpus made with another model: run `pocketrank golden` again");
  const p = await Personalizer.create(bundle, { backend: "cpu" });
  assert.deepEqual(p.backend, { name: "cpu", reason: "the CPU was asked for" });
  assert.ok(corpus.reranks.length >= 200 && corpus.learning.length >= 4 && corpus.errors.cases.length >= 20);
  const { scores, head } = checkReplay(corpus, await replay(corpus, p));
  console.log(`# Node: ${corpus.reranks.length} re-ranks, ${corpus.learning.length} learning runs, ${corpus.errors.cases.length} errors; largest score difference ${scores.toExponential(2)}, head ${head.toExponential(2)}`);
  await p.free();
});

test("the retail model's golden corpus in Node: its rule terms and why as natively", async () => {
  const corpus = golden("retail");
  const bundle = new Uint8Array(readFileSync(path.join(root, "models/retail/model.bundle")));
  assert.equal(createHash("sha256").update(bundle).digest("hex"), corpus.modelSha256, "made with another model: run `pocketrank golden` again");
  const p = await Personalizer.create(bundle, { backend: "cpu" });
  const { scores, head } = checkReplay(corpus, await replay(corpus, p));
  console.log(`# Node, retail: ${corpus.reranks.length} re-ranks, ${corpus.learning.length} learning runs, ${corpus.errors.cases.length} errors; largest score difference ${scores.toExponential(2)}, head ${head.toExponential(2)}`);
  await p.free();
});

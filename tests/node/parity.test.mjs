// The wasm package (Node, CPU) gives the native order exactly and scores within the corpus's
// tolerance on every golden session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadPackage, shippedBundle, golden, titles, sessionInputs } from "./helpers.mjs";

const { Personalizer } = await loadPackage();

test("golden corpus: same order, scores within tolerance", async () => {
  const corpus = golden();
  const bundle = shippedBundle();
  assert.equal(createHash("sha256").update(bundle).digest("hex"), corpus.modelSha256, "golden corpus made with another model");
  const titleOf = titles(corpus.data);
  const p = await Personalizer.create(bundle, { backend: "cpu" });
  assert.deepEqual(p.backend, { name: "cpu", reason: "the CPU was asked for" });
  assert.ok(corpus.sessions.length >= 200);
  let worst = 0;
  for (const session of corpus.sessions) {
    const { events, candidates, options } = sessionInputs(session, titleOf);
    // A fresh shopper per session: shipped head, no session, no slate to learn from.
    await p.forget();
    for (const e of events) await p.observe(e);
    const ranked = await p.rerank(candidates, options);
    assert.deepEqual(ranked.map((r) => r.id), session.expected.map((e) => e.id), `order differs for user ${session.user}`);
    ranked.forEach((r, i) => {
      worst = Math.max(worst, Math.abs(r.score - session.expected[i].score));
      assert.equal(r.rank, i + 1);
    });
  }
  assert.ok(worst <= corpus.tolerance, `largest score difference ${worst} > ${corpus.tolerance}`);
  console.log(`# ${corpus.sessions.length} sessions, largest score difference ${worst.toExponential(2)}`);
  await p.free();
});

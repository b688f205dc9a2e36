// Behaviour under load through the public API (benches/load.mjs runs the full counts): calls
// fired without awaiting settle in order with the awaited answers; creating and freeing
// personalizers, and re-ranking, do not grow the wasm memory once warm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPackage, shippedBundle, gamesItems, cpuMemory } from "./helpers.mjs";
import { sustained, unawaited, createFree } from "../../benches/load-core.mjs";

const items = gamesItems();
const { Personalizer } = await loadPackage();
const bytes = await cpuMemory();
const bundle = shippedBundle();

test("100 calls fired without awaiting settle in order, answering as awaited ones", async () => {
  const u = await unawaited(Personalizer, bundle, items);
  assert.deepEqual(u, { n: 100, inOrder: true, sameAnswers: true });
});

test("personalizers created and freed, and re-ranks once warm, do not grow the wasm memory", async () => {
  const c = await createFree(Personalizer, bundle, items, { n: 40, memory: bytes });
  assert.ok(c.growthMB <= 1, `create/free: ${JSON.stringify(c)}`);
  const s = await sustained(Personalizer, bundle, items, { calls: 500, warmup: 100, memory: bytes });
  assert.ok(s.sameRanking);
  assert.ok(s.growthMB <= 1, `re-ranks: ${JSON.stringify(s)}`);
});

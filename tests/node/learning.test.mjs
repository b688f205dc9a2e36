// On-device learning through the JS API: a click on a shown item moves that item up, the
// same events give the same head, state round-trips, private updates have the documented shape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPackage, shippedBundle, SLATE } from "./helpers.mjs";

const { Personalizer } = await loadPackage();
const bundle = shippedBundle();

async function played() {
  const p = await Personalizer.create(bundle);
  p.observe({ itemId: "10", type: "view", ts: 1, title: "The Legend of Zelda: The Minish Cap" });
  const before = p.rerank(SLATE);
  p.observe({ itemId: "4", type: "click", ts: 2, title: "Pokemon Ruby" });
  p.observe({ itemId: "4", type: "cart", ts: 3, title: "Pokemon Ruby" });
  const after = p.rerank(SLATE);
  return { p, before, after };
}

test("taking an item raises its score relative to the rest, deterministically", async () => {
  const { p, before, after } = await played();
  const score = (list, id) => list.find((r) => r.id === id).score;
  const margin = (list) => score(list, "4") - Math.max(...list.filter((r) => r.id !== "4").map((r) => r.score));
  // The session also grew, so compare against the frozen model on the same session.
  const frozen = await Personalizer.create(bundle);
  frozen.setLearning({ enabled: false });
  frozen.observe({ itemId: "10", type: "view", ts: 1, title: "The Legend of Zelda: The Minish Cap" });
  frozen.rerank(SLATE);
  frozen.observe({ itemId: "4", type: "click", ts: 2, title: "Pokemon Ruby" });
  frozen.observe({ itemId: "4", type: "cart", ts: 3, title: "Pokemon Ruby" });
  assert.ok(margin(after) > margin(frozen.rerank(SLATE)), "learning moved the taken item up");
  const again = await played();
  assert.deepEqual(again.after, after, "same events, same head, same ranking");
  assert.ok(before.length === 5);
  [p, frozen, again.p].forEach((x) => x.free());
});

test("state exports, imports into a fresh personalizer, and stays small", async () => {
  const { p, after } = await played();
  const state = p.exportState();
  assert.ok(state instanceof Uint8Array);
  assert.ok(state.length <= 64 * 1024, `state is ${state.length} bytes`);
  console.log(`# personal state: ${state.length} bytes`);
  const q = await Personalizer.create(bundle);
  assert.deepEqual(q.importState(state), { restored: true });
  assert.deepEqual(q.rerank(SLATE), after);
  const corrupted = state.slice();
  corrupted[30] ^= 1;
  assert.throws(() => q.importState(corrupted), /personal state rejected: checksum mismatch/);
  assert.equal(q.session().length, 0, "a corrupted import leaves a clean start");
  q.forget();
  [p, q].forEach((x) => x.free());
});

test("private updates: clipped and noised shareable part, tied to the model", async () => {
  const { p } = await played();
  const u = p.exportPrivateUpdate({ clip: 0.05, epsilon: 0.5, delta: 1e-5 });
  assert.equal(u.mechanism, "gaussian");
  assert.equal(u.values.length, 64 + 2);
  assert.match(u.model, /^[0-9a-f]{64}$/); // sha256 of the bundle's weights part
  const v = p.exportPrivateUpdate({ clip: 0.05, epsilon: 0.5, delta: 1e-5 });
  assert.notDeepEqual(u.values, v.values, "fresh noise for every release");
  assert.throws(() => p.exportPrivateUpdate({ clip: 0.05, epsilon: 3, delta: 1e-5 }), /privacy.epsilon: must be in \(0, 1\)/);
  assert.throws(() => p.setLearning({ steps: 0 }), { message: "learning.steps: must be in 1..=20" });
  assert.throws(() => p.setLearning({ learningRate: "fast" }), /^Error: learning.learningRate: invalid type: string "fast"/);
  assert.throws(() => p.exportPrivateUpdate({ clip: 1, epsilon: 0.5 }), /^Error: privacy: missing field `delta`/);
  p.free();
});

// On-device learning through the JS API: a click on a shown item moves that item up, the
// same events give the same head, state round-trips, private updates have the documented shape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPackage, shippedBundle, SLATE } from "./helpers.mjs";

const { Personalizer } = await loadPackage();
const bundle = shippedBundle();

async function played() {
  const p = await Personalizer.create(bundle);
  await p.observe({ itemId: "10", type: "view", ts: 1, title: "The Legend of Zelda: The Minish Cap" });
  const before = await p.rerank(SLATE);
  await p.observe({ itemId: "4", type: "click", ts: 2, title: "Pokemon Ruby" });
  await p.observe({ itemId: "4", type: "cart", ts: 3, title: "Pokemon Ruby" });
  const after = await p.rerank(SLATE);
  return { p, before, after };
}

test("taking an item raises its score relative to the rest, deterministically", async () => {
  const { p, before, after } = await played();
  const score = (list, id) => list.find((r) => r.id === id).score;
  const margin = (list) => score(list, "4") - Math.max(...list.filter((r) => r.id !== "4").map((r) => r.score));
  // The session also grew, so compare against the frozen model on the same session.
  const frozen = await Personalizer.create(bundle);
  await frozen.setLearning({ enabled: false });
  await frozen.observe({ itemId: "10", type: "view", ts: 1, title: "The Legend of Zelda: The Minish Cap" });
  await frozen.rerank(SLATE);
  await frozen.observe({ itemId: "4", type: "click", ts: 2, title: "Pokemon Ruby" });
  await frozen.observe({ itemId: "4", type: "cart", ts: 3, title: "Pokemon Ruby" });
  assert.ok(margin(after) > margin(await frozen.rerank(SLATE)), "learning moved the taken item up");
  const again = await played();
  assert.deepEqual(again.after, after, "same events, same head, same ranking");
  assert.ok(before.length === 5);
  for (const x of [p, frozen, again.p]) await x.free();
});

test("state exports, imports into a fresh personalizer, and stays small", async () => {
  const { p, after } = await played();
  const state = await p.exportState();
  assert.ok(state instanceof Uint8Array);
  assert.ok(state.length <= 64 * 1024, `state is ${state.length} bytes`);
  console.log(`# personal state: ${state.length} bytes`);
  const q = await Personalizer.create(bundle);
  assert.deepEqual(await q.importState(state), { restored: true });
  assert.deepEqual(await q.rerank(SLATE), after);
  const corrupted = state.slice();
  corrupted[30] ^= 1;
  await assert.rejects(q.importState(corrupted), /personal state rejected: checksum mismatch/);
  assert.equal((await q.session()).length, 0, "a corrupted import leaves a clean start");
  await q.forget();
  for (const x of [p, q]) await x.free();
});

test("private updates: clipped and noised shareable part, tied to the model", async () => {
  const { p } = await played();
  const u = await p.exportPrivateUpdate({ clip: 0.05, epsilon: 0.5, delta: 1e-5 });
  assert.equal(u.mechanism, "gaussian");
  assert.equal(u.values.length, 64 + 2);
  assert.match(u.model, /^[0-9a-f]{64}$/); // sha256 of the bundle's weights part
  const v = await p.exportPrivateUpdate({ clip: 0.05, epsilon: 0.5, delta: 1e-5 });
  assert.notDeepEqual(u.values, v.values, "fresh noise for every release");
  await assert.rejects(p.exportPrivateUpdate({ clip: 0.05, epsilon: 300, delta: 1e-5 }), /privacy.epsilon: must be in \(0, 100\]/);
  await assert.rejects(p.setLearning({ steps: 0 }), { message: "learning.steps: must be in 1..=20" });
  await assert.rejects(p.setLearning({ learningRate: "fast" }), /^Error: learning.learningRate: invalid type: string "fast"/);
  await assert.rejects(p.exportPrivateUpdate({ clip: 1, epsilon: 0.5 }), /^Error: privacy: missing field `delta`/);
  await p.free();
});

test("stateSummary says what the device keeps: events by type, how far the head moved; forget empties it", async () => {
  const { p } = await played();
  const summary = await p.stateSummary();
  assert.deepEqual(summary.byType, { view: 1, click: 1, cart: 1, purchase: 0 });
  assert.equal(summary.events, 3);
  assert.ok(summary.headChange > 0, `learning moved the head: ${summary.headChange}`);
  assert.equal(summary.stateBytes, (await p.exportState()).length);
  assert.equal(summary.learning, true);
  await p.forget();
  const forgotten = await p.stateSummary();
  assert.deepEqual([forgotten.events, forgotten.headChange], [0, 0], "forget leaves nothing personal");
  const frozen = await Personalizer.create(bundle);
  await frozen.setLearning({ enabled: false });
  await frozen.observe({ itemId: "4", type: "click", ts: 2, title: "Pokemon Ruby" });
  await frozen.rerank(SLATE);
  assert.equal((await frozen.stateSummary()).headChange, 0, "a frozen head does not move");
  for (const x of [p, frozen]) await x.free();
});

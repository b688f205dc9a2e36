// Bad bundles and bad inputs reach JS as real Errors that name the problem; none of them
// kills the module (the personalizer keeps working afterwards).
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPackage, shippedBundle } from "./helpers.mjs";

const { Personalizer } = await loadPackage();
const bundle = shippedBundle();

test("a truncated bundle is refused", async () => {
  await assert.rejects(Personalizer.create(bundle.slice(0, bundle.length - 7)), (e) => e instanceof Error && /model bundle rejected: size mismatch/.test(e.message));
  await assert.rejects(Personalizer.create(bundle.slice(0, 12)), (e) => e instanceof Error && /model bundle rejected/.test(e.message));
});

test("a tampered bundle is refused", async () => {
  const tampered = bundle.slice();
  // A byte in the middle of weights.bpk: after the magic, the header and config.json.
  const headerLength = new DataView(bundle.buffer, bundle.byteOffset + 16, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bundle.subarray(20, 20 + headerLength)));
  const size = (name) => header.parts.find((p) => p.name === name).size;
  tampered[20 + headerLength + size("config.json") + Math.floor(size("weights.bpk") / 2)] ^= 1;
  await assert.rejects(Personalizer.create(tampered), (e) => e instanceof Error && e.message.includes("'weights.bpk' fails its sha256 check"));
});

test("bad inputs name the field, and the personalizer survives them", async () => {
  const p = await Personalizer.create(bundle);
  await assert.rejects(p.observe({ itemId: "1", type: "like", ts: 1 }), (e) => e instanceof Error && e.message.startsWith('event.type: unknown event type "like"'));
  await assert.rejects(p.observe({ type: "view", ts: 1 }), { message: "event.itemId: missing" });
  await assert.rejects(p.rerank([{ id: "1", title: "a" }, { id: "", title: "b" }]), { message: "candidates[1].id: empty" });
  await assert.rejects(p.rerank([{ id: "1", title: "a", serverScore: "x" }]), { message: "candidates[0].serverScore: expected a number, got a string" });
  await assert.rejects(p.rerank("nope"), { message: "candidates: expected an array, got a string" });
  await assert.rejects(p.rerank([{ id: 1, title: "a" }], { serverOrder: 3 }), { message: "options.serverOrder: expected a boolean, got a number" });
  await assert.rejects(Personalizer.create(bundle, { backend: "tpu" }), /options.backend/);
  // Still alive and consistent after every error above.
  await assert.rejects(Personalizer.create(bundle, { backend: "webgpu" }), /options.backend: "webgpu" was asked for, but this browser has no WebGPU/);
  await p.observe({ itemId: 0, type: "view", ts: 1, title: "Fire Emblem: The Sacred Stones" });
  const ranked = await p.rerank([{ id: 1, title: "GBA 6-Pak Care Case - Game Boy Advance" }, { id: "2", title: "Zelda" }]);
  assert.deepEqual(ranked.map((r) => r.id).sort(), ["1", "2"]);
  assert.deepEqual((await p.session()).map((e) => e.itemId), ["0"]);
  await p.free();
});

test("an empty session keeps the server's order", async () => {
  const p = await Personalizer.create(bundle);
  const ranked = await p.rerank([{ id: "10", title: "x" }, { id: "11", title: "y" }, { id: "12", title: "z" }]);
  assert.deepEqual(ranked.map((r) => [r.id, r.rank, r.serverRank]), [["10", 1, 1], ["11", 2, 2], ["12", 3, 3]]);
  await p.free();
});

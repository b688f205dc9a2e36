// Rows of the README's bad-input contract that the golden corpus cannot carry (damaged bundles
// and states, limits a page sets), each a table of cases through the public JS API. The Rust
// side of each row is named the same way (`contract: <row>`); tests/contract.rs checks that
// every row has its tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadPackage, shippedBundle, SLATE, rebundleBytes } from "./helpers.mjs";

const { Personalizer } = await loadPackage();
const bundle = shippedBundle();

/** `bytes` with `find` (text, same length as `replace`) replaced once. */
function replaced(bytes, find, replace) {
  const text = new TextDecoder("latin1").decode(bytes);
  const at = text.indexOf(find);
  assert.ok(at >= 0 && find.length === replace.length, find);
  const out = bytes.slice();
  out.set(new TextEncoder().encode(replace), at);
  return out;
}

/** The offset of part `name`'s bytes in the bundle. */
function partOffset(bytes, name) {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset + 16, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + headerLength)));
  let at = 20 + headerLength;
  for (const p of header.parts) {
    if (p.name === name) return at;
    at += p.size;
  }
  throw new Error(`no part ${name}`);
}

const withByte = (bytes, at, xor) => {
  const out = bytes.slice();
  out[at] ^= xor;
  return out;
};

// contract: bundle-damaged
const DAMAGED_BUNDLES = [
  ["empty", new Uint8Array(0), /^model bundle rejected: not a pocketrank bundle \(bad magic bytes\)$/],
  ["wrong magic", withByte(bundle, 0, 0x20), /bad magic bytes/],
  ["another format version", replaced(bundle, '"format_version":3', '"format_version":9'), /format version 9 is not supported by this build/],
  ["truncated", bundle.subarray(0, bundle.length - 7), /size mismatch: the header declares \d+ bytes of parts, the file has \d+/],
  ["trailing bytes", new Uint8Array([...bundle, 0, 0]), /size mismatch/],
  ["a part failing its sha256", withByte(bundle, partOffset(bundle, "catalog.txt") + 3, 1), /part 'catalog.txt' fails its sha256 check/],
  ["an unknown part", replaced(bundle, '"tokenizer.json"', '"xokenizer.json"'), /part 'xokenizer.json' is not one this build knows/],
  ["a missing part", rebundleBytes(bundle, "catalog.txt", () => null), /missing part 'catalog.txt'/],
];

test("damaged bundles are refused with code bundle, the page's personalizer untouched (contract: bundle-damaged)", async () => {
  const p = await Personalizer.create(bundle);
  await p.observe({ itemId: "3", type: "view", ts: 1 });
  const before = await p.rerank(SLATE);
  for (const [what, bytes, pattern] of DAMAGED_BUNDLES) {
    await assert.rejects(Personalizer.create(bytes), (e) => {
      assert.ok(e instanceof Error, what);
      assert.equal(e.code, "bundle", `${what}: ${e.message}`);
      assert.match(e.message, pattern, what);
      return true;
    });
    assert.deepEqual(await p.rerank(SLATE), before, `${what}: the loaded personalizer ranks as before`);
  }
  await p.free();
});

/** A state with its trailing sha256 recomputed after `edit`: intact, but not this build's or model's. */
function resealed(state, edit) {
  const body = state.slice(0, state.length - 32);
  edit(new DataView(body.buffer, body.byteOffset, body.byteLength));
  const out = new Uint8Array(state.length);
  out.set(body);
  out.set(createHash("sha256").update(body).digest(), body.length);
  return out;
}

test("damaged or foreign states: an error or a discard, and always a clean start (contract: state-damaged, contract: state-other)", async () => {
  const p = await Personalizer.create(bundle);
  const clean = await p.rerank(SLATE);
  await p.observe({ itemId: "3", type: "cart", ts: 1, title: "Metroid Fusion" });
  const state = await p.exportState();
  const cases = [
    ["flipped byte", withByte(state, 50, 0x10), { error: /^personal state rejected: checksum mismatch \(corrupted or truncated\); starting clean$/ }],
    ["truncated", state.subarray(0, state.length - 5), { error: /checksum mismatch/ }],
    ["empty", new Uint8Array(0), { error: /^personal state rejected: too short; starting clean$/ }],
    ["over the limit", new Uint8Array((4 << 20) + 1), { error: /^state: 4194305 bytes, at most 4194304 are accepted$/ }],
    ["a newer format", resealed(state, (v) => v.setUint32(8, 3, true)), { discard: "state format 3, this build reads 1 and 2" }],
    ["another model's", resealed(state, (v) => v.setUint8(12, v.getUint8(12) ^ 1)), { discard: "state was learned on another model" }],
  ];
  for (const [what, bytes, outcome] of cases) {
    await p.importState(state);
    assert.equal((await p.session()).length, 1, `${what}: the good state restores first`);
    if (outcome.error) {
      await assert.rejects(p.importState(bytes), (e) => e instanceof Error && e.code === "invalid-input" && outcome.error.test(e.message), what);
    } else {
      assert.deepEqual(await p.importState(bytes), { restored: false, reason: outcome.discard }, what);
    }
    assert.equal((await p.session()).length, 0, `${what}: a clean start`);
    assert.deepEqual(await p.rerank(SLATE), clean, `${what}: ranks as the shipped model`);
  }
  await p.free();
});

test("limits a page sets are enforced, and a refused setting changes nothing (contract: limits-enforced)", async () => {
  const p = await Personalizer.create(bundle, { limits: { candidates: 2, titleChars: 16, events: 3 } });
  for (let i = 0; i < 5; i++) await p.observe({ itemId: String(i), type: "view", ts: i, title: "Collector's Edition Bundle" });
  const session = await p.session();
  assert.deepEqual(session.map((e) => e.itemId), ["2", "3", "4"], "the newest `events` kept");
  assert.equal(session[0].title, "Collector's Edit", "titles cut to `titleChars`");
  const two = SLATE.slice(0, 2);
  const ranked = await p.rerank(two);
  await assert.rejects(p.rerank(SLATE.slice(0, 3)), (e) => e.code === "invalid-input" && e.message === "candidates: 3 candidates, at most 2 are accepted");
  assert.deepEqual(await p.rerank(two), ranked, "the ranking is unchanged after the refusal");
  await p.setLimits({ events: 1, candidates: 2 });
  assert.equal((await p.session()).length, 1, "a tighter event limit drops the oldest events at once");
  await assert.rejects(p.setLimits({ events: 0 }), (e) => e.code === "invalid-input" && e.message === "limits.events: must be in 1..=1000");
  await p.observe({ itemId: "9", type: "view", ts: 9 });
  assert.equal((await p.session()).length, 1, "the refused setting left the limit at 1");
  await assert.rejects(Personalizer.create(bundle, { limits: { bundleBytes: 1024 } }), (e) => e.code === "invalid-input" && /^bundle: \d+ bytes, at most 1024 are accepted$/.test(e.message));
  await assert.rejects(Personalizer.create(bundle, { limits: { candidates: 1e9 } }), (e) => e.message === "options.limits.candidates: must be in 1..=10000");
  await p.free();
});

// A hostile but realistic caller, through the public JS API (the defects of the hardening
// issue, each a regression test): values a JSON file cannot carry (throwing getters, cycles,
// NaN, lone surrogates, huge or wrong-typed arguments). Each is a clear Error with a code,
// and afterwards the personalizer ranks exactly as before.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadPackage, shippedBundle, SLATE, appendPart, rebundleBytes } from "./helpers.mjs";

const { Personalizer } = await loadPackage();
const bundle = shippedBundle();

async function shopper() {
  const p = await Personalizer.create(bundle);
  await p.observe({ itemId: "10", type: "view", ts: 1, title: "The Legend of Zelda: The Minish Cap" });
  return p;
}

/** `call` rejects with an Error of code invalid-input whose message matches `pattern`, and the ranking is unchanged. */
async function refused(p, call, pattern) {
  const before = await p.rerank(SLATE);
  await assert.rejects(call(), (e) => {
    assert.ok(e instanceof Error, "a real Error");
    assert.equal(e.code, "invalid-input", e.message);
    assert.match(e.message, pattern);
    return true;
  });
  assert.deepEqual(await p.rerank(SLATE), before, "the ranking is unchanged after the error");
}

test("a getter that throws is an error naming the field, and never hangs the queue (contract: js-values)", async () => {
  const p = await shopper();
  const evil = { id: "1", get title() { throw new Error("boom"); } };
  await refused(p, () => p.rerank([evil]), /^candidates\[0\]\.title: reading it threw: boom$/);
  // Repeated well past where the module used to corrupt its memory (2,114 calls).
  const event = { itemId: "1", type: "view", get ts() { throw new Error("no clock"); } };
  for (let i = 0; i < 3000; i++) await assert.rejects(p.observe(event), /event\.ts: reading it threw: no clock/);
  assert.equal((await p.session()).length, 1);
  assert.equal((await Personalizer.create(bundle)).backend.name, "cpu", "a new personalizer in the same module still starts");
  await p.free();
});

test("cycles and deep nesting are errors, not a dead module (contract: js-values)", async () => {
  const p = await shopper();
  const self = { id: "1", title: "x" };
  self.self = self;
  await refused(p, () => p.rerank([self]), /^candidates\[0\]\.self(\.self)*: nested deeper than 16 levels/);
  let deep = [];
  for (let i = 0; i < 4000; i++) deep = [deep];
  await refused(p, () => p.observe({ itemId: "1", type: "view", ts: 2, extra: deep }), /^event\.extra(\[0\])+: nested deeper than 16 levels/);
  await p.free();
});

test("NaN, Infinity and numbers beyond f32 are refused, and a click never poisons the head (contract: non-finite)", async () => {
  const p = await shopper();
  await refused(p, () => p.rerank([{ id: "1", title: "a", serverScore: NaN }]), /^candidates\[0\]\.serverScore: NaN is not a finite number$/);
  await refused(p, () => p.rerank([{ id: "1", title: "a", price: -Infinity }]), /^candidates\[0\]\.price: -inf is not a finite number$/);
  await refused(p, () => p.observe({ itemId: "1", type: "view", ts: NaN }), /^event\.ts: NaN is not a finite number$/);
  await refused(p, () => p.rerank([{ id: "1", title: "a", serverScore: 1e39 }]), /^candidates\[0\]\.serverScore: outside the range of a 32-bit float/);
  // The largest accepted score, then a click on that slate: the head stays finite.
  await p.rerank(SLATE.map((c, i) => ({ ...c, serverScore: i === 0 ? 3e38 : 1 })));
  await p.observe({ itemId: SLATE[0].id, type: "click", ts: 3 });
  const scores = (await p.rerank(SLATE)).map((r) => r.score);
  assert.ok(scores.every(Number.isFinite), `${scores}`);
  const q = await Personalizer.create(bundle);
  assert.deepEqual(await q.importState(await p.exportState()), { restored: true }, "the saved state is usable");
  await p.free();
  await q.free();
});

test("strings that are not Unicode, ids a number cannot hold exactly (contract: lone-surrogate)", async () => {
  const p = await shopper();
  await refused(p, () => p.rerank([{ id: "a\uD800", title: "x" }, { id: "a\uDBFF", title: "y" }]), /^candidates\[0\]\.id: not valid Unicode \(a lone surrogate\)/);
  await refused(p, () => p.rerank([{ id: 2 ** 53 + 2, title: "x" }]), /^candidates\[0\]\.id: a number id must be a safe integer/);
  const ranked = await p.rerank([{ id: 2 ** 53 - 1, title: "x" }, { id: 7, title: "y" }]);
  assert.deepEqual(ranked.map((r) => r.id).sort(), ["7", "9007199254740991"]);
  await refused(p, () => p.rerank([{ id: "1", title: "x", tag: Symbol("s") }]), /^candidates\[0\]\.tag: a symbol is not accepted here$/);
  await refused(p, () => p.rerank([{ id: "1", title: "x" }], { serverOrder: () => true }), /^options\.serverOrder: a function is not accepted here$/);
  await p.free();
});

test("bundle and state arguments: bytes of any view, or a clear error (and a clean start) (contract: bundle-bytes, contract: state-damaged)", async () => {
  const viaBuffer = await Personalizer.create(bundle.buffer.slice(bundle.byteOffset, bundle.byteOffset + bundle.byteLength));
  assert.equal(viaBuffer.backend.name, "cpu", "an ArrayBuffer, as fetch().arrayBuffer() gives, is accepted");
  const viaView = await Personalizer.create(new DataView(bundle.buffer, bundle.byteOffset, bundle.byteLength));
  await assert.rejects(Personalizer.create({ length: 2 ** 31 }), (e) => e.code === "invalid-input" && /^bundle: expected bytes/.test(e.message));
  await assert.rejects(Personalizer.create("model.bundle"), /^Error: bundle: expected bytes \(a Uint8Array, another typed array or an ArrayBuffer\), got string/);
  const p = await shopper();
  const state = await p.exportState();
  for (const bad of [null, { length: -1 }, 42]) {
    await p.importState(state);
    assert.equal((await p.session()).length, 1);
    await assert.rejects(p.importState(bad), (e) => e.code === "invalid-input" && /^state: expected bytes/.test(e.message));
    assert.equal((await p.session()).length, 0, `importState(${JSON.stringify(bad)}) leaves a clean start`);
  }
  for (const x of [viaBuffer, viaView, p]) await x.free();
});

test("1 MB titles are cut: a fast re-rank and a small state", async () => {
  const p = await Personalizer.create(bundle);
  const huge = "Deluxe ".repeat(150_000);
  for (let i = 0; i < 50; i++) await p.observe({ itemId: String(i), type: "view", ts: i, title: huge });
  const started = performance.now();
  await p.rerank(SLATE.map((c) => ({ ...c, title: huge })));
  const ms = performance.now() - started;
  const state = await p.exportState();
  assert.ok(state.length < 64 * 1024, `state ${state.length} bytes`);
  assert.equal((await p.session())[0].title.length, 512);
  console.log(`# 50 events and 5 candidates with 1 MB titles: re-rank ${ms.toFixed(0)} ms, state ${state.length} bytes`);
  await p.free();
});

test("privacy settings whose noise would overflow are refused", async () => {
  const p = await shopper();
  await refused(p, () => p.exportPrivateUpdate({ clip: 1e30, epsilon: 0.5, delta: 1e-6 }), /^privacy: the noise scale .* is too large/);
  await p.free();
});

/** `bundle` with its part `name` replaced and every digest recomputed: passes the framing checks. */
function rebundle(name, edit) {
  return rebundleBytes(bundle, name, edit);
}

test("a bundle with correct sums but impossible values is refused, never a trap (contract: bundle-values)", async () => {
  const config = (edit) => rebundle("config.json", (bytes) => {
    const c = JSON.parse(new TextDecoder().decode(bytes));
    edit(c);
    return new TextEncoder().encode(JSON.stringify(c));
  });
  await assert.rejects(Personalizer.create(config((c) => (c.session.dropout = 5))), (e) => e.code === "bundle" && e.message === "model bundle rejected: config.json: session.dropout 5 is outside [0, 1)");
  await assert.rejects(Personalizer.create(config((c) => (c.item.vocab_size = 10))), (e) => e.code === "bundle" && /tokenizer has \d+ tokens with ids up to \d+, the model's token table only 10 rows/.test(e.message));
  const tokenizer = rebundle("tokenizer.json", (bytes) => {
    const t = JSON.parse(new TextDecoder().decode(bytes));
    t.model.vocab["zzzz"] = 1_000_000;
    return new TextEncoder().encode(JSON.stringify(t));
  });
  await assert.rejects(Personalizer.create(tokenizer), (e) => e.code === "bundle" && /ids up to 1000000/.test(e.message));
  assert.equal((await Personalizer.create(rebundle("config.json", (b) => b))).backend.name, "cpu", "the helper itself makes loadable bundles");
});

/** What the publisher signs (src/bundle/mod.rs, `signed_message`): sha256 of a label and each other part's name and sha256. */
function signedMessage(bytes) {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset + 16, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + headerLength)));
  const hash = createHash("sha256").update("pocketrank bundle signature v1\n");
  for (const p of header.parts.filter((p) => p.name !== "signature.ed25519")) hash.update(`${p.name}\n${p.sha256}\n`);
  return hash.digest();
}

test("a pinned publisher key: signed bundles load, altered or unsigned ones are refused (contract: bundle-signature)", async () => {
  const { generateKeyPairSync, sign } = await import("node:crypto");
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const hex = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url").toString("hex");
  // Signed here with Node's own Ed25519 (OpenSSL), verified in the wasm with ed25519-dalek.
  const withSignature = (bytes) => appendPart(bytes, "signature.ed25519", new Uint8Array(sign(null, signedMessage(bytes), privateKey)));
  const signed = withSignature(bundle);
  const p = await Personalizer.create(signed, { publicKey: hex });
  assert.equal(p.backend.name, "cpu");
  await assert.rejects(Personalizer.create(bundle, { publicKey: hex }), (e) => e.code === "bundle" && e.message === "model bundle rejected: it carries no signature.ed25519 part, and the page pins a publisher key");
  // Other weights with every sha256 recomputed: the framing passes, the signature does not.
  const altered = rebundleBytes(signed, "weights.bpk", (b) => { const c = b.slice(); c[c.length >> 1] ^= 1; return c; });
  await assert.rejects(Personalizer.create(altered, { publicKey: hex }), (e) => e.code === "bundle" && /does not match the pinned publisher key/.test(e.message));
  assert.equal((await Personalizer.create(altered)).backend.name, "cpu", "without a pinned key only the sums are checked");
  await assert.rejects(Personalizer.create(signed, { publicKey: "abc" }), /options.publicKey: expected 64 hex digits/);
  await p.free();
});

test("a property set to undefined is absent, on the fast path and the careful one alike", async () => {
  const p = await shopper();
  const plain = await p.rerank(SLATE);
  assert.deepEqual(await p.rerank(SLATE.map((c) => ({ ...c, price: undefined })), { serverOrder: undefined }), plain);
  // A NaN elsewhere in the argument sends it down the careful path: still absent there.
  await assert.rejects(p.rerank(SLATE.map((c, i) => ({ ...c, price: undefined, serverScore: i === 4 ? NaN : undefined }))), /^Error: candidates\[4\]\.serverScore: NaN is not a finite number$/);
  const q = await Personalizer.create(bundle, { limits: undefined, publicKey: undefined });
  const t = q.loadTimings;
  assert.ok([t.wasmMs, t.verifyMs, t.loadMs, t.backendMs].every((ms) => Number.isFinite(ms) && ms >= 0), JSON.stringify(t));
  for (const x of [p, q]) await x.free();
});

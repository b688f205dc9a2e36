// The retail model's association rules through the public JS API: `complements(k)` for a cart,
// the rule term in `rerank`, bad `k` values, and a damaged rule table (README contract rows
// `count-k` and `bundle-rules`; the Rust side: tests/retail.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadPackage, rebundleBytes, root } from "./helpers.mjs";

const { Personalizer } = await loadPackage();
const bundle = new Uint8Array(readFileSync(path.join(root, "models/retail/model.bundle")));

/** Part `name`'s bytes. */
function part(bytes, name) {
  let out = null;
  rebundleBytes(bytes, name, (data) => ((out = data.slice()), data));
  return out;
}

/** The first rule of rules.bin (layout: src/relations/rules.rs) as catalog ids. */
function firstRule() {
  const ids = new TextDecoder().decode(part(bundle, "catalog.txt")).split("\n");
  const table = part(bundle, "rules.bin");
  let at = 36;
  const row = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = table[at++];
      value += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return value;
    }
  };
  const length = table[at++];
  const antecedent = Array.from({ length }, row);
  const consequent = row();
  return { antecedent: antecedent.map((r) => ids[r - 1]), consequent: ids[consequent - 1] };
}

test("complements(k) proposes the cart's complements, best first, never what is in the cart", async () => {
  const p = await Personalizer.create(bundle, { backend: "cpu" });
  const rule = firstRule();
  assert.deepEqual(await p.complements(3), [], "an empty cart");
  for (const [i, id] of rule.antecedent.entries()) await p.observe({ itemId: id, type: "cart", ts: i });
  const proposed = await p.complements(50);
  assert.ok(proposed.length > 0 && proposed.length <= 50);
  assert.ok(proposed.some((c) => c.id === rule.consequent), JSON.stringify(rule));
  for (const c of proposed) {
    assert.ok(!rule.antecedent.includes(c.id));
    assert.ok(c.because.every((b) => rule.antecedent.includes(b)));
    assert.ok(c.confidence > 0 && c.confidence <= 1 && c.lift > 0 && c.support > 0);
  }
  for (let i = 1; i < proposed.length; i++) assert.ok(proposed[i - 1].confidence >= proposed[i].confidence);
  // The rule term lifts the consequent over the same item without the cart.
  const candidates = [{ id: rule.consequent, title: "" }, { id: "no-such-item", title: "" }];
  const withCart = (await p.rerank(candidates)).find((r) => r.id === rule.consequent).score;
  await p.clearSession();
  for (const [i, id] of rule.antecedent.entries()) await p.observe({ itemId: id, type: "view", ts: i });
  const viewed = (await p.rerank(candidates)).find((r) => r.id === rule.consequent).score;
  assert.ok(withCart > viewed, `${withCart} > ${viewed}`);
  assert.deepEqual(await p.complements(5), [], "views are not a cart");
  // Explained, the cart's rule is named: leaving out a cart event of the antecedent takes the rule term away.
  await p.clearSession();
  for (const [i, id] of rule.antecedent.entries()) await p.observe({ itemId: id, type: "cart", ts: i });
  const explained = (await p.rerank(candidates, { explain: true })).find((r) => r.id === rule.consequent);
  const ruleTerms = explained.why.filter((w) => w.kind === "rule");
  assert.ok(ruleTerms.length > 0 && ruleTerms.every((w) => rule.antecedent.includes(w.itemId) && w.weight > 0), JSON.stringify(explained.why));
  await p.free();
});

// contract: count-k
test("a bad k is an error naming it", async () => {
  const p = await Personalizer.create(bundle, { backend: "cpu" });
  for (const [k, message] of [[-1, "k: must be an integer in 0..=1000"], [1.5, "k: must be an integer in 0..=1000"], [1001, "k: must be an integer in 0..=1000"], ["3", "k: expected a number, got a string"], [NaN, "k: NaN is not a finite number"], [undefined, "k: expected a number, got null"]]) {
    await assert.rejects(p.complements(k), (e) => e.message === message && e.code === "invalid-input", String(k));
  }
  assert.deepEqual(await p.complements(0), []);
  await p.free();
});

// contract: bundle-rules
test("a damaged rule table is refused with code bundle", async () => {
  const cases = [
    ["truncated", rebundleBytes(bundle, "rules.bin", (t) => t.subarray(0, t.length - 3)), "rules.bin: truncated"],
    ["another catalog", rebundleBytes(bundle, "rules.bin", (t) => { const o = t.slice(); o[0] ^= 1; return o; }), "built for another catalog"],
    ["trailing bytes", rebundleBytes(bundle, "rules.bin", (t) => new Uint8Array([...t, 7])), "bytes after the last rule"],
    ["a weight without its table", rebundleBytes(bundle, "rules.bin", () => null), "head.rule_weight 16 needs a finite value and the rules.bin part"],
  ];
  for (const [name, bytes, message] of cases) {
    await assert.rejects(Personalizer.create(bytes, { backend: "cpu" }), (e) => e.code === "bundle" && e.message.includes(message), name);
  }
});

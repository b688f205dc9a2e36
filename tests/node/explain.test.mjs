// Explanations through the public JS API: `explain` gives the top items a `why` whose event
// terms point at the session's own events, and leaving the first-named event out of the
// session (replayed without it) lowers the item's score by what the explanation says, more
// than leaving out any event it does not name. Parity with the native answers: the golden
// corpus (tests/node/golden.test.mjs); faithfulness over many sessions: tests/explain.rs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gamesItems, loadPackage, shippedBundle } from "./helpers.mjs";

const { Personalizer } = await loadPackage();
const items = gamesItems(60);
const session = items.slice(0, 8).map((it, i) => ({ itemId: it.id, type: ["view", "click", "cart"][i % 3], ts: i, title: it.title }));
const candidates = items.slice(8, 48);

async function scoresWithout(p, left) {
  await p.clearSession();
  for (const [i, e] of session.entries()) if (i !== left) await p.observe(e);
  return new Map((await p.rerank(candidates)).map((r) => [r.id, r.score]));
}

test("explain names session events, and leaving the first one out costs what it says", async () => {
  const p = await Personalizer.create(shippedBundle(), { backend: "cpu" });
  await p.setLearning({ enabled: false });
  for (const e of session) await p.observe(e);
  const ranked = await p.rerank(candidates, { explain: true });
  assert.equal(ranked.filter((r) => r.why).length, 10, "the top 10 explained");
  assert.ok(ranked.slice(0, 10).every((r) => r.why) && ranked.slice(10).every((r) => r.why === undefined));
  const kinds = new Set(["session-item", "transition", "rule", "server", "repeat"]);
  const stored = await p.session();
  for (const r of ranked.slice(0, 10)) {
    assert.ok(r.why.every((w) => kinds.has(w.kind) && Number.isFinite(w.weight)), JSON.stringify(r.why));
    assert.equal(r.why.at(-1).kind, "server");
    for (const w of r.why.filter((w) => w.eventIndex !== undefined)) assert.equal(stored[w.eventIndex].itemId, w.itemId);
  }
  const top = ranked[0];
  const full = new Map(ranked.map((r) => [r.id, r.score]));
  const first = top.why[0].eventIndex;
  const named = new Set(top.why.map((w) => w.eventIndex).filter((i) => i !== undefined));
  const drops = [];
  for (let i = 0; i < session.length; i++) drops.push(full.get(top.id) - (await scoresWithout(p, i)).get(top.id));
  const said = top.why.filter((w) => w.eventIndex === first).reduce((a, w) => a + w.weight, 0);
  assert.ok(Math.abs(drops[first] - said) < 1e-3, `drop ${drops[first]} vs ${said}`);
  drops.forEach((d, i) => named.has(i) || assert.ok(drops[first] >= d - 1e-4, `event ${i} takes ${d} > ${drops[first]}`));
  await p.free();
});

// contract: options
test("bad explain and diversity values are errors naming the field", async () => {
  const p = await Personalizer.create(shippedBundle(), { backend: "cpu" });
  const one = [{ id: "1", title: "t" }];
  for (const [options, message] of [
    [{ explain: "yes" }, "options.explain: expected a boolean or a count, got a string"],
    [{ explain: -1 }, "options.explain: must be an integer in 0..=1000000"],
    [{ diversity: 1.5 }, "options.diversity: must be in [0, 1]"],
    [{ diversity: "some" }, "options.diversity: expected a number, got a string"],
  ]) {
    await assert.rejects(p.rerank(one, options), (e) => e instanceof Error && e.message === message && e.code === "invalid-input", JSON.stringify(options));
  }
  await p.free();
});

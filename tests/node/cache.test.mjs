// Caching changes no result, through the JS API: with caches on (the default) and off
// (`limits: {itemCache: 0}`, every call recomputed) the golden corpus replays to the same
// answers, and an interleaved script (events, re-ranks, takes that learn, setLearning,
// exportState/importState, clearSession, forget) answers alike after every step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPackage, shippedBundle, golden, gamesItems } from "./helpers.mjs";
import { replay } from "../golden/replay.mjs";

const { Personalizer } = await loadPackage();
const bundle = shippedBundle();
const OFF = { limits: { itemCache: 0 } };

function assertSame(a, b, where) {
  assert.deepEqual(a.map((r) => r.id), b.map((r) => r.id), `order: ${where}`);
  const worst = Math.max(0, ...a.map((r, i) => Math.abs(r.score - b[i].score)));
  assert.ok(worst <= 1e-6, `${where}: cached and recomputed scores differ by ${worst}`);
  return worst;
}

test("the golden corpus replays alike with caches on and off", async () => {
  const corpus = golden();
  const [on, off] = [await Personalizer.create(bundle), await Personalizer.create(bundle, OFF)];
  const [a, b] = [await replay(corpus, on), await replay(corpus, off)];
  let worst = 0;
  a.reranks.forEach((r, i) => (worst = Math.max(worst, assertSame(r, b.reranks[i], corpus.reranks[i].name))));
  a.learning.forEach((run, i) => {
    run.answers.forEach((r, j) => (worst = Math.max(worst, assertSame(r, b.learning[i].answers[j], `${corpus.learning[i].name} ${j}`))));
    assert.deepEqual(run.head, b.learning[i].head, corpus.learning[i].name);
  });
  assert.deepEqual(a.errors, b.errors);
  console.log(`# caches on vs off over the golden corpus: largest score difference ${worst}`);
  await on.free();
  await off.free();
});

test("an interleaved script answers alike with caches on and off after every step", async () => {
  const items = gamesItems();
  const home = items.slice(50, 150);
  const category = items.slice(90, 150).concat(items.slice(0, 20));
  const on = await Personalizer.create(bundle);
  const off = await Personalizer.create(bundle, OFF);
  const both = async (call, ...args) => [await on[call](...args), await off[call](...args)];
  const check = async (what, slate) => {
    const [a, b] = await both("rerank", slate);
    assertSame(a, b, what);
  };
  await check("an empty session", home);
  for (let i = 0; i < 8; i++) {
    await both("observe", { itemId: items[i].id, type: "view", ts: i, title: items[i].title });
    await check(`view ${i}`, i % 2 ? home : category);
    await check(`view ${i}, warm`, home);
  }
  for (const [i, k] of [3, 17, 40].entries()) {
    await both("observe", { itemId: home[k].id, type: "click", ts: 20 + i });
    await check(`take ${i}`, home);
  }
  await both("setLearning", { every: 2 });
  await both("observe", { itemId: home[5].id, type: "cart", ts: 30 });
  await check("setLearning, cart", category);
  const [state] = await both("exportState");
  await both("clearSession");
  await check("clearSession", home);
  await both("importState", state);
  await check("importState", home);
  await both("forget");
  await check("forget", home);
  await on.setLimits({ itemCache: 16 });
  await check("a cache smaller than the list", home);
  await on.free();
  await off.free();
});

// The timing loop shared by the Node bench (benches/wasm.mjs) and the browser bench page
// (www/bench.html): performance.now() around real calls of the public API.

export const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/**
 * `items`: at least 150 `{id, title}`; the first 50 become a 50-event session, the next 100
 * the candidates. `options`: what `Personalizer.create` takes, plus `runs` (timed re-ranks,
 * default 100) and `probe` (returns counters, e.g. GPU calls; reported per timed re-rank). Returns create (wasm fetch + instantiate + bundle verify + load + backend
 * choice), first re-rank, p50/p95 re-rank, learning-step timings (ms) and the state size.
 */
export async function measure(Personalizer, bundle, items, options = {}) {
  const { runs = 100, probe = () => ({}), ...createOptions } = options;
  let t = performance.now();
  const p = await Personalizer.create(bundle, createOptions);
  const createMs = performance.now() - t;
  for (const [i, it] of items.slice(0, 50).entries()) await p.observe({ itemId: it.id, type: "view", ts: i, title: it.title });
  const candidates = items.slice(50, 150);
  t = performance.now();
  await p.rerank(candidates);
  const firstMs = performance.now() - t;
  const rerank = [];
  const before = probe();
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    await p.rerank(candidates);
    rerank.push(performance.now() - t);
  }
  const after = probe();
  const perRerank = Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] - before[k]) / runs]));
  // One learning step: a click on a shown item triggers the bounded head update.
  const learn = [];
  for (let i = 0; i < 20; i++) {
    await p.rerank(candidates);
    t = performance.now();
    await p.observe({ itemId: candidates[i].id, type: "click", ts: 100 + i, title: candidates[i].title });
    learn.push(performance.now() - t);
  }
  const result = {
    backend: p.backend,
    createMs,
    firstMs,
    runs,
    p50: quantile(rerank, 0.5),
    p95: quantile(rerank, 0.95),
    perRerank,
    learnP50: quantile(learn, 0.5),
    learnP95: quantile(learn, 0.95),
    stateBytes: (await p.exportState()).length,
  };
  await p.free();
  return result;
}

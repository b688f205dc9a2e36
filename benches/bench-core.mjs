// The timing loop shared by the Node bench (benches/wasm.mjs) and the browser bench page
// (www/bench.html): performance.now() around real calls of the public API.

export const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/**
 * `items`: at least 150 `{id, title}`; the first 50 become a 50-event session, the next 100
 * the candidates. Returns create, first re-rank, p50/p95 re-rank, learning-step timings (ms)
 * and the personal state size (bytes).
 */
export async function measure(Personalizer, bundle, items) {
  let t = performance.now();
  const p = await Personalizer.create(bundle, { backend: "cpu" });
  const createMs = performance.now() - t;
  items.slice(0, 50).forEach((it, i) => p.observe({ itemId: it.id, type: "view", ts: i, title: it.title }));
  const candidates = items.slice(50, 150);
  t = performance.now();
  p.rerank(candidates);
  const firstMs = performance.now() - t;
  const rerank = [];
  for (let i = 0; i < 100; i++) {
    t = performance.now();
    p.rerank(candidates);
    rerank.push(performance.now() - t);
  }
  // One learning step: a click on a shown item triggers the bounded head update.
  const learn = [];
  for (let i = 0; i < 50; i++) {
    p.rerank(candidates);
    t = performance.now();
    p.observe({ itemId: candidates[i].id, type: "click", ts: 100 + i, title: candidates[i].title });
    learn.push(performance.now() - t);
  }
  const result = {
    backend: p.backend,
    createMs,
    firstMs,
    p50: quantile(rerank, 0.5),
    p95: quantile(rerank, 0.95),
    learnP50: quantile(learn, 0.5),
    learnP95: quantile(learn, 0.95),
    stateBytes: p.exportState().length,
  };
  p.free();
  return result;
}

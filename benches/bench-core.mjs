// The timing loop shared by the Node bench (benches/wasm.mjs) and the browser bench page
// (www/bench.html): performance.now() around real calls of the public API, for one personalizer
// with its caches (the default) and, in the same run, one with caching off (`itemCache: 0`:
// every call recomputes the session state and every vector), the reference each speed-up is
// measured against.

export const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

const summary = (xs) => ({ p50: quantile(xs, 0.5), p95: quantile(xs, 0.95), runs: xs.length });

/**
 * `runs` timed samples after `warmup` untimed calls (the engine compiles hot wasm code again,
 * optimised, after a while). A sample is `batch` calls timed together, divided by `batch`:
 * browsers round performance.now() to 0.1 ms without cross-origin isolation, coarser than a
 * warm re-rank.
 */
async function timed(runs, before, call, { warmup = runs, batch = 1 } = {}) {
  for (let i = 0; i < warmup; i++) {
    await before?.(i);
    await call(i);
  }
  const times = [];
  for (let i = 0; i < runs; i++) {
    await before?.(i);
    const t = performance.now();
    for (let j = 0; j < batch; j++) await call(i * batch + j);
    times.push((performance.now() - t) / batch);
  }
  return summary(times);
}

/**
 * `items`: at least 350 `{id, title}`: the first 50 make a 50-event session, the next 100 the
 * candidates, the rest never-seen titles (100 per cold re-rank). Every case is timed after as
 * many untimed calls (cold re-ranks: after the first cold call of the personalizer). `options`: what `Personalizer.create`
 * takes, plus `runs` (timed calls per case, default 100) and `probe` (returns counters, e.g. GPU
 * calls; reported per warm re-rank). Per personalizer (`cached`, `full`): create, first re-rank,
 * warm re-rank (no new event, all 100 items seen), re-rank right after a new event, cold re-rank
 * (100 titles never seen), observe, a learning step; and the state size.
 */
export async function measure(Personalizer, bundle, items, options = {}) {
  const { runs = 100, probe = () => ({}), ...createOptions } = options;
  const session = items.slice(0, 50);
  const candidates = items.slice(50, 150);
  const fresh = items.slice(150);
  const run = async (limits) => {
    let t = performance.now();
    const p = await Personalizer.create(bundle, { ...createOptions, limits });
    const createMs = performance.now() - t;
    for (const [i, it] of session.entries()) await p.observe({ itemId: it.id, type: "view", ts: i, title: it.title });
    t = performance.now();
    await p.rerank(candidates);
    const firstMs = performance.now() - t;
    // In a page: since navigation started (performance's time origin).
    const firstDoneAt = performance.now();
    const before = probe();
    const warm = await timed(runs, null, () => p.rerank(candidates), { batch: 20 });
    const after = probe();
    // Warm-up and timed calls alike: `runs` untimed, then `runs` samples of 20.
    const warmCalls = runs + runs * 20;
    const perWarm = Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] - before[k]) / warmCalls]));
    let ts = 100;
    // A new event before each timed re-rank: items seen before, so only the session moves.
    const afterEvent = await timed(runs, (i) => p.observe({ itemId: session[i % 50].id, type: "view", ts: ts++, title: session[i % 50].title }), () => p.rerank(candidates));
    const observe = await timed(runs, null, (i) => p.observe({ itemId: session[(i * 7) % 50].id, type: "view", ts: ts++, title: session[(i * 7) % 50].title }), { batch: 200 });
    // 100 titles never seen before, each run a new set (the session unchanged).
    // (Warmed on the first sets: their titles are then seen, so the timed runs take the next ones.)
    const sets = Math.max(1, Math.floor(fresh.length / 200));
    const cold = await timed(sets, null, (i) => p.rerank(fresh.slice(i * 100, i * 100 + 100)), { warmup: 0 });
    // Explanations of the top 10 (e leave-one-out windows of e − 1 events in one batch) for
    // sessions of 5, 10, 20 and 50 events, each sample a window the personalizer has not seen
    // (its newest event new), then with the 50-event session unchanged.
    const explained = {};
    for (const length of [5, 10, 20, 50]) {
      const replay = async (i) => {
        await p.clearSession();
        for (let k = 0; k < length; k++) {
          const it = session[(i + k) % 50];
          await p.observe({ itemId: it.id, type: k % 3 === 2 ? "click" : "view", ts: ts++, title: it.title });
        }
      };
      explained[length] = await timed(Math.min(runs, 20), replay, () => p.rerank(candidates, { explain: true }));
    }
    const explainedWarm = await timed(Math.min(runs, 30), null, () => p.rerank(candidates, { explain: true }), { batch: 5 });
    const learn = await timed(20, () => p.rerank(candidates), (i) => p.observe({ itemId: candidates[i].id, type: "click", ts: ts++, title: candidates[i].title }));
    const result = { backend: p.backend, loadTimings: p.loadTimings, createMs, firstMs, firstDoneAt, warm, afterEvent, cold, observe, explained, explainedWarm, learn, perWarm, stateBytes: (await p.exportState()).length };
    await p.free();
    return result;
  };
  const cached = await run(undefined);
  const full = await run({ itemCache: 0 });
  return { cached, full, speedup: { warm: full.warm.p50 / cached.warm.p50, afterEvent: full.afterEvent.p50 / cached.afterEvent.p50, cold: full.cold.p50 / cached.cold.p50 } };
}

const ms = (x) => (x < 0.1 ? x.toFixed(4) : x < 1 ? x.toFixed(3) : x.toFixed(2));

/** `measure`'s result as Markdown rows: | case | cached p50 / p95 | full recompute p50 / p95 | speed-up |. */
export function rows(r) {
  const line = (name, a, b) => `| ${name} | ${ms(a.p50)} / ${ms(a.p95)} ms (${a.runs} samples) | ${ms(b.p50)} / ${ms(b.p95)} ms | ${(b.p50 / a.p50).toFixed(1)}× |`;
  const { cached: c, full: f } = r;
  return [
    "| case | with caches: p50 / p95 | full recompute (`itemCache: 0`): p50 / p95 | speed-up (p50) |",
    "|---|---|---|---|",
    line("warm re-rank (no new event, 100 items seen; a sample is 20 calls)", c.warm, f.warm),
    line("re-rank right after a new event", c.afterEvent, f.afterEvent),
    line("cold re-rank (100 titles never seen)", c.cold, f.cold),
    line("observe (a sample is 200 calls)", c.observe, f.observe),
    line("learning step (a click on the shown slate)", c.learn, f.learn),
    ...[5, 10, 20, 50].map((e) => line(`re-rank with \`explain: true\` (top 10), a new ${e}-event window`, c.explained[e], f.explained[e])),
    line("re-rank with `explain: true`, the 50-event session unchanged (a sample is 5 calls)", c.explainedWarm, f.explainedWarm),
    `| create / first re-rank | ${ms(c.createMs)} / ${ms(c.firstMs)} ms | ${ms(f.createMs)} / ${ms(f.firstMs)} ms | |`,
  ];
}

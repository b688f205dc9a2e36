// Memory and order under load, shared by the Node load bench (benches/load.mjs), its CI test
// (tests/node/load.test.mjs) and the browser load page (www/load.html, benches/load-browser.mjs):
// real calls of the public API, wasm memory read from the build's own `memory` export, GPU
// buffers counted at the browser's WebGPU API.

const MB = 1 << 20;

/** `{items}`: at least 150 `{id, title}`; the first 50 make the session, the next 100 the slate. */
function request(items) {
  return { events: items.slice(0, 50).map((it, i) => ({ itemId: it.id, type: "view", ts: i, title: it.title })), candidates: items.slice(50, 150) };
}

/**
 * `calls` re-ranks of 100 candidates with a 50-event session after `warmup` untimed ones.
 * `memory()` returns the wasm memory's bytes, `gpu()` (optional) the live GPU buffers and bytes.
 * Returns memory after warm-up and at the end, their difference, whether every ranking was the
 * first one, and the GPU buffer figures.
 */
export async function sustained(Personalizer, bundle, items, { calls, warmup = 1000, memory, gpu = () => null, createOptions = {}, distinct = 0 }) {
  const p = await Personalizer.create(bundle, createOptions);
  const { events, candidates } = request(items);
  for (const e of events) await p.observe(e);
  const first = JSON.stringify(await p.rerank(candidates));
  // `distinct` > 0: each call's 100 candidates slide over that many items (made-up titles), so
  // the item cache fills and evicts; the rankings then differ, and are not compared.
  const pool = Array.from({ length: distinct }, (_, i) => ({ id: `pool-${i}`, title: `Catalog item ${i} ${["for PlayStation 4", "Deluxe Edition", "Controller", "Game Boy Advance"][i % 4]}` }));
  const slate = (i) => (distinct ? Array.from({ length: 100 }, (_, k) => pool[(i * 37 + k) % distinct]) : candidates);
  for (let i = 0; i < warmup; i++) await p.rerank(slate(i));
  const warm = { memory: memory(), gpu: gpu() };
  let same = true;
  const start = performance.now();
  for (let i = 0; i < calls; i++) {
    const answer = JSON.stringify(await p.rerank(slate(warmup + i)));
    same = (distinct > 0 || answer === first) && same;
  }
  const ms = performance.now() - start;
  const end = { memory: memory(), gpu: gpu() };
  const backend = p.backend.name;
  await p.free();
  return { backend, calls, warmup, distinct, ms, memoryWarmMB: warm.memory / MB, memoryEndMB: end.memory / MB, growthMB: (end.memory - warm.memory) / MB, sameRanking: same, gpuWarm: warm.gpu, gpuEnd: end.gpu };
}

/**
 * `n` calls fired without awaiting (observe and rerank alternating, on a slate that changes
 * each time), then the same calls awaited one by one on a fresh personalizer: whether they
 * settled in the order they were made and answered as the awaited ones did.
 */
export async function unawaited(Personalizer, bundle, items, { n = 100, createOptions = {} } = {}) {
  const { candidates } = request(items);
  const script = Array.from({ length: n }, (_, i) =>
    // Views of session items, and clicks on an item of the slate just shown (a lesson).
    i % 2 === 1 ? ["rerank", candidates.slice(i % 40, (i % 40) + 30)]
    : i % 4 === 0 ? ["observe", { itemId: items[i % 50].id, type: "view", ts: i, title: items[i % 50].title }]
    : ["observe", { itemId: candidates[((i - 1) % 40) + 5].id, type: "click", ts: i }],
  );
  const fired = await Personalizer.create(bundle, createOptions);
  const settled = [];
  const answers = await Promise.all(script.map(([call, arg], i) => fired[call](arg).then((answer) => (settled.push(i), answer ?? null))));
  await fired.free();
  const awaited = await Personalizer.create(bundle, createOptions);
  const expected = [];
  for (const [call, arg] of script) expected.push((await awaited[call](arg)) ?? null);
  await awaited.free();
  return { n, inOrder: settled.every((k, i) => k === i), sameAnswers: JSON.stringify(answers) === JSON.stringify(expected) };
}

/** `n` personalizers created, used once and freed: wasm memory (and live GPU buffers) after the first 10 and at the end. */
export async function createFree(Personalizer, bundle, items, { n = 100, memory, gpu = () => null, createOptions = {} }) {
  const { candidates } = request(items);
  let afterTen = 0;
  let gpuAfterTen = null;
  for (let i = 0; i < n; i++) {
    const p = await Personalizer.create(bundle, createOptions);
    await p.observe({ itemId: items[0].id, type: "view", ts: 1, title: items[0].title });
    await p.rerank(candidates);
    await p.free();
    if (i === 9) [afterTen, gpuAfterTen] = [memory(), gpu()];
  }
  const end = memory();
  return { n, memoryAfter10MB: afterTen / MB, memoryEndMB: end / MB, growthMB: (end - afterTen) / MB, gpuAfter10: gpuAfterTen, gpuEnd: gpu() };
}

/** Wrap the page's WebGPU API to count live buffers and their bytes (createBuffer minus destroy). */
export function countGpuBuffers() {
  const live = new Map();
  if (!globalThis.GPUDevice) return () => null;
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (descriptor) {
    const buffer = create.call(this, descriptor);
    live.set(buffer, descriptor.size);
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function () {
    live.delete(this);
    return destroy.call(this);
  };
  return () => ({ buffers: live.size, MB: [...live.values()].reduce((a, b) => a + b, 0) / MB });
}

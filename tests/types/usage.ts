// Compiled with `tsc --noEmit --strict` by tests/node/types.test.mjs: the package's types
// describe what a storefront writes. A wrong call below would fail the test.
import init, { Personalizer, type RankedItem, type SessionEvent } from "../../pkg/pocketrank.js";
import { openPersonalizer } from "../../pkg/persist.js";
import { fetchBundle } from "../../pkg/loader.js";
import { WorkerPersonalizer } from "../../pkg/worker-client.js";

export async function storefront(url: string): Promise<RankedItem[]> {
  const bundle: Uint8Array = await fetchBundle(url, { integrity: "sha256-abc=", onProgress: (loaded: number, total: number) => console.log(loaded / total) });
  await init();
  const p = await Personalizer.create(bundle, { backend: "auto" });
  const event: SessionEvent = { itemId: 12, type: "cart", ts: Date.now(), title: "Mario Kart" };
  p.observe(event);
  p.setLearning({ learningRate: 0.1, every: 2 });
  const ranked: RankedItem[] = p.rerank([{ id: "1", title: "Zelda", price: 59.99, serverScore: 0.3 }], { serverOrder: true });
  const state: Uint8Array = p.exportState();
  const restore = p.importState(state);
  const restored: boolean = restore.restored;
  const update = p.exportPrivateUpdate({ clip: 0.05, epsilon: 0.5, delta: 1e-5 });
  const values: number[] = update.values;
  const persistent = await openPersonalizer(bundle, { persist: true, dbName: "shop" });
  persistent.observe({ itemId: "1", type: "view", ts: 1 });
  await persistent.flush();
  await persistent.forget();
  const w = await WorkerPersonalizer.create(bundle, { backend: "cpu" });
  await w.observe(event);
  const offThread: RankedItem[] = await w.rerank([{ id: 1, title: "Zelda" }]);
  w.terminate();
  return restored && values.length > 0 && offThread.length > 0 ? ranked : persistent.rerank([]);
}

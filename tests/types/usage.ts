// Compiled with `tsc --noEmit --strict` by tests/node/types.test.mjs: the package's types
// describe what a storefront writes. A wrong call below would fail the test.
import { Personalizer, type BackendReport, type LoadTimings, type RankedItem, type SessionEvent, type StateSummary, type TermShares, type Why, type WhyKind } from "../../pkg/pocketrank.js";
import { openPersonalizer } from "../../pkg/persist.js";
import { fetchBundle } from "../../pkg/loader.js";
import { WorkerPersonalizer } from "../../pkg/worker-client.js";

export async function storefront(url: string): Promise<RankedItem[]> {
  const bundle: Uint8Array = await fetchBundle(url, { integrity: "sha256-abc=", onProgress: (loaded: number, total: number) => console.log(loaded / total) });
  const p = await Personalizer.create(bundle, { backend: "auto", warmupRuns: 5, wasm: { cpu: "/assets/cpu.wasm" }, limits: { candidates: 500, itemCache: 2048 } });
  const backend: BackendReport = p.backend;
  const stages: LoadTimings = p.loadTimings;
  console.log(stages.verifyMs + stages.loadMs + stages.backendMs);
  const why: string = backend.reason;
  const gpuMs: number | undefined = backend.webgpuMs;
  const event: SessionEvent = { itemId: 12, type: "cart", ts: Date.now(), title: "Mario Kart" };
  await p.observe(event);
  await p.setLearning({ learningRate: 0.1, every: 2 });
  await p.setLimits({ candidates: 200, titleChars: 128 });
  const ranked: RankedItem[] = await p.rerank([{ id: "1", title: "Zelda", price: 59.99, serverScore: 0.3 }], { serverOrder: true });
  const explained = await p.rerank([{ id: "1", title: "Zelda" }], { explain: true, personalization: 0.5, maxDisplacement: 2, pinned: 1, minOverlap: 0.8 });
  const shares: TermShares = { fit: 0.03, transition: 0.165, repeat: 0.165, rule: 0.165 };
  await p.rerank([{ id: "1", title: "Zelda" }], { personalization: shares, minOverlap: 0.8 });
  const because: string | undefined = explained[0]?.why?.find((w: Why) => w.kind === "session-item")?.itemId;
  const kind: WhyKind | undefined = explained[0]?.why?.[0]?.kind;
  const state: Uint8Array = await p.exportState();
  const restore = await p.importState(state);
  const restored: boolean = restore.restored;
  const known: StateSummary = await p.stateSummary();
  const carted: number = known.byType.cart + known.headChange;
  const update = await p.exportPrivateUpdate({ clip: 0.05, epsilon: 0.5, delta: 1e-5 });
  const values: number[] = update.values;
  await p.free();
  const persistent = await openPersonalizer(bundle, { persist: true, dbName: "shop", backend: "cpu" });
  await persistent.observe({ itemId: "1", type: "view", ts: 1 });
  await persistent.flush();
  const persisted: number = (await persistent.stateSummary()).events;
  await persistent.forget();
  const w = await WorkerPersonalizer.create(bundle, { backend: "webgpu" });
  await w.observe(event);
  const offThread: RankedItem[] = await w.rerank([{ id: 1, title: "Zelda" }]);
  const workerBackend: "cpu" | "webgpu" = w.backend.name;
  w.terminate();
  console.log(why, gpuMs, workerBackend, because, kind, carted, persisted);
  return restored && values.length > 0 && offThread.length > 0 ? ranked : persistent.rerank([]);
}

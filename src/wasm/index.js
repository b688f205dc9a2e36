// The package entry: one Personalizer API over two wasm builds. The CPU build is small and
// runs everywhere; the WebGPU build (burn-wgpu) is fetched only by browsers with a WebGPU
// adapter, and it keeps the CPU path inside for the warm-up comparison and for device loss.
//
//   import { Personalizer } from "pocketrank";
//   const p = await Personalizer.create(bundleBytes, { backend: "auto" });
//   p.backend;                          // { name: "cpu" | "webgpu", reason, cpuMs?, webgpuMs? }
//   await p.observe(event); const ranked = await p.rerank(candidates);

const BUILDS = {
  cpu: () => import("./cpu/pocketrank_cpu.js"),
  webgpu: () => import("./webgpu/pocketrank_webgpu.js"),
};
const BACKENDS = ["auto", "cpu", "webgpu"];

/** Why this page cannot use WebGPU, or null when an adapter exists. */
async function webgpuProblem() {
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) return "this browser has no WebGPU (navigator.gpu is missing)";
  try {
    return (await gpu.requestAdapter()) ? null : "this browser offers no WebGPU adapter";
  } catch (e) {
    return `the WebGPU adapter request failed (${e?.message ?? e})`;
  }
}

export class Personalizer {
  #inner;
  #cpuReason;
  #queue = Promise.resolve();

  constructor(inner, cpuReason = null) {
    this.#inner = inner;
    this.#cpuReason = cpuReason;
  }

  /**
   * Verify a bundle and load it. options: `backend` ("auto" | "cpu" | "webgpu", default
   * "auto"), `warmupRuns`, and `wasm: { cpu?, webgpu? }` (where each build's .wasm comes
   * from; default: next to this file). Only the build that is used is fetched.
   */
  static async create(bundle, options = {}) {
    const { wasm = {}, backend = "auto", ...rest } = options ?? {};
    if (!BACKENDS.includes(backend)) throw new Error(`options.backend: expected "auto", "cpu" or "webgpu", got ${JSON.stringify(backend)}`);
    let build = "cpu";
    let cpuReason = null;
    if (backend !== "cpu") {
      const problem = await webgpuProblem();
      if (problem === null) build = "webgpu";
      else if (backend === "webgpu") throw new Error(`options.backend: "webgpu" was asked for, but ${problem}`);
      else cpuReason = problem;
    }
    const module = await BUILDS[build]();
    await module.default(wasm[build] === undefined ? undefined : { module_or_path: wasm[build] });
    const inner = await module.Personalizer.create(bundle, { backend: build === "cpu" ? "cpu" : backend, ...rest });
    return new Personalizer(inner, cpuReason);
  }

  /** The backend in use and why; turns to the CPU when the GPU fails. */
  get backend() {
    return this.#cpuReason ? { name: "cpu", reason: this.#cpuReason } : this.#inner.backend;
  }

  // Calls run one after another: a re-rank may wait on the GPU, and the model's state must
  // never be touched by two calls at once.
  #run(call) {
    const result = this.#queue.then(call);
    this.#queue = result.catch(() => {});
    return result;
  }

  observe(event) { return this.#run(() => this.#inner.observe(event)); }
  rerank(candidates, options) { return this.#run(() => this.#inner.rerank(candidates, options)); }
  session() { return this.#run(() => this.#inner.session()); }
  clearSession() { return this.#run(() => this.#inner.clearSession()); }
  setLearning(options) { return this.#run(() => this.#inner.setLearning(options)); }
  exportState() { return this.#run(() => this.#inner.exportState()); }
  importState(bytes) { return this.#run(() => this.#inner.importState(bytes)); }
  forget() { return this.#run(() => this.#inner.forget()); }
  exportPrivateUpdate(privacy) { return this.#run(() => this.#inner.exportPrivateUpdate(privacy)); }

  /** Release the model's memory; the personalizer cannot be used afterwards. */
  free() { return this.#run(() => this.#inner.free()); }
}

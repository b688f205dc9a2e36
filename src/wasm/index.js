// The package entry: one Personalizer API over two wasm builds. The CPU build is small and
// runs everywhere; the WebGPU build (burn-wgpu) is fetched only by browsers with a WebGPU
// adapter, and it keeps the CPU path inside for the warm-up comparison and for device loss.
//
//   import { Personalizer } from "pocketrank";
//   const p = await Personalizer.create(bundleBytes, { backend: "auto" });
//   p.backend;                          // { name: "cpu" | "webgpu", reason, cpuMs?, webgpuMs? }
//   await p.observe(event); const ranked = await p.rerank(candidates);

import { defineMethods } from "./methods.js";

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
  #wasmMs;
  #queue = Promise.resolve();

  constructor(inner, wasmMs) {
    this.#inner = inner;
    this.#wasmMs = wasmMs;
  }

  /**
   * Verify a bundle and load it. options: `backend` ("auto" | "cpu" | "webgpu", default
   * "auto"), `warmupRuns`, and `wasm: { cpu?, webgpu? }` (where each build's .wasm comes
   * from; default: next to this file). Only the build that is used is fetched.
   */
  static async create(bundle, options = {}) {
    const { wasm = {}, backend = "auto", ...rest } = options ?? {};
    if (!BACKENDS.includes(backend)) throw codedError("invalid-input", `options.backend: expected "auto", "cpu" or "webgpu", got ${JSON.stringify(backend)}`);
    // Only what the page found is decided here (which build to fetch); which backend scores,
    // and why, the core decides from it (src/backend.rs).
    const problem = backend === "cpu" ? null : await webgpuProblem();
    const build = backend !== "cpu" && problem === null ? "webgpu" : "cpu";
    const started = performance.now();
    const module = await BUILDS[build]();
    await module.default(wasm[build] === undefined ? undefined : { module_or_path: wasm[build] });
    const wasmMs = performance.now() - started;
    const inner = await module.Personalizer.create(toBytes(bundle), { backend, ...(problem === null ? {} : { adapterProblem: problem }), ...rest });
    return new Personalizer(inner, wasmMs);
  }

  /** The backend in use and why; turns to the CPU when the GPU fails. */
  get backend() {
    return this.#inner.backend;
  }

  /** How long each stage of `create` took (ms): wasmMs (0 once the build is instantiated), verifyMs, loadMs, backendMs. */
  get loadTimings() {
    return { wasmMs: this.#wasmMs, ...this.#inner.loadTimings };
  }

  // Calls run one after another: a re-rank may wait on the GPU, and the model's state must
  // never be touched by two calls at once.
  #run(call) {
    const result = this.#queue.then(call);
    this.#queue = result.catch(() => {});
    return result;
  }

  static {
    // Every method of ./methods.js, queued.
    defineMethods(this, (self, name, args) => self.#run(() => self.#inner[name](...args)));
  }

  /** Release the model's memory; the personalizer cannot be used afterwards. */
  free() { return this.#run(() => this.#inner.free()); }
}

/** An Error with a stable `code` beside its message, as the wasm module throws them. */
function codedError(code, message) {
  return Object.assign(new Error(message), { code });
}

/** Bundle bytes from what a page has: a Uint8Array, another typed array or view, or the ArrayBuffer `fetch().arrayBuffer()` gives. */
function toBytes(bundle) {
  if (bundle instanceof Uint8Array) return bundle;
  if (bundle instanceof ArrayBuffer) return new Uint8Array(bundle);
  if (ArrayBuffer.isView(bundle)) return new Uint8Array(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  return bundle;
}

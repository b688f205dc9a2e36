// Web Worker mode: the same API as Personalizer, every call answered by a promise, the model
// running in a module worker (./worker.js) so re-ranking never janks the page.
//
//   import { WorkerPersonalizer } from "pocketrank/worker";
//   const p = await WorkerPersonalizer.create(bytes, { backend: "auto" });
//   await p.observe(event); const ranked = await p.rerank(candidates);

import { defineMethods } from "./methods.js";

export class WorkerPersonalizer {
  #worker;
  #pending = new Map();
  #next = 0;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data: { id, result, error, code, backend } }) => {
      if (backend !== undefined) this.backend = backend;
      const call = this.#pending.get(id);
      if (!call) return;
      this.#pending.delete(id);
      if (error !== undefined) call.reject(Object.assign(new Error(error), code === undefined ? {} : { code }));
      else call.resolve(result);
    };
    worker.onerror = (event) => {
      const error = new Error(`worker failed: ${event.message ?? "unknown error"}`);
      for (const call of this.#pending.values()) call.reject(error);
      this.#pending.clear();
    };
  }

  #call(method, args = []) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  /** Start a worker and load the bundle in it. options as Personalizer.create. */
  static async create(bundle, options = {}) {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    const client = new WorkerPersonalizer(worker);
    try {
      await client.#call("create", [bundle, options]);
      return client;
    } catch (e) {
      worker.terminate();
      throw e;
    }
  }

  static {
    // Every method of ./methods.js, answered by the worker.
    defineMethods(this, (self, name, args) => self.#call(name, args));
  }

  /** Stop the worker; pending calls reject. */
  terminate() {
    this.#worker.terminate();
    for (const call of this.#pending.values()) call.reject(new Error("worker terminated"));
    this.#pending.clear();
  }
}

// Web Worker mode: the same API as Personalizer, every call answered by a promise, the model
// running in a module worker (./worker.js) so re-ranking never janks the page.
//
//   import { WorkerPersonalizer } from "pocketrank/worker";
//   const p = await WorkerPersonalizer.create(bytes, { backend: "auto" });
//   await p.observe(event); const ranked = await p.rerank(candidates);

export class WorkerPersonalizer {
  #worker;
  #pending = new Map();
  #next = 0;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data: { id, result, error, backend } }) => {
      if (backend !== undefined) this.backend = backend;
      const call = this.#pending.get(id);
      if (!call) return;
      this.#pending.delete(id);
      if (error !== undefined) call.reject(new Error(error));
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

  observe(event) { return this.#call("observe", [event]); }
  rerank(candidates, options) { return this.#call("rerank", [candidates, options]); }
  session() { return this.#call("session"); }
  clearSession() { return this.#call("clearSession"); }
  setLearning(options) { return this.#call("setLearning", [options]); }
  exportState() { return this.#call("exportState"); }
  importState(bytes) { return this.#call("importState", [bytes]); }
  forget() { return this.#call("forget"); }
  exportPrivateUpdate(privacy) { return this.#call("exportPrivateUpdate", [privacy]); }

  /** Stop the worker; pending calls reject. */
  terminate() {
    this.#worker.terminate();
    for (const call of this.#pending.values()) call.reject(new Error("worker terminated"));
    this.#pending.clear();
  }
}

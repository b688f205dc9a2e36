// The module worker behind `pocketrank/worker`: owns the Personalizer so model work never
// blocks the page's main thread. Messages: {id, method, args} -> {id, result | error, backend}.
import { Personalizer } from "./pocketrank.js";

const METHODS = new Set(["observe", "rerank", "session", "clearSession", "setLearning", "exportState", "importState", "forget", "exportPrivateUpdate"]);
let personalizer = null;

self.onmessage = async ({ data: { id, method, args = [] } }) => {
  try {
    let result;
    if (method === "create") {
      const [bundle, options] = args;
      await personalizer?.free();
      personalizer = await Personalizer.create(bundle, options);
    } else if (!METHODS.has(method)) {
      throw new Error(`worker: unknown method ${JSON.stringify(method)}`);
    } else if (!personalizer) {
      throw new Error("worker: the personalizer is not created yet");
    } else {
      result = await personalizer[method](...args);
    }
    // The backend travels with every answer: it changes if the GPU is lost.
    self.postMessage({ id, result, backend: personalizer?.backend });
  } catch (e) {
    self.postMessage({ id, error: e instanceof Error ? e.message : String(e), backend: personalizer?.backend });
  }
};

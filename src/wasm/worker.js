// The module worker behind `pocketrank/worker`: owns the Personalizer so model work never
// blocks the page's main thread. Messages: {id, method, args} -> {id, result | error, backend}.
import { Personalizer } from "./pocketrank.js";
import { METHODS } from "./methods.js";

const NAMES = new Set(METHODS.map((m) => m.name));
let personalizer = null;

self.onmessage = async ({ data: { id, method, args = [] } }) => {
  try {
    let result;
    if (method === "create") {
      const [bundle, options] = args;
      await personalizer?.free();
      personalizer = await Personalizer.create(bundle, options);
    } else if (!NAMES.has(method)) {
      throw new Error(`worker: unknown method ${JSON.stringify(method)}`);
    } else if (!personalizer) {
      throw new Error("worker: the personalizer is not created yet");
    } else {
      result = await personalizer[method](...args);
    }
    // The backend travels with every answer: it changes if the GPU is lost.
    self.postMessage({ id, result, backend: personalizer?.backend });
  } catch (e) {
    self.postMessage({ id, error: e instanceof Error ? e.message : String(e), code: e?.code, backend: personalizer?.backend });
  }
};

// The module worker behind `pocketrank/worker`: owns the wasm Personalizer so model work
// never blocks the page's main thread. Messages: {id, method, args} -> {id, result | error}.
import init, { Personalizer } from "./pocketrank.js";

const METHODS = new Set(["observe", "rerank", "session", "clearSession", "setLearning", "exportState", "importState", "forget", "exportPrivateUpdate"]);
let personalizer = null;

self.onmessage = async ({ data: { id, method, args = [] } }) => {
  try {
    let result;
    if (method === "create") {
      const [bundle, options, wasm] = args;
      await init(wasm === undefined ? undefined : { module_or_path: wasm });
      personalizer?.free();
      personalizer = await Personalizer.create(bundle, options);
      result = { backend: personalizer.backend };
    } else if (!METHODS.has(method)) {
      throw new Error(`worker: unknown method ${JSON.stringify(method)}`);
    } else if (!personalizer) {
      throw new Error("worker: the personalizer is not created yet");
    } else {
      result = personalizer[method](...args);
    }
    self.postMessage({ id, result });
  } catch (e) {
    self.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
};

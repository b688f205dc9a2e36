// The Personalizer's methods, declared once. The package entry (index.js), the worker
// (worker.js, worker-client.js) and IndexedDB persistence (persist.js) are all built from this
// list, and a test checks the TypeScript declarations against it.
//
// `changesState`: the call can change what exportState() returns (the session or the personal
// head), so persistence saves after it. A re-rank can: with `every > 1` the head learns from
// the takes of the previous slate when the next one is scored.
export const METHODS = Object.freeze([
  { name: "observe", changesState: true },
  { name: "rerank", changesState: true },
  { name: "session", changesState: false },
  { name: "complements", changesState: false },
  { name: "stateSummary", changesState: false },
  { name: "clearSession", changesState: true },
  { name: "setLearning", changesState: false },
  // A smaller event limit drops the oldest events.
  { name: "setLimits", changesState: true },
  { name: "exportState", changesState: false },
  { name: "importState", changesState: true },
  { name: "forget", changesState: true },
  { name: "exportPrivateUpdate", changesState: false },
]);

/**
 * Give `cls.prototype` one method per entry, each calling `invoke(instance, name, args)`; a
 * method the class defines itself stays (persist.js's `forget` also clears IndexedDB).
 */
export function defineMethods(cls, invoke) {
  for (const { name } of METHODS) {
    if (Object.hasOwn(cls.prototype, name)) continue;
    Object.defineProperty(cls.prototype, name, {
      value: function (...args) { return invoke(this, name, args); },
      writable: true,
      configurable: true,
    });
  }
}

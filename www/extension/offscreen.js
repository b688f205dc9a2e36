// The model, in the extension's offscreen document: pocketrank's CPU build from the
// extension's own files (MV3 allows no remote code; 'wasm-unsafe-eval' in the manifest's CSP
// lets it compile). Restores the personal state the service worker keeps, and answers every
// call that changes it with the new state, which the service worker stores.
import { Personalizer } from "./pkg/pocketrank.js";

const toBase64 = (bytes) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

const ready = (async () => {
  const bundle = new Uint8Array(await (await fetch(chrome.runtime.getURL("model.bundle"))).arrayBuffer());
  const p = await Personalizer.create(bundle, { backend: "cpu" });
  const { state } = await chrome.runtime.sendMessage({ to: "background", op: "load-state" });
  const restore = state ? await p.importState(fromBase64(state)) : { restored: false, reason: "nothing saved" };
  return { p, restore };
})();

async function handle(message) {
  const { p, restore } = await ready;
  const state = async () => toBase64(await p.exportState());
  switch (message.op) {
    case "rerank": {
      const ranked = await p.rerank(message.candidates, { explain: true });
      return { ranked, session: await p.session(), state: await state() };
    }
    case "observe":
      await p.observe(message.event);
      return { state: await state() };
    case "summary":
      return { summary: await p.stateSummary(), session: await p.session(), backend: p.backend, restore };
    case "forget":
      await p.forget();
      return { state: null };
    default:
      throw new Error(`op: unknown operation ${JSON.stringify(message.op)}`);
  }
}

chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.to !== "offscreen") return false;
  handle(message).then(reply, (e) => reply({ error: e.message }));
  return true;
});

// The extension's service worker: keeps the personal state in extension storage
// (chrome.storage.local) and hands model work to the offscreen document, which holds the
// model for as long as the browser runs (a service worker is stopped when idle, and would
// load the model again each time). Messages: { to: "background", op, ... } from the content
// script and the popup; { to: "offscreen", ... } to the model.
const OFFSCREEN = "offscreen.html";
let creating = null;

async function ensureOffscreen() {
  const open = await chrome.runtime.getContexts({ contextTypes: ["OFFSCREEN_DOCUMENT"] });
  if (open.length > 0) return;
  creating ??= chrome.offscreen
    .createDocument({ url: OFFSCREEN, reasons: ["LOCAL_STORAGE"], justification: "runs the re-ranking model and restores the personal state it keeps" })
    .finally(() => (creating = null));
  await creating;
}

async function handle(message) {
  if (message.op === "load-state") return { state: (await chrome.storage.local.get("state")).state ?? null };
  await ensureOffscreen();
  const answer = await chrome.runtime.sendMessage({ ...message, to: "offscreen" });
  // Every call that can change the personal state answers with it (base64; null after forget).
  if (answer && "state" in answer) {
    if (answer.state) await chrome.storage.local.set({ state: answer.state });
    else await chrome.storage.local.remove("state");
  }
  return answer;
}

chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.to !== "background") return false;
  handle(message).then(reply, (e) => reply({ error: e.message }));
  return true;
});

// The popup: what the extension keeps about this browser's shopper, and forget.
async function send(message) {
  const answer = await chrome.runtime.sendMessage({ to: "background", ...message });
  if (answer?.error) throw new Error(answer.error);
  return answer;
}

function row(term, value, className) {
  return [Object.assign(document.createElement("dt"), { textContent: term }), Object.assign(document.createElement("dd"), { textContent: value, className })];
}

async function show() {
  const { summary, session, backend } = await send({ op: "summary" });
  document.getElementById("summary").replaceChildren(
    ...row("events", String(summary.events), "events"),
    ...row("profile", `${summary.profileItems} items bought on earlier visits`, "profile"),
    ...row("head change", `${(summary.headChange * 100).toFixed(2)} % from the shipped model`, "head-change"),
    ...row("stored", `${summary.stateBytes.toLocaleString()} bytes`, "stored"),
    ...row("backend", `${backend.name} (${backend.reason})`, "backend"),
  );
  document.getElementById("events").replaceChildren(...session.slice(-5).reverse().map((e) => Object.assign(document.createElement("li"), { textContent: `${e.type}: ${e.title ?? e.itemId}` })));
  document.body.dataset.ready = "true";
}

document.getElementById("forget").addEventListener("click", async () => {
  await send({ op: "forget" });
  await show();
});
show().catch((e) => (document.getElementById("summary").textContent = `error: ${e.message}`));

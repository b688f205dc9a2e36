// The content script: finds a page's product tiles (elements with data-pocketrank-id and
// data-pocketrank-title, as the demo shop marks them), has the extension's model re-rank them
// from this browser's own clicks, and moves them in place. Clicks and "add to cart" on a tile
// are recorded as session events. Content scripts cannot be modules, so this file imports
// nothing; the model lives in the offscreen document (background.js).
(() => {
  const TILE = "[data-pocketrank-id]";
  const DID = { view: "viewed", click: "clicked", cart: "added", purchase: "bought" };
  let scheduled = null;
  let observer = null;

  async function send(message) {
    const answer = await chrome.runtime.sendMessage({ to: "background", ...message });
    if (answer?.error) throw new Error(answer.error);
    return answer;
  }

  function badge(tile, ranked, session) {
    let mark = tile.querySelector(":scope > .pocketrank-extension-badge");
    if (!mark) {
      mark = document.createElement("p");
      mark.className = "pocketrank-extension-badge";
      mark.style.cssText = "margin:0;font-size:.8em;color:#6a3dc8";
      tile.append(mark);
    }
    const moved = Number(tile.dataset.pocketrankPageOrder) + 1 - ranked.rank;
    const named = (ranked.why ?? []).find((w) => w.eventIndex !== undefined && w.weight > 0);
    const event = named ? session[named.eventIndex] : null;
    const reason = event ? ` · because you ${DID[event.type] ?? "saw"} “${event.title ?? event.itemId}”` : "";
    mark.textContent = `extension: #${ranked.rank}${moved ? ` (${moved > 0 ? "▲" : "▼"}${Math.abs(moved)})` : ""}${reason}`;
  }

  /** Re-rank the tiles in the order the page first showed them (the page's own order). */
  async function rerankTiles() {
    const tiles = [...document.querySelectorAll(TILE)];
    if (tiles.length === 0) return;
    tiles.forEach((tile, i) => (tile.dataset.pocketrankPageOrder ??= String(i)));
    tiles.sort((a, b) => a.dataset.pocketrankPageOrder - b.dataset.pocketrankPageOrder);
    const candidates = tiles.map((t) => ({ id: t.dataset.pocketrankId, title: t.dataset.pocketrankTitle ?? "" }));
    const { ranked, session } = await send({ op: "rerank", candidates });
    const byId = new Map(tiles.map((t) => [t.dataset.pocketrankId, t]));
    const parent = tiles[0].parentElement;
    for (const r of ranked) {
      const tile = byId.get(r.id);
      tile.dataset.pocketrankExtensionRank = String(r.rank);
      badge(tile, r, session);
      parent.append(tile);
    }
    // The moves above are ours: do not answer them with another re-rank.
    observer.takeRecords();
    Object.assign(document.documentElement.dataset, { pocketrankExtension: "ranked", pocketrankEvents: String(session.length) });
  }

  function schedule() {
    clearTimeout(scheduled);
    scheduled = setTimeout(() => rerankTiles().catch((e) => console.warn("pocketrank extension:", e.message)), 50);
  }

  document.addEventListener("click", (e) => {
    const tile = e.target.closest?.(TILE);
    if (!tile) return;
    const type = e.target.closest("button") ? "cart" : "click";
    send({ op: "observe", event: { itemId: tile.dataset.pocketrankId, type, ts: Date.now(), title: tile.dataset.pocketrankTitle } })
      .then(schedule, (err) => console.warn("pocketrank extension:", err.message));
  }, true);

  observer = new MutationObserver((records) => {
    if (records.some((r) => [...r.addedNodes].some((n) => n.nodeType === 1 && (n.matches(TILE) || n.querySelector(TILE))))) schedule();
  });
  observer.observe(document.body, { childList: true, subtree: true });
  schedule();
})();

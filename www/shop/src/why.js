// A re-ranked item's `why` (pocketrank's explanation terms) as the words a tile shows.
// Terms arrive largest first: the session events that took most from the item's score when
// left out, each split by the term it flowed through, then the server's own term.

const DID = { view: "viewed", click: "clicked", cart: "added", purchase: "bought" };

function phrase(kind, event, name) {
  switch (kind) {
    case "rule": return `bought together with ${name}`;
    case "transition": return `often chosen after ${name}`;
    case "repeat": return `you ${DID[event.type] ?? "saw"} it before`;
    default: return `because you ${DID[event.type] ?? "saw"} ${name}`;
  }
}

/**
 * Up to `most` reasons for one item: each event named by the item's `why`, in its order, by
 * the term that carried most of its part. `session` is `personalizer.session()`; `labelOf`
 * gives an item's display name.
 */
export function reasons(why, session, labelOf, most = 2) {
  const byEvent = new Map();
  for (const term of why ?? []) {
    if (term.eventIndex === undefined || !(term.weight > 0)) continue;
    const best = byEvent.get(term.eventIndex);
    if (!best || term.weight > best.weight) byEvent.set(term.eventIndex, term);
  }
  return [...byEvent.values()].slice(0, most).map((term) => {
    const event = session[term.eventIndex] ?? {};
    return phrase(term.kind, event, `“${labelOf(term.itemId ?? event.itemId, event.title)}”`);
  });
}

// The demo shop's page: pocketrank imported from npm like any storefront (package.json's
// `file:` dependency on the built pkg/). The storefront server sends candidate lists in its
// own order; each department's model re-ranks them on this device from the shopper's
// session, explains each tile, proposes cart complements, and keeps its personal state in
// IndexedDB. `?personalize=off` shows the page as a shop without pocketrank would (the
// server's order, nothing recorded): the browser extension's test page.
import { openPersonalizer } from "pocketrank/persist";
import { fetchBundle } from "pocketrank/loader";
import { reasons } from "./why.js";

/** Tiles a page shows, out of the server's list of 100. */
const SHOWN = 24;
const COMPLEMENTS = 4;
/** How long the pointer rests on a tile before it counts as a view. */
const VIEW_MS = 800;
const personalize = new URLSearchParams(location.search).get("personalize") !== "off";

const $ = (id) => document.getElementById(id);
/** A new element with `props`, holding `children` (strings or nodes; null is skipped). */
function element(tag, props = {}, ...children) {
  return appendAll(Object.assign(document.createElement(tag), props), children);
}
function appendAll(node, children) {
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

async function api(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `${path}: HTTP ${response.status}`);
  return body;
}

const shop = {
  departments: [],
  personalizers: {},
  view: { dept: "games", page: "home", category: null, q: "" },
  list: [],
  labels: new Map(),
  cart: JSON.parse(localStorage.getItem("shop-cart") ?? "[]"),
  options: { personalization: 1, diversity: 0 },
  busy: Promise.resolve(),
};

/** One change at a time: events, re-ranks and panel updates never interleave. */
function serially(action) {
  shop.busy = shop.busy.then(action).catch((e) => {
    $("status").textContent = `error: ${e.message}`;
    console.error(e);
  });
  return shop.busy;
}

function remember(items) {
  for (const item of items) shop.labels.set(`${item.dept ?? shop.view.dept}:${item.id}`, item.label);
}
const labelOf = (dept) => (id, title) => shop.labels.get(`${dept}:${id}`) ?? title ?? id;

async function record(dept, item, type) {
  await shop.personalizers[dept].observe({ itemId: item.id, type, ts: Date.now(), title: item.title });
}

function listPath({ dept, page, category, q }) {
  const query = new URLSearchParams({ dept, page });
  if (category) query.set("category", category);
  if (q) query.set("q", q);
  return `/api/list?${query}`;
}

async function load(view) {
  shop.view = view;
  const { candidates } = await api(listPath(view));
  shop.list = candidates.map((c) => ({ ...c, dept: view.dept }));
  remember(shop.list);
  await rerank();
}

/** Re-rank the server's list for the current session and draw the grid. */
async function rerank() {
  const { dept } = shop.view;
  const p = shop.personalizers[dept];
  let ranked;
  if (personalize) {
    const started = performance.now();
    const candidates = shop.list.map(({ id, title, category, serverScore }) => ({ id, title, category, serverScore }));
    ranked = await p.rerank(candidates, { ...shop.options, explain: SHOWN });
    const ms = performance.now() - started;
    $("latency").textContent = `re-ranked ${candidates.length} server candidates on ${p.backend.name} in ${ms.toFixed(1)} ms`;
    $("latency").dataset.ms = ms.toFixed(2);
  } else {
    ranked = shop.list.map((c, i) => ({ id: c.id, rank: i + 1, serverRank: i + 1 }));
    $("latency").textContent = "server order (personalisation off on this page)";
  }
  const session = personalize ? await p.session() : [];
  const byId = new Map(shop.list.map((c) => [c.id, c]));
  $("grid").replaceChildren(...ranked.slice(0, SHOWN).map((r) => tile(byId.get(r.id), r, session)));
  await panels();
}

function tile(item, ranked, session) {
  const moved = ranked.serverRank - ranked.rank;
  const because = reasons(ranked.why, session, labelOf(item.dept));
  const node = appendAll(element("article", { className: "tile", tabIndex: 0 }), [
    element("h3", { textContent: item.label }),
    element("p", { className: "meta" }, `${item.category} · server #${ranked.serverRank} `,
      moved === 0 ? null : element("span", { className: moved > 0 ? "moved-up" : "moved-down", textContent: moved > 0 ? `▲${moved}` : `▼${-moved}` })),
    element("p", { className: "why", textContent: because.join("; ") }),
    element("button", { className: "add", textContent: "Add to cart" }),
  ]);
  // What a content script (the extension) needs to re-rank the tiles in place.
  Object.assign(node.dataset, { pocketrankId: item.id, pocketrankTitle: item.title, serverRank: String(ranked.serverRank) });
  node.querySelector(".add").addEventListener("click", (e) => {
    e.stopPropagation();
    serially(() => addToCart(item));
  });
  // A pointer resting on a tile is a look at the product: a `view`. It teaches nothing and
  // does not re-rank (the grid must not move under the pointer); the next click or page does.
  let looking = null;
  node.addEventListener("pointerenter", () => {
    looking = setTimeout(() => serially(async () => {
      if (!personalize) return;
      await record(item.dept, item, "view");
      await knows();
    }), VIEW_MS);
  });
  node.addEventListener("pointerleave", () => clearTimeout(looking));
  node.addEventListener("click", () => serially(async () => {
    clearTimeout(looking);
    if (!personalize) return;
    await record(item.dept, item, "click");
    await rerank();
  }));
  return node;
}

async function addToCart(item) {
  shop.cart.push({ id: item.id, dept: item.dept, title: item.title, label: item.label });
  localStorage.setItem("shop-cart", JSON.stringify(shop.cart));
  if (personalize) await record(item.dept, item, "cart");
  await rerank();
}

async function checkout() {
  for (const item of shop.cart) if (personalize) await record(item.dept, item, "purchase");
  shop.cart = [];
  localStorage.setItem("shop-cart", "[]");
  await rerank();
}

/** The cart with its complements, and what the device knows. */
async function panels() {
  $("cart-items").replaceChildren(...shop.cart.map((item) => element("li", { textContent: item.label })));
  $("checkout").disabled = shop.cart.length === 0;
  const proposals = [];
  if (personalize) {
    for (const [dept, p] of Object.entries(shop.personalizers)) {
      const complements = await p.complements(COMPLEMENTS);
      if (complements.length === 0) continue;
      const { items } = await api(`/api/items?dept=${dept}&ids=${encodeURIComponent(complements.map((c) => c.id).join(","))}`);
      remember(items.map((i) => ({ ...i, dept })));
      const byId = new Map(items.map((i) => [i.id, i]));
      for (const c of complements) if (byId.has(c.id)) proposals.push({ item: { ...byId.get(c.id), dept }, complement: c });
    }
  }
  $("complements").replaceChildren(...proposals.map(({ item, complement }) => {
    const add = element("button", { textContent: "Add", className: "add" });
    add.addEventListener("click", () => serially(() => addToCart(item)));
    const withWhat = complement.because.map((id) => labelOf(item.dept)(id)).join(" + ");
    return appendAll(element("li", { className: "complement" }), [
      element("span", { textContent: `${item.label} ` }),
      element("small", { textContent: `(with ${withWhat}; confidence ${(complement.confidence * 100).toFixed(0)} %) ` }), add,
    ]);
  }));
  if (proposals.length === 0 && personalize) $("complements").replaceChildren(element("li", { className: "note", textContent: "add home & gifts items to see what goes with them" }));
  await knows();
}

async function knows() {
  const parts = [];
  for (const [dept, p] of Object.entries(shop.personalizers)) {
    const summary = await p.stateSummary();
    const session = await p.session();
    const name = shop.departments.find((d) => d.id === dept).name;
    const recent = session.slice(-5).reverse().map((e) => element("li", { textContent: `${e.type}: ${labelOf(dept)(e.itemId, e.title)}` }));
    parts.push(appendAll(element("div", { className: "knows-dept" }), [
      element("h3", { textContent: name }),
      appendAll(element("dl"), [
        element("dt", { textContent: "events" }), element("dd", { className: "events", textContent: `${summary.events} (${summary.byType.view} views, ${summary.byType.click} clicks, ${summary.byType.cart} cart, ${summary.byType.purchase} bought)` }),
        element("dt", { textContent: "profile" }), element("dd", { className: "profile", textContent: `${summary.profileItems} items bought on earlier visits` }),
        element("dt", { textContent: "head change" }), element("dd", { className: "head-change", textContent: `${(summary.headChange * 100).toFixed(2)} % from the shipped model` }),
        element("dt", { textContent: "stored" }), element("dd", { textContent: `${summary.stateBytes.toLocaleString()} bytes` }),
      ]),
      appendAll(element("ul"), recent),
    ]));
  }
  $("knows-body").replaceChildren(...parts);
}

function navigation() {
  $("departments").replaceChildren(...shop.departments.map((d) => {
    const b = element("button", { textContent: d.name });
    b.setAttribute("aria-current", String(d.id === shop.view.dept));
    b.dataset.dept = d.id;
    b.addEventListener("click", () => serially(async () => {
      await load({ dept: d.id, page: "home", category: null, q: "" });
      navigation();
    }));
    return b;
  }));
  const dept = shop.departments.find((d) => d.id === shop.view.dept);
  $("categories").replaceChildren(...dept.categories.map((category) => {
    const b = element("button", { textContent: category });
    b.addEventListener("click", () => serially(async () => {
      await load({ dept: dept.id, page: "category", category, q: "" });
      navigation();
    }));
    return b;
  }));
  const { page, category, q } = shop.view;
  $("search").elements.q.value = page === "search" ? q : "";
  $("page-title").textContent = page === "home" ? `${dept.name}: most popular` : page === "category" ? `${dept.name}: ${category}` : `${dept.name}: “${q}”`;
}

async function start() {
  ({ departments: shop.departments } = await api("/api/departments"));
  for (const item of shop.cart) remember([item]);
  if (personalize) {
    const opened = await Promise.all(shop.departments.map(async (d) => {
      const bytes = await fetchBundle(d.bundle);
      return [d.id, await openPersonalizer(bytes, { backend: "auto", dbName: `pocketrank-shop-${d.id}` })];
    }));
    shop.personalizers = Object.fromEntries(opened);
    const first = shop.personalizers[shop.departments[0].id];
    const restored = opened.map(([dept, p]) => `${dept} ${p.restore.restored ? "restored" : p.restore.reason ?? "new"}`).join(", ");
    $("status").textContent = `backend: ${first.backend.name} (${first.backend.reason}) · saved state: ${restored}`;
    $("status").dataset.backend = first.backend.name;
  } else {
    $("status").textContent = "pocketrank is off on this page: the server's order, no model, nothing recorded";
    for (const id of ["controls", "knows"]) $(id).hidden = true;
  }
  for (const id of ["personalization", "diversity"]) {
    $(id).addEventListener("input", () => {
      shop.options[id] = Number($(id).value);
      $(`${id}-value`).textContent = $(id).value;
      serially(rerank);
    });
  }
  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new FormData(e.target).get("q").trim();
    if (q) serially(async () => {
      await load({ dept: shop.view.dept, page: "search", category: null, q });
      navigation();
    });
  });
  $("checkout").addEventListener("click", () => serially(checkout));
  $("forget").addEventListener("click", () => serially(async () => {
    for (const p of Object.values(shop.personalizers)) await p.forget();
    await rerank();
  }));
  await load(shop.view);
  navigation();
  document.body.dataset.ready = "true";
}

serially(start);

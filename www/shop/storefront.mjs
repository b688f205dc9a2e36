// The storefront server's side of the demo: the catalog and the candidate lists it sends, in
// server order, for home, category and search pages. It plays the part a shop's own search and
// merchandising would: popularity order, keyword categories, title search. It knows nothing of
// the shopper; pocketrank re-ranks its lists in the browser.
//
// Each department is a data set in the project's shared format (`items.tsv`, `sequences.tsv`),
// read at start and never copied into the repository: games is ../shared/data/games; retail
// is what `pocketrank convert-retail` makes of ../shared/data/retail (products only, the fee
// codes left out where the project keeps their list). Popularity counts each shopper's
// history without its last two items, the validation and test targets of the protocols.
import { readFileSync } from "node:fs";
import path from "node:path";

/** Items a list holds: what a server would send for re-ranking. */
export const LIST_LENGTH = 100;

// Keyword categories: the first whose pattern matches a title.
const CATEGORIES = {
  games: [
    ["PlayStation", /playstation|\bps[2-5p]\b|\bpsp\b|vita/i],
    ["Xbox", /xbox/i],
    ["Nintendo", /nintendo|\bwii\b|\b3?ds\b|gamecube|game ?boy|\bswitch\b/i],
    ["PC", /\bpc\b|\bmac\b|windows|steam/i],
    ["More", /./],
  ],
  retail: [
    ["Christmas", /christmas|xmas|advent|snowflake|reindeer/i],
    ["Kitchen", /mug|cake|tea|lunch|bak|jam|plate|cup|bowl|bottle|spoon|jar/i],
    ["Bags", /\bbag|purse|tote/i],
    ["Lights & candles", /candle|t-light|light|lantern/i],
    ["Cards & wrap", /card|wrap|paper|sticker|ribbon|tissue/i],
    ["More", /./],
  ],
};

export const DEPARTMENTS = { games: "Video games", retail: "Home & gifts" };

function rows(file) {
  return readFileSync(file, "utf8").split("\n").slice(1).filter((line) => line.trim() !== "").map((line) => line.split("\t"));
}

function categoryOf(dept, title) {
  return CATEGORIES[dept].find(([, pattern]) => pattern.test(title))[0];
}

/** Title case for the retail descriptions, which the data holds in capitals. */
function readable(description) {
  return description.toLowerCase().replace(/(^|[\s(/-])([a-z])/g, (_, before, letter) => before + letter.toUpperCase());
}

/** One department's items, most popular first. */
function loadDepartment(dept, dir) {
  const counts = new Map();
  for (const [, items] of rows(path.join(dir, "sequences.tsv"))) {
    for (const id of items.split(" ").slice(0, -2)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return rows(path.join(dir, "items.tsv"))
    .filter(([, title]) => title && title.trim() !== "")
    .map(([id, title]) => {
      // `title` is what the model reads (as in training); `label` is what the page shows.
      const label = dept === "retail" ? readable(title.trim()) : title.trim();
      return { id, title, label, dept, category: categoryOf(dept, label), popularity: counts.get(id) ?? 0 };
    })
    .sort((a, b) => b.popularity - a.popularity || a.id.localeCompare(b.id));
}

/** Both departments from their data sets: `{ games: Item[], retail: Item[] }`. */
export function loadCatalog({ games, retail }) {
  return { games: loadDepartment("games", games), retail: loadDepartment("retail", retail) };
}

/** The categories of a department, in their order. */
export function categories(dept) {
  return CATEGORIES[dept].map(([name]) => name);
}

/**
 * The server's candidate list for a page, best first: pocketrank `Candidate`s plus the `label`
 * the page shows.
 * `{ page: "home" }` the most popular; `{ page: "category", category }` the most popular of
 * it; `{ page: "search", q }` titles holding every word of q, the most popular first.
 */
export function candidates(catalog, { dept, page, category, q }) {
  const items = catalog[dept];
  if (!items) throw new Error(`dept: unknown department ${JSON.stringify(dept)} (expected ${Object.keys(DEPARTMENTS).join(" or ")})`);
  let chosen;
  if (page === "home") chosen = items;
  else if (page === "category") {
    if (!categories(dept).includes(category)) throw new Error(`category: unknown category ${JSON.stringify(category)} of ${dept}`);
    chosen = items.filter((item) => item.category === category);
  } else if (page === "search") {
    const words = String(q ?? "").toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) throw new Error("q: empty search");
    chosen = items.filter((item) => words.every((w) => item.title.toLowerCase().includes(w)));
  } else throw new Error(`page: unknown page ${JSON.stringify(page)} (expected home, category or search)`);
  const top = chosen.slice(0, LIST_LENGTH);
  return top.map((item, i) => ({ id: item.id, title: item.title, label: item.label, category: item.category, serverScore: top.length - i }));
}

// Each department's items by id, made once per catalog.
const indexes = new WeakMap();

/** Items by id (a cart's complements arrive as ids); unknown ids are left out. */
export function lookup(catalog, dept, ids) {
  const items = catalog[dept] ?? [];
  if (!indexes.has(items)) indexes.set(items, new Map(items.map((item) => [item.id, item])));
  const byId = indexes.get(items);
  return ids.map((id) => byId.get(id)).filter(Boolean).map(({ id, title, label, category }) => ({ id, title, label, category }));
}

// The retail model (models/retail: its rule table) in real chromium's CPU build: a cart's
// complements and an explained re-rank naming the cart's rule, answered as in Node (the same
// wasm; tests/node/rules.test.mjs checks their meaning).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { serve, launch } from "./harness.mjs";
import { loadPackage, rebundleBytes, root } from "../node/helpers.mjs";

const bytes = new Uint8Array(readFileSync(path.join(root, "models/retail/model.bundle")));

/** A cart of catalog items that has complements, its complements, and an explained re-rank of them (in `P`). */
async function shop(P, bundle, ids) {
  const p = await P.create(bundle, { backend: "cpu" });
  for (const id of ids) {
    await p.clearSession();
    await p.observe({ itemId: id, type: "cart", ts: 1 });
    const complements = await p.complements(5);
    if (complements.length === 0) continue;
    const candidates = [...complements.map((c) => ({ id: c.id, title: "" })), { id: "not-in-the-catalog", title: "a gift card" }];
    const ranked = await p.rerank(candidates, { explain: true });
    await p.free();
    return { cart: id, complements, ranked };
  }
  throw new Error("no catalog item among those tried has complements");
}

test("chromium loads the retail model: complements and the rule named in why, as in Node", async () => {
  let catalog = null;
  rebundleBytes(bytes, "catalog.txt", (data) => ((catalog = new TextDecoder().decode(data)), data));
  const ids = catalog.split("\n").slice(0, 300);
  const { Personalizer } = await loadPackage();
  const want = await shop(Personalizer, bytes, ids);
  assert.ok(want.ranked.some((r) => r.why?.some((w) => w.kind === "rule" && w.itemId === want.cart)), JSON.stringify(want.ranked));
  const server = await serve();
  const browser = await launch({ webgpu: false });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/tests/browser/parity.html`);
    await page.waitForFunction(() => window.ready === true);
    const got = await page.evaluate(async ({ source, ids }) => {
      const bundle = new Uint8Array(await (await fetch("/models/retail/model.bundle")).arrayBuffer());
      const shop = new Function("return " + source)();
      return shop(window.Personalizer, bundle, ids);
    }, { source: shop.toString(), ids: [want.cart] });
    assert.equal(got.cart, want.cart);
    assert.deepEqual(got.complements, want.complements);
    assert.deepEqual(got.ranked, want.ranked);
    console.log(`# chromium, retail model: cart ${got.cart} → ${got.complements.length} complements, ${got.ranked[0].why.length} terms explain the first`);
  } finally {
    await browser.close();
    await server.close();
  }
});

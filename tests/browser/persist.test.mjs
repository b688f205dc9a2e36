// Issue 5 in a real browser: the personal state survives a reload through IndexedDB,
// forget() leaves nothing behind, corrupted state is survived, and no request leaves the
// page except its own asset loads.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch } from "./harness.mjs";
import { SLATE } from "../node/helpers.mjs";

let server, browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function freshPage(context, requests) {
  const page = await context.newPage();
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(`${server.url}/tests/browser/persist.html`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

test("state round-trips across a reload, forget() empties IndexedDB, nothing leaves the page", async () => {
  const context = await browser.newContext();
  const requests = [];
  let page = await freshPage(context, requests);
  const first = await page.evaluate(() => window.open());
  assert.deepEqual(first, { restored: false, reason: "nothing saved yet" });
  const before = await page.evaluate(async (slate) => {
    const p = window.p;
    await p.observe({ itemId: "10", type: "view", ts: 1, title: "The Legend of Zelda: The Minish Cap" });
    await p.rerank(slate);
    await p.observe({ itemId: "3", type: "click", ts: 2, title: "Metroid Fusion" }); // learns
    await p.rerank(slate);
    await p.observe({ itemId: "4", type: "cart", ts: 3, title: "Pokemon Ruby" }); // learns again
    await p.flush();
    return { ranking: await p.rerank(slate), session: (await p.session()).length };
  }, SLATE);
  assert.equal(before.session, 3);

  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  const restored = await page.evaluate(() => window.open());
  assert.deepEqual(restored, { restored: true });
  const after = await page.evaluate(async (slate) => ({ ranking: await window.p.rerank(slate), session: (await window.p.session()).length }), SLATE);
  assert.equal(after.session, 3);
  assert.deepEqual(after.ranking, before.ranking, "same head and session after the reload give the same ranking");

  // The learned head differs from the shipped one: a fresh, non-persistent personalizer ranks differently.
  const shipped = await page.evaluate(async (slate) => {
    const bytes = new Uint8Array(await (await fetch("/models/games/model.bundle")).arrayBuffer());
    const { openPersonalizer } = await import("/pkg/persist.js");
    const q = await openPersonalizer(bytes, { persist: false });
    for (const e of await window.p.session()) await q.personalizer.observe({ ...e, type: "view" });
    return q.rerank(slate);
  }, SLATE);
  assert.notDeepEqual(shipped.map((r) => r.score), after.ranking.map((r) => r.score), "learning changed the scores");

  await page.evaluate(() => window.p.forget());
  const left = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open("pocketrank");
        req.onsuccess = () => {
          const all = req.result.transaction("state").objectStore("state").getAllKeys();
          all.onsuccess = () => resolve(all.result);
          all.onerror = () => reject(all.error);
        };
        req.onerror = () => reject(req.error);
      }),
  );
  assert.deepEqual(left, [], "forget() leaves nothing in IndexedDB");

  // No WebGPU in this browser: the CPU build is the only wasm loaded.
  const allowed = new Set(["/tests/browser/persist.html", "/pkg/persist.js", "/pkg/methods.js", "/pkg/pocketrank.js", "/pkg/cpu/pocketrank_cpu.js", "/pkg/cpu/pocketrank_cpu_bg.wasm", "/models/games/model.bundle"]);
  for (const url of requests) {
    const u = new URL(url);
    assert.equal(u.origin, server.url, `request to another origin: ${url}`);
    // wasm-bindgen's snippet module (the JSON fast path of src/wasm/mod.rs) sits beside the build.
    assert.ok(allowed.has(u.pathname) || u.pathname.startsWith("/pkg/cpu/snippets/"), `unexpected request: ${url}`);
  }
  await context.close();
});

test("a head learned at a re-rank (every > 1) is saved too", async () => {
  const context = await browser.newContext();
  const page = await freshPage(context, []);
  await page.evaluate(() => window.open());
  const before = await page.evaluate(async (slate) => {
    const p = window.p;
    await p.setLearning({ every: 2 });
    await p.observe({ itemId: "10", type: "view", ts: 1, title: "The Legend of Zelda: The Minish Cap" });
    await p.rerank(slate);
    await p.observe({ itemId: "3", type: "click", ts: 2, title: "Metroid Fusion" }); // one take: waits for a second
    const pending = await p.exportState();
    await p.rerank(slate); // the take is learned here, when the slate is replaced
    await p.flush();
    const learned = await p.exportState();
    return { ranking: await p.rerank(slate), changed: pending.some((b, i) => b !== learned[i]) };
  }, SLATE);
  assert.ok(before.changed, "the re-rank changed the state");
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  assert.deepEqual(await page.evaluate(() => window.open()), { restored: true });
  const after = await page.evaluate(async (slate) => window.p.rerank(slate), SLATE);
  assert.deepEqual(after, before.ranking, "the head learned at the re-rank survived the reload");
  await context.close();
});

// What can happen to the stored record, each survived: a clean start with the reason, and the
// record replaced by a good one on the next save. Each edit runs in the page on the stored bytes.
const DAMAGES = [
  ["flipped bytes", "bytes[20] ^= 0xff; return bytes;", /personal state rejected: checksum mismatch/],
  ["truncated", "return bytes.slice(0, bytes.length - 9);", /personal state rejected: checksum mismatch/],
  ["another model's", "new DataView(bytes.buffer).setUint8(12, bytes[12] ^ 1); return reseal(bytes);", /^state was learned on another model$/],
  ["a newer format", "new DataView(bytes.buffer).setUint32(8, 3, true); return reseal(bytes);", /^state format 3, this build reads 1 and 2$/],
  ["not bytes", 'return "a string another script stored";', /^state: expected bytes/],
];

/** In the page: replace the stored state with `edit(bytes)`; `reseal` recomputes the checksum. */
function damageStored(edit) {
  const reseal = async (bytes) => {
    const body = bytes.slice(0, bytes.length - 32);
    const out = new Uint8Array(bytes.length);
    out.set(body);
    out.set(new Uint8Array(await crypto.subtle.digest("SHA-256", body)), body.length);
    return out;
  };
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("pocketrank");
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const read = req.result.transaction("state", "readonly").objectStore("state").get("personal");
      read.onsuccess = async () => {
        const damaged = await new Function("bytes", "reseal", `return (async () => { ${edit} })();`)(new Uint8Array(read.result), reseal);
        const put = req.result.transaction("state", "readwrite").objectStore("state").put(damaged, "personal");
        put.onsuccess = () => { req.result.close(); resolve(); };
        put.onerror = () => reject(put.error);
      };
    };
  });
}

for (const [what, edit, reason] of DAMAGES) {
  test(`a stored state ${what}: a clean start with the reason, replaced on the next save (contract: state-stored)`, async () => {
    const context = await browser.newContext();
    const page = await freshPage(context, []);
    await page.evaluate(() => window.open());
    await page.evaluate(async () => {
      await window.p.observe({ itemId: "3", type: "view", ts: 1 });
      await window.p.flush();
    });
    await page.evaluate(damageStored, edit);
    await page.reload();
    await page.waitForFunction(() => window.ready === true);
    const restore = await page.evaluate(() => window.open());
    assert.equal(restore.restored, false, what);
    assert.match(restore.reason, reason, what);
    assert.equal(await page.evaluate(async (slate) => (await window.p.rerank(slate)).length, SLATE), SLATE.length, "the page works");
    assert.equal(await page.evaluate(async () => (await window.p.session()).length), 0, "a clean start");
    // The next save replaces the record: the visit after restores it.
    await page.evaluate(async () => {
      await window.p.observe({ itemId: "4", type: "click", ts: 2 });
      await window.p.flush();
    });
    await page.reload();
    await page.waitForFunction(() => window.ready === true);
    assert.deepEqual(await page.evaluate(() => window.open()), { restored: true }, what);
    assert.deepEqual(await page.evaluate(async () => (await window.p.session()).map((e) => e.itemId)), ["4"]);
    await context.close();
  });
}

test("a database a newer version made: persistence off with the reason, the page works (contract: state-stored)", async () => {
  const context = await browser.newContext();
  const page = await freshPage(context, []);
  await page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open("pocketrank", 7);
    req.onupgradeneeded = () => req.result.createObjectStore("state-v7");
    req.onsuccess = () => { req.result.close(); resolve(); };
    req.onerror = () => reject(req.error);
  }));
  const restore = await page.evaluate(() => window.open());
  assert.equal(restore.restored, false);
  assert.match(restore.reason, /^IndexedDB "pocketrank" could not be opened \(VersionError: .*\); persistence is off for this page$/);
  assert.equal(await page.evaluate(async (slate) => (await window.p.rerank(slate)).length, SLATE), SLATE.length);
  await page.evaluate(async () => {
    await window.p.observe({ itemId: "4", type: "click", ts: 2 });
    await window.p.flush();
  });
  await context.close();
});

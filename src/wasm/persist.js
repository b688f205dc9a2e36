// Storefront entry point: a Personalizer whose personal state (head + session) is kept in
// this browser's IndexedDB and restored on the next visit. Nothing is sent anywhere.
//
//   import { openPersonalizer } from "pocketrank/persist";
//   const p = await openPersonalizer(bundleBytes);          // persist: true by default
//   await p.observe(event); await p.rerank(candidates); await p.flush(); await p.forget();
// Saved after every call that can change the state, re-ranks included (learning may update
// the head there).
import { Personalizer } from "./pocketrank.js";
import { METHODS, defineMethods } from "./methods.js";

const STORE = "state";
const KEY = "personal";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function openDb(name) {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function withStore(db, mode, action) {
  const tx = db.transaction(STORE, mode);
  const result = await request(action(tx.objectStore(STORE)));
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
  return result;
}

/**
 * A Personalizer plus automatic IndexedDB persistence (opt out with `persist: false`): every
 * method of ./methods.js, and after each one that can change the state (`changesState`) the
 * state is saved.
 */
export class PersistentPersonalizer {
  constructor(personalizer, db, restore) {
    this.personalizer = personalizer;
    this.db = db;
    /** What happened to the saved state at start: `{restored, reason?}`. */
    this.restore = restore;
    this.saving = Promise.resolve();
  }

  static {
    const changes = new Set(METHODS.filter((m) => m.changesState).map((m) => m.name));
    defineMethods(this, async (self, name, args) => {
      try {
        return await self.personalizer[name](...args);
      } finally {
        // Saved after a failed call too: a call that throws may still have changed the
        // state (importState of corrupted bytes leaves a clean start).
        if (changes.has(name)) self.#save();
      }
    });
  }

  get backend() {
    return this.personalizer.backend;
  }

  /** Resolves once every change so far is stored. */
  flush() {
    return this.saving;
  }

  /** Back to the shipped model with no session, and nothing left in IndexedDB. */
  async forget() {
    await this.personalizer.forget();
    await this.saving;
    if (this.db) await withStore(this.db, "readwrite", (s) => s.delete(KEY));
  }

  #save() {
    if (!this.db) return;
    // Queued behind the call that changed the state, so it captures exactly that state.
    const bytes = this.personalizer.exportState();
    // Chained so writes land in order; a failed write is reported, not thrown into the page.
    this.saving = this.saving
      .then(async () => {
        const state = await bytes;
        await withStore(this.db, "readwrite", (s) => s.put(state, KEY));
      })
      .catch((e) => console.warn("pocketrank: could not save personal state:", e));
  }
}

/**
 * Load the model and restore this shopper's state.
 * options: everything `Personalizer.create` takes, plus `persist` (default true) and
 * `dbName` (default "pocketrank").
 */
export async function openPersonalizer(bundle, options = {}) {
  const { persist = true, dbName = "pocketrank", ...createOptions } = options;
  const personalizer = await Personalizer.create(bundle, createOptions);
  if (!persist) return new PersistentPersonalizer(personalizer, null, { restored: false, reason: "persistence is off" });
  let db;
  try {
    db = await openDb(dbName);
  } catch (e) {
    // A database a newer pocketrank made (VersionError), or storage the browser refuses:
    // the page still works, without persistence; the newer build's data is left alone.
    const reason = `IndexedDB "${dbName}" could not be opened (${e?.name}: ${e?.message}); persistence is off for this page`;
    return new PersistentPersonalizer(personalizer, null, { restored: false, reason });
  }
  const saved = await withStore(db, "readonly", (s) => s.get(KEY));
  let restore = { restored: false, reason: "nothing saved yet" };
  if (saved !== undefined) {
    try {
      restore = await personalizer.importState(saved);
    } catch (e) {
      // Corrupted state: the personalizer has already started clean; drop the bad bytes.
      restore = { restored: false, reason: e.message };
    }
    if (!restore.restored) await withStore(db, "readwrite", (s) => s.delete(KEY));
  }
  return new PersistentPersonalizer(personalizer, db, restore);
}

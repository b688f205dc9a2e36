import type { CreateOptions, PersonalizerMethods, RestoreResult } from "./pocketrank.js";
import { Personalizer } from "./pocketrank.js";

export interface OpenOptions extends CreateOptions {
  /** Keep the personal state in IndexedDB and restore it next visit (default true). */
  persist?: boolean;
  /** IndexedDB database name (default "pocketrank"). */
  dbName?: string;
}

/**
 * A Personalizer whose personal state is saved to IndexedDB after every call that can change
 * it (events, re-ranks, imports, clearing).
 */
export declare class PersistentPersonalizer {
  readonly personalizer: Personalizer;
  /** What happened to the saved state at start. */
  readonly restore: RestoreResult;
  /** Resolves once every change so far is stored. */
  flush(): Promise<void>;
}
/** Back to the shipped model with no session via `forget()`, which also empties IndexedDB. */
export interface PersistentPersonalizer extends PersonalizerMethods {}

/** Load the model (verifying the bundle) and restore this shopper's saved state. */
export declare function openPersonalizer(bundle: Uint8Array, options?: OpenOptions): Promise<PersistentPersonalizer>;

import type { CreateOptions, SessionEvent, Candidate, RerankOptions, RankedItem, LearningOptions, PrivacyOptions, PrivateUpdate, RestoreResult, InitInput } from "./pocketrank.js";
import { Personalizer } from "./pocketrank.js";

export interface OpenOptions extends CreateOptions {
  /** Keep the personal state in IndexedDB and restore it next visit (default true). */
  persist?: boolean;
  /** IndexedDB database name (default "pocketrank"). */
  dbName?: string;
  /** Where the wasm comes from (what `init` takes); default: next to this module. */
  wasm?: InitInput | Promise<InitInput>;
}

/** A Personalizer whose personal state is saved to IndexedDB after every event. */
export declare class PersistentPersonalizer {
  readonly personalizer: Personalizer;
  /** What happened to the saved state at start. */
  readonly restore: RestoreResult;
  readonly backend: string;
  observe(event: SessionEvent): void;
  rerank(candidates: Candidate[], options?: RerankOptions): RankedItem[];
  session(): SessionEvent[];
  setLearning(options: LearningOptions): void;
  exportPrivateUpdate(privacy: PrivacyOptions): PrivateUpdate;
  /** Resolves once every change so far is stored. */
  flush(): Promise<void>;
  /** Back to the shipped model with no session, and nothing left in IndexedDB. */
  forget(): Promise<void>;
}

/** Load the model (verifying the bundle) and restore this shopper's saved state. */
export declare function openPersonalizer(bundle: Uint8Array, options?: OpenOptions): Promise<PersistentPersonalizer>;

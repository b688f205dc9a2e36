import type { CreateOptions, SessionEvent, Candidate, RerankOptions, RankedItem, LearningOptions, PrivacyOptions, PrivateUpdate, RestoreResult, BackendReport } from "./pocketrank.js";
import { Personalizer } from "./pocketrank.js";

export interface OpenOptions extends CreateOptions {
  /** Keep the personal state in IndexedDB and restore it next visit (default true). */
  persist?: boolean;
  /** IndexedDB database name (default "pocketrank"). */
  dbName?: string;
}

/** A Personalizer whose personal state is saved to IndexedDB after every event. */
export declare class PersistentPersonalizer {
  readonly personalizer: Personalizer;
  /** What happened to the saved state at start. */
  readonly restore: RestoreResult;
  readonly backend: BackendReport;
  /** Record an event; the state is saved after it (see `flush`). */
  observe(event: SessionEvent): Promise<void>;
  rerank(candidates: Candidate[], options?: RerankOptions): Promise<RankedItem[]>;
  session(): Promise<SessionEvent[]>;
  setLearning(options: LearningOptions): Promise<void>;
  exportPrivateUpdate(privacy: PrivacyOptions): Promise<PrivateUpdate>;
  /** Resolves once every change so far is stored. */
  flush(): Promise<void>;
  /** Back to the shipped model with no session, and nothing left in IndexedDB. */
  forget(): Promise<void>;
}

/** Load the model (verifying the bundle) and restore this shopper's saved state. */
export declare function openPersonalizer(bundle: Uint8Array, options?: OpenOptions): Promise<PersistentPersonalizer>;

import type { CreateOptions, SessionEvent, Candidate, RerankOptions, RankedItem, LearningOptions, PrivacyOptions, PrivateUpdate, RestoreResult, BackendReport } from "./pocketrank.js";

/** The Personalizer API run in a module worker: every call returns a promise. */
export declare class WorkerPersonalizer {
  static create(bundle: Uint8Array, options?: CreateOptions): Promise<WorkerPersonalizer>;
  /** The backend in use and why, as of the latest answer. */
  readonly backend: BackendReport;
  observe(event: SessionEvent): Promise<void>;
  rerank(candidates: Candidate[], options?: RerankOptions): Promise<RankedItem[]>;
  session(): Promise<SessionEvent[]>;
  clearSession(): Promise<void>;
  setLearning(options: LearningOptions): Promise<void>;
  exportState(): Promise<Uint8Array>;
  importState(bytes: Uint8Array): Promise<RestoreResult>;
  forget(): Promise<void>;
  exportPrivateUpdate(privacy: PrivacyOptions): Promise<PrivateUpdate>;
  /** Stop the worker; pending calls reject. */
  terminate(): void;
}

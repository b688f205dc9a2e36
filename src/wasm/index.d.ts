export type { EventType, SessionEvent, Candidate, RerankOptions, RankedItem, LearningOptions, Limits, RestoreResult, PrivacyOptions, PrivateUpdate, Complement, StateSummary, TermShares, Why, WhyKind, CreateOptions as BuildCreateOptions, BackendReport, LoadTimings, InitInput } from "./cpu/pocketrank_cpu.js";
import type { SessionEvent, Candidate, RerankOptions, RankedItem, LearningOptions, Limits, RestoreResult, Complement, StateSummary, PrivacyOptions, PrivateUpdate, CreateOptions as BuildCreateOptions, BackendReport, LoadTimings, InitInput } from "./cpu/pocketrank_cpu.js";

export interface CreateOptions extends BuildCreateOptions {
  /** Where each build's .wasm comes from (URL, Response or bytes); default: next to the package. */
  wasm?: { cpu?: InitInput; webgpu?: InitInput };
}

/** What every error of the package carries besides its message: a stable code to branch on. */
export type ErrorCode = "invalid-input" | "bundle" | "model" | "io" | "data";
export interface PocketrankError extends Error {
  code: ErrorCode;
}

/** What a personalizer does, in the page or in a worker: every call returns a promise. */
export interface PersonalizerMethods {
  /** The backend in use and why; turns to the CPU if the GPU is lost. */
  readonly backend: BackendReport;
  observe(event: SessionEvent): Promise<void>;
  rerank(candidates: Candidate[], options?: RerankOptions): Promise<RankedItem[]>;
  session(): Promise<SessionEvent[]>;
  /** Up to k items completing the session's cart, from the model's association rules ([] when it ships none). */
  complements(k: number): Promise<Complement[]>;
  /** What this device keeps about its shopper (events by type, head change, state size), for a "what this device knows" panel. */
  stateSummary(): Promise<StateSummary>;
  clearSession(): Promise<void>;
  setLearning(options: LearningOptions): Promise<void>;
  setLimits(limits: Limits): Promise<void>;
  exportState(): Promise<Uint8Array>;
  importState(bytes: Uint8Array): Promise<RestoreResult>;
  forget(): Promise<void>;
  exportPrivateUpdate(privacy: PrivacyOptions): Promise<PrivateUpdate>;
}

/**
 * A shopper's on-device re-ranker. Calls run in order, one at a time. Bad input rejects with
 * an `Error` naming the field.
 */
export declare class Personalizer {
  /** Verify a bundle and load it; only the wasm build that is used is fetched. */
  static create(bundle: Uint8Array | ArrayBuffer | ArrayBufferView, options?: CreateOptions): Promise<Personalizer>;
  /** How long each stage of `create` took, in milliseconds. */
  readonly loadTimings: LoadTimings;
  /** Release the model's memory. */
  free(): Promise<void>;
}
export interface Personalizer extends PersonalizerMethods {}

import type { CreateOptions, PersonalizerMethods } from "./pocketrank.js";

/** The Personalizer API run in a module worker; `backend` is as of the latest answer. */
export declare class WorkerPersonalizer {
  static create(bundle: Uint8Array, options?: CreateOptions): Promise<WorkerPersonalizer>;
  /** Stop the worker; pending calls reject. */
  terminate(): void;
}
export interface WorkerPersonalizer extends PersonalizerMethods {}

export interface FetchBundleOptions {
  /** Expected digest: "sha256-<base64>" (as in Subresource Integrity) or 64 hex digits. */
  integrity?: string;
  /** Called as bytes arrive; `total` is the Content-Length when the server sends one. */
  onProgress?: (loaded: number, total: number) => void;
  /** Keep the verified bundle in the Cache API (default true). */
  cache?: boolean;
  /** Cache name (default "pocketrank-models"). */
  cacheName?: string;
}

/** Fetch (or take from the cache) a model bundle and verify it before use. */
export declare function fetchBundle(url: string, options?: FetchBundleOptions): Promise<Uint8Array>;

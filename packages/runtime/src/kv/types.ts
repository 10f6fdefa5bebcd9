/**
 * A small shared key-value store with per-key expiry, for state that must be
 * shared by the replicas of a service (distributed mode: Redis) or that only
 * lives in this process (standalone, or no REDIS_URL: memory).
 *
 * Contract (both implementations):
 * - Values are opaque bytes; the store copies them (the caller may reuse its buffer).
 * - Every entry expires: `ttlMs` must be > 0 (fractions round up to whole ms).
 *   An expired entry is never returned.
 * - Nothing blocks on an unreachable backend: calls reject quickly with
 *   RuntimeError `GHOSTDNS_RUNTIME_KV_UNAVAILABLE`. Callers treat a failed get
 *   as a miss and a failed set/delete as "not shared"; they never retry in a loop.
 * - After close(), calls reject with `GHOSTDNS_RUNTIME_KV_CLOSED`; close() is idempotent.
 */
export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  /** The value, or null when absent or expired. */
  get(key: string): Promise<Buffer | null>;
  /** Values for each key, in order (null when absent or expired); one round trip. */
  getMany(keys: readonly string[]): Promise<(Buffer | null)[]>;
  /** Stores (or overwrites) the value for ttlMs milliseconds. */
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  /** Removes the key; absent keys are fine. */
  delete(key: string): Promise<void>;
  /** True while the store can answer (Redis: connected and ready; memory: until closed). */
  isHealthy(): boolean;
  close(): Promise<void>;
}

import { RuntimeError } from '../errors.js';
import type { KeyValueStore } from './types.js';
import { checkValue, closedError, ttlMillis } from './validate.js';

export interface MemoryKeyValueStoreOptions {
  /** Most entries held; setting a new key beyond it evicts the oldest insertion. */
  maxEntries: number;
  /** Clock in ms (tests). Default Date.now. */
  now?: () => number;
}

interface Entry {
  value: Buffer;
  expiresAt: number;
}

/**
 * An in-process KeyValueStore: a Map in insertion order, expiry checked on
 * read (no timers), bounded by maxEntries (oldest insertion evicted first;
 * overwriting a key counts as a new insertion). Not shared with anyone.
 */
export function createMemoryKeyValueStore(options: MemoryKeyValueStoreOptions): KeyValueStore {
  const { maxEntries } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RuntimeError(
      'GHOSTDNS_RUNTIME_KV_INVALID_ARGUMENT',
      `memory key-value store: maxEntries must be a positive integer, got ${String(maxEntries)}`,
    );
  }
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let closed = false;

  function read(key: string, at: number): Buffer | null {
    const entry = entries.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt <= at) {
      entries.delete(key);
      return null;
    }
    return Buffer.from(entry.value);
  }

  function open(): void {
    if (closed) throw closedError('memory');
  }

  return {
    kind: 'memory',
    async get(key) {
      open();
      return read(key, now());
    },
    async getMany(keys) {
      open();
      const at = now();
      return keys.map((key) => read(key, at));
    },
    async set(key, value, ttlMs) {
      open();
      checkValue(value);
      const expiresAt = now() + ttlMillis(ttlMs);
      entries.delete(key);
      entries.set(key, { value: Buffer.from(value), expiresAt });
      // Map iterates in insertion order: the first keys are the oldest insertions.
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break;
        entries.delete(oldest);
      }
    },
    async delete(key) {
      open();
      entries.delete(key);
    },
    isHealthy() {
      return !closed;
    },
    async close() {
      closed = true;
      entries.clear();
    },
  };
}

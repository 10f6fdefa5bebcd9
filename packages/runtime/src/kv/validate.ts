import { RuntimeError } from '../errors.js';

/** Whole milliseconds (rounded up) of a positive, finite TTL; throws otherwise. */
export function ttlMillis(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RuntimeError('GHOSTDNS_RUNTIME_KV_INVALID_ARGUMENT', `key-value store: ttlMs must be a positive number of milliseconds, got ${String(ttlMs)}`);
  }
  return Math.ceil(ttlMs);
}

export function checkValue(value: Buffer): void {
  if (!Buffer.isBuffer(value)) {
    throw new RuntimeError('GHOSTDNS_RUNTIME_KV_INVALID_ARGUMENT', 'key-value store: value must be a Buffer');
  }
}

export function closedError(kind: string): RuntimeError {
  return new RuntimeError('GHOSTDNS_RUNTIME_KV_CLOSED', `${kind} key-value store is closed`);
}

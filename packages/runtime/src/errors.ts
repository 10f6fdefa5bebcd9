/** Stable error codes of @ghostdns/runtime. */
export type RuntimeErrorCode =
  | 'GHOSTDNS_RUNTIME_STARTUP_FAILED'
  | 'GHOSTDNS_RUNTIME_LISTEN_FAILED'
  | 'GHOSTDNS_RUNTIME_INVALID_RUNTIME'
  | 'GHOSTDNS_RUNTIME_SHUTDOWN_FAILED'
  /** The key-value store could not answer (Redis down, not yet connected, timed out): treat as a miss. */
  | 'GHOSTDNS_RUNTIME_KV_UNAVAILABLE'
  /** The key-value store was used after close(). */
  | 'GHOSTDNS_RUNTIME_KV_CLOSED'
  /** A key-value store call or option was invalid (ttlMs <= 0, maxEntries < 1...). */
  | 'GHOSTDNS_RUNTIME_KV_INVALID_ARGUMENT';

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';

  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

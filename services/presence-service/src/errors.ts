/** Stable error codes of presence-service (GHOSTDNS_PRESENCE_*). */
export type PresenceErrorCode =
  /** `wg show all dump` could not be run or exited non-zero (missing binary, no permission, timeout). */
  | 'GHOSTDNS_PRESENCE_WG_FAILED'
  /** The presence snapshot could not be read from or written to the key-value store. */
  | 'GHOSTDNS_PRESENCE_SNAPSHOT_FAILED';

export class PresenceError extends Error {
  override readonly name = 'PresenceError';

  constructor(
    readonly code: PresenceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

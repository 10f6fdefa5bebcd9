/** Stable error codes of presence-service (GHOSTDNS_PRESENCE_*). */
export type PresenceErrorCode =
  /** `wg show all dump` could not be run or exited non-zero (missing binary, no permission, timeout). */
  | 'GHOSTDNS_PRESENCE_WG_FAILED'
  /** The presence snapshot could not be read from or written to the key-value store. */
  | 'GHOSTDNS_PRESENCE_SNAPSHOT_FAILED'
  /** The peer mappings could not be read from or written to the database. */
  | 'GHOSTDNS_PRESENCE_MAPPINGS_FAILED'
  /** A mapping's name makes no DNS label (empty or only punctuation). */
  | 'GHOSTDNS_PRESENCE_MAPPING_INVALID'
  /** The Tailscale API or `tailscale status --json` failed (network, timeout, 5xx, unreadable body, missing binary). */
  | 'GHOSTDNS_PRESENCE_TAILSCALE_FAILED'
  /** The Tailscale API refused the API key or OAuth client (401/403). */
  | 'GHOSTDNS_PRESENCE_TAILSCALE_UNAUTHORIZED'
  /** The Tailscale API answered 429: no call before its Retry-After. */
  | 'GHOSTDNS_PRESENCE_TAILSCALE_RATE_LIMITED';

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

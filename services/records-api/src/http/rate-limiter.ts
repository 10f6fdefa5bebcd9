/**
 * Fixed one-minute windows per key (a token, or a client address without
 * one). In-process: each replica counts its own requests.
 */
export class RateLimiter {
  private window = -1;
  private counts = new Map<string, number>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** False when `key` has used up this minute's allowance (always true when the limit is 0). */
  take(key: string): { allowed: boolean; retryAfterSec: number } {
    if (this.perMinute === 0) return { allowed: true, retryAfterSec: 0 };
    const at = this.now();
    const window = Math.floor(at / 60_000);
    if (window !== this.window) {
      // A new minute forgets every key: memory stays bounded by one minute of distinct keys.
      this.window = window;
      this.counts = new Map();
    }
    const used = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, used);
    return { allowed: used <= this.perMinute, retryAfterSec: Math.max(1, Math.ceil(((window + 1) * 60_000 - at) / 1000)) };
  }
}

// The synchronous cache-hit path of the UDP server: key read from the bytes,
// one LRU lookup, one copy with ID/TTLs patched. No promise, no closure, no
// dns-packet, and nothing allocated on a miss except the key string.
import type { CacheStatus } from '@ghostdns/contracts';
import type { IpFamily } from '../dns/address.js';
import { noopResolverMetrics, type ResolverMetrics } from '../metrics.js';
import { type AnswerCache, type CacheEntry, writeAnswer } from './answer-cache.js';
import { ParsedQuery, parseQueryKey } from './wire.js';

/**
 * Decides whether the fast path may answer this client at all. The full path
 * runs the allow-query / allow-recursion ACLs and RRL as pipeline stages; the
 * fast path skips them, so whoever composes the server wires this to the same
 * checks. Returning false sends the query to the full path (which refuses,
 * drops or slips it). When it returns true the fast path answers, so an RRL
 * implementation must count that response here.
 */
/**
 * What the pipeline's outer stages decide for a cache hit that never reaches
 * them: whether the client may be answered from the cache at all (ACLs, and
 * no policy rule on the name), and what response rate limiting makes of the
 * answer (itself, a truncated slip, or nothing).
 */
export interface FastPathGuard {
  admit(query: Buffer, clientAddress: string, family: IpFamily): boolean;
  /** The response to send, or null to drop it (RRL). */
  limit(response: Buffer, clientAddress: string, family: IpFamily): Buffer | null;
}

export const admitAll: FastPathGuard = { admit: () => true, limit: (response) => response };

/** Called for the one background refresh of a popular entry close to expiry. */
export type PrefetchTrigger = (entry: CacheEntry, query: Buffer) => void;

export class CacheFastPath {
  /** Status of the last answer returned by tryAnswer (HIT or PREFETCH). */
  status: CacheStatus = 'HIT';
  /** Entry of the last answer returned by tryAnswer. */
  entry: CacheEntry | null = null;
  guard: FastPathGuard;
  private readonly parsed = new ParsedQuery();

  constructor(
    private readonly cache: AnswerCache,
    private readonly prefetch: PrefetchTrigger,
    guard: FastPathGuard = admitAll,
    private readonly metrics: Pick<ResolverMetrics, 'cacheHit' | 'cachePrefetch'> = noopResolverMetrics,
    private readonly server = '',
  ) {
    this.guard = guard;
  }

  /**
   * The answer to send now, or null to take the full path: not a plain query,
   * not cached, expired (stale answers need the forwarder to have failed first),
   * larger than the client's UDP payload size (the full path truncates), or
   * not admitted by the guard.
   */
  tryAnswer(msg: Buffer, clientAddress: string, family: IpFamily): Buffer | null {
    const parsed = this.parsed;
    if (!parseQueryKey(msg, parsed)) return null;
    const entry = this.cache.get(parsed.key);
    if (entry === undefined) return null;
    const now = this.cache.now();
    if (now >= entry.expiresAtMs || entry.wire.length > parsed.udpSize) return null;
    if (!this.guard.admit(msg, clientAddress, family)) return null;
    const status = this.cache.hit(entry, now);
    const out = writeAnswer(entry, msg, now, false);
    this.metrics.cacheHit(this.server, entry.kind === 'positive' ? 'success' : 'denial');
    if (status === 'PREFETCH') {
      this.metrics.cachePrefetch(this.server);
      this.prefetch(entry, msg);
    }
    this.status = status;
    this.entry = entry;
    return out;
  }
}

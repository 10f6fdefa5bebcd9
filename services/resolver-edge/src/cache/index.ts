// The cache stage: sits between the recursion ACL and the forwarder, so only
// forwarded answers are ever stored (local zones and policy answers are
// produced above it and never cached; a reload flushes, so a newly blocked or
// newly local name cannot keep being served from the cache).
import type { GhostConfig } from '@ghostdns/config';
import type { CacheStatus } from '@ghostdns/contracts';
import type { ClientInfo, Resolution, ResolveRequest, Resolver } from '../dns/resolver.js';
import { readHeader, readQuestion } from '../dns/wire.js';
import { noopResolverMetrics, serverLabel, silentLogger, type EdgeLogger, type ResolverMetrics } from '../metrics.js';
import type { PipelineContext, PipelineStage } from '../pipeline.js';
import { AnswerCache, writeAnswer, type CacheEntry } from './answer-cache.js';
import { admitAll, CacheFastPath, type FastPathGuard } from './fast-path.js';
import { decodeEntry, encodeEntry, sharedKey, type SharedCacheStore } from './shared.js';
import { ParsedQuery, parseQueryKey } from './wire.js';

export { AnswerCache, writeAnswer, SERVFAIL_TTL_S, STALE_ANSWER_TTL_S, PREFETCH_MIN_HITS, type CacheEntry } from './answer-cache.js';
export { CacheFastPath, admitAll, type FastPathGuard, type PrefetchTrigger } from './fast-path.js';
export { ParsedQuery, parseQueryKey, scanAnswer, KEY_CD, KEY_DO, KEY_EDNS } from './wire.js';
export type { SharedCacheStore } from './shared.js';

/** The client recorded on a prefetch's upstream query (the forwarder does not look at it). */
const PREFETCH_CLIENT: ClientInfo = { address: '::1', port: 0, family: 'IPv6', transport: 'UDP' };

export interface CacheStage extends PipelineStage {
  readonly cache: AnswerCache;
  /** The UDP server's synchronous hit path; null when the cache is disabled (cache.maxBytes 0). */
  readonly fastPath: CacheFastPath | null;
  /** Replaces the fast path's guard (the access stages' ACL/RRL check). */
  setGuard(guard: FastPathGuard): void;
  /** Drops cached answers for a name and everything below it (dynamic records, new blocks). */
  invalidate(name: string): void;
}

export interface CacheStageOptions {
  config: Pick<GhostConfig, 'cache' | 'dns'>;
  logger?: EdgeLogger;
  metrics?: ResolverMetrics;
  /** The shared second level (only used with cache.shared). */
  store?: SharedCacheStore | null;
  now?: () => number;
}

export function createCacheStage(context: PipelineContext): CacheStage {
  return new AnswerCacheStage({
    config: context.config,
    logger: context.logger,
    metrics: context.metrics,
    store: context.config.cache.shared ? (context.store ?? null) : null,
  });
}

/** Finds the cache stage among a pipeline's stages (for the UDP server's fast path). */
export function findCacheStage(stages: readonly PipelineStage[]): CacheStage | null {
  for (const stage of stages) if (stage instanceof AnswerCacheStage) return stage;
  return null;
}

export class AnswerCacheStage implements CacheStage {
  readonly name = 'cache';
  readonly cache: AnswerCache;
  readonly fastPath: CacheFastPath | null;
  private readonly logger: EdgeLogger;
  private readonly metrics: ResolverMetrics;
  /** CoreDNS `server` label, the same as the handler's. */
  private readonly server: string;
  private readonly store: SharedCacheStore | null;
  private next: Resolver | null = null;

  constructor(options: CacheStageOptions) {
    const c = options.config.cache;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noopResolverMetrics;
    this.server = serverLabel(options.config.dns.listen);
    this.store = options.store ?? null;
    this.cache = new AnswerCache({
      maxBytes: c.maxBytes,
      minTtl: c.minTtl,
      maxTtl: Math.max(c.maxTtl, c.minTtl),
      negativeMaxTtl: c.negativeMaxTtl,
      serveStale: c.serveStale,
      staleTtl: c.staleTtl,
      prefetch: c.prefetch,
      ...(options.now ? { now: options.now } : {}),
    });
    this.fastPath = this.cache.enabled ? new CacheFastPath(this.cache, this.prefetchTrigger, admitAll, this.metrics, this.server) : null;
  }

  setGuard(guard: FastPathGuard): void {
    if (this.fastPath !== null) this.fastPath.guard = guard;
  }

  invalidate(name: string): void {
    this.cache.invalidateName(name);
  }

  wrap(next: Resolver): Resolver {
    this.next = next;
    if (!this.cache.enabled) return next;
    return { resolve: (request) => this.resolve(next, request) };
  }

  async reload(): Promise<void> {
    // Policy and local data were re-read above us: anything cached may now be blocked or local.
    this.cache.clear();
  }

  async stop(): Promise<void> {
    this.cache.clear();
  }

  private async resolve(next: Resolver, request: ResolveRequest): Promise<Resolution> {
    const parsed = new ParsedQuery();
    if (!parseQueryKey(request.query, parsed)) return next.resolve(request);
    const key = parsed.key;
    let entry = this.cache.get(key);
    let now = this.cache.now();
    if ((entry === undefined || !this.cache.isFresh(entry, now)) && this.store !== null) {
      const shared = await this.sharedGet(key);
      now = this.cache.now();
      if (shared !== null && (entry === undefined || shared.storedAtMs > entry.storedAtMs)) {
        this.cache.adopt(shared);
        entry = shared;
      }
    }
    if (entry !== undefined && this.cache.isFresh(entry, now)) {
      const status = this.cache.hit(entry, now);
      this.metrics.cacheHit(this.server, entry.kind === 'positive' ? 'success' : 'denial');
      if (status === 'PREFETCH') {
        this.metrics.cachePrefetch(this.server);
        this.prefetchTrigger(entry, request.query);
      }
      return cached(writeAnswer(entry, request.query, now, false), status);
    }

    this.metrics.cacheMiss(this.server);
    let resolution: Resolution;
    try {
      resolution = await next.resolve(request);
    } catch (err) {
      const stale = this.staleAnswer(entry, request.query);
      if (stale !== null) {
        this.logger.debug({ err }, 'forwarder failed; serving stale');
        return stale;
      }
      throw err;
    }
    // RFC 8767 §4: when resolution fails (SERVFAIL, timeouts) answer from an expired entry.
    if (rcodeOf(resolution.response) === 2) {
      const stale = this.staleAnswer(entry, request.query);
      if (stale !== null) return stale;
    }
    this.store_(key, parsed.nameLength, resolution);
    return resolution;
  }

  private staleAnswer(entry: CacheEntry | undefined, query: Buffer): Resolution | null {
    if (entry === undefined) return null;
    const now = this.cache.now();
    if (!this.cache.isStaleServable(entry, now)) return null;
    this.metrics.cacheServedStale(this.server);
    return cached(writeAnswer(entry, query, now, true), 'STALE');
  }

  private store_(key: string, nameLength: number, resolution: Resolution): void {
    // Only what an upstream said is cached: local answers (SERVFAIL after every upstream failed, REFUSED) are not.
    if (resolution.upstream === null || resolution.policyAction !== 'PASS') return;
    // The forwarder hands over its own buffer (only the ID was patched), so the clamped TTLs go into it too.
    if (this.cache.fill(key, nameLength, resolution.response, true) !== 'stored' || this.store === null) return;
    const entry = this.cache.peek(key);
    if (entry !== undefined) this.sharedSet(entry);
  }

  /** Arrow: handed to the fast path once, called only on a PREFETCH hit. */
  private readonly prefetchTrigger = (entry: CacheEntry, query: Buffer): void => {
    const next = this.next;
    const header = readHeader(query);
    const question = header === null ? null : readQuestion(query);
    if (next === null || header === null || question === null) {
      entry.prefetching = false;
      return;
    }
    const request: ResolveRequest = { query: Buffer.from(query), header, question, client: PREFETCH_CLIENT };
    next
      .resolve(request)
      .then((resolution) => {
        if (rcodeOf(resolution.response) === 2) return; // keep the current entry (and its stale life)
        this.store_(entry.key, entry.nameLength, resolution);
      })
      .catch((err: unknown) => this.logger.debug({ err }, 'prefetch failed'))
      .finally(() => {
        entry.prefetching = false;
      });
  };

  private async sharedGet(key: string): Promise<CacheEntry | null> {
    const store = this.store;
    if (store === null || !store.isHealthy()) return null;
    try {
      const value = await store.get(sharedKey(key));
      return value === null ? null : decodeEntry(value, key);
    } catch (err) {
      this.logger.debug({ err }, 'shared cache get failed; treating as a miss');
      return null;
    }
  }

  private sharedSet(entry: CacheEntry): void {
    const store = this.store;
    if (store === null || !store.isHealthy()) return;
    const ttlMs = Math.max(entry.staleUntilMs, entry.expiresAtMs) - this.cache.now();
    if (ttlMs <= 0) return;
    store.set(sharedKey(entry.key), encodeEntry(entry), ttlMs).catch((err: unknown) => {
      this.logger.debug({ err }, 'shared cache set failed');
    });
  }
}

function cached(response: Buffer, cacheStatus: CacheStatus): Resolution {
  return { response, cacheStatus, policyAction: 'PASS', upstream: null, upstreamLatencyUs: null };
}

function rcodeOf(msg: Buffer): number {
  return (msg[3] ?? 0) & 0x0f;
}

// The wire-format answer cache. An entry is the upstream's answer bytes with
// TTLs already clamped, the offsets of those TTL fields and the absolute expiry;
// serving is one copy into a fresh buffer plus patching the ID, RD, the
// question name's case and each TTL (remaining seconds) in place.
import { LRUCache } from 'lru-cache';
import type { CacheStatus } from '@ghostdns/contracts';
import type { DnsQuestion } from '../dns/wire.js';
import { keyName, scanAnswer, writeU32, type AnswerLayout } from './wire.js';

export type EntryKind = 'positive' | 'negative' | 'servfail';

export interface CacheEntry {
  readonly key: string;
  /** The stored answer: ID 0, TTLs clamped, OPT without options. Never sent as is. */
  readonly wire: Buffer;
  readonly ttlOffsets: Uint16Array;
  /** Clamped TTL of each record at store time, same order as ttlOffsets. */
  readonly ttls: Uint32Array;
  readonly storedAtMs: number;
  /** storedAtMs + the entry's lifetime. */
  readonly expiresAtMs: number;
  /** Until when the entry may be served stale (RFC 8767), 0 if never. */
  readonly staleUntilMs: number;
  readonly kind: EntryKind;
  /** Wire length of the question name (the bytes a hit copies from the client). */
  readonly nameLength: number;
  readonly qtype: number;
  readonly qclass: number;
  hits: number;
  prefetching: boolean;
  /** The question as events report it (lower-case name), built on first use and shared by every hit. */
  question: DnsQuestion | null;
}

export interface AnswerCacheOptions {
  maxBytes: number;
  minTtl: number;
  maxTtl: number;
  negativeMaxTtl: number;
  serveStale: boolean;
  staleTtl: number;
  prefetch: boolean;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** RFC 2308 §7.1 allows up to 5 minutes; a short hold only damps retry storms. */
export const SERVFAIL_TTL_S = 2;
/** RFC 8767 §4: TTL of a stale answer. */
export const STALE_ANSWER_TTL_S = 30;
/** A hit counts towards prefetch from this many hits on (Unbound prefetches any hit; one-off names are not worth a refresh). */
export const PREFETCH_MIN_HITS = 2;
/** Prefetch in the last tenth of the lifetime (as Unbound's prefetch). */
const PREFETCH_WINDOW = 0.1;
/** Fixed cost per entry beyond the wire bytes (object, typed arrays, LRU node), for the byte bound. */
const ENTRY_OVERHEAD = 240;

export type FillOutcome = 'stored' | 'uncacheable';

export class AnswerCache {
  readonly options: Readonly<AnswerCacheOptions>;
  readonly now: () => number;
  private readonly lru: LRUCache<string, CacheEntry>;

  constructor(options: AnswerCacheOptions) {
    this.options = { ...options };
    this.now = options.now ?? Date.now;
    this.lru = new LRUCache<string, CacheEntry>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (entry) => entryBytes(entry),
    });
  }

  get enabled(): boolean {
    return this.options.maxBytes > 0;
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** The entry for key, fresh or not (expired entries stay while they may be served stale). */
  get(key: string): CacheEntry | undefined {
    return this.lru.get(key);
  }

  /** Without touching recency (tests, stale checks). */
  peek(key: string): CacheEntry | undefined {
    return this.lru.peek(key);
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  /** Drops every entry whose name is `name` or below it (a record changed, a name got blocked). */
  invalidateName(name: string): number {
    const suffix = name.toLowerCase().replace(/\.$/, '');
    const doomed: string[] = [];
    for (const [key, entry] of this.lru.entries()) {
      const n = entryName(entry);
      if (suffix === '' || suffix === '.' || n === suffix || n.endsWith(`.${suffix}`)) doomed.push(key);
    }
    for (const key of doomed) this.lru.delete(key);
    return doomed.length;
  }

  isFresh(entry: CacheEntry, nowMs: number): boolean {
    return nowMs < entry.expiresAtMs;
  }

  isStaleServable(entry: CacheEntry, nowMs: number): boolean {
    return entry.kind !== 'servfail' && nowMs < entry.staleUntilMs;
  }

  /**
   * Counts a hit and says whether it should trigger the one background
   * refresh of this entry (popular, in its last tenth of life, none running).
   */
  hit(entry: CacheEntry, nowMs: number): CacheStatus {
    entry.hits++;
    if (!this.options.prefetch || entry.prefetching || entry.hits < PREFETCH_MIN_HITS || entry.kind === 'servfail') return 'HIT';
    const lifetime = entry.expiresAtMs - entry.storedAtMs;
    if (entry.expiresAtMs - nowMs > lifetime * PREFETCH_WINDOW) return 'HIT';
    entry.prefetching = true;
    return 'PREFETCH';
  }

  /**
   * Stores an upstream answer for `key` (from parseQueryKey on the query that
   * produced it). Not stored: TC answers, malformed ones, rcodes other than
   * NOERROR/NXDOMAIN/SERVFAIL, negative answers without an SOA (RFC 2308 §5),
   * lifetime 0 (unless it can still serve stale), an OPT that is not last.
   * A SERVFAIL never replaces an existing entry (it would hide a stale answer).
   * With patchResponse the clamped TTLs are also written into `response`
   * (which must then be the caller's own buffer).
   */
  fill(key: string, nameLength: number, response: Buffer, patchResponse = false): FillOutcome {
    if (!this.enabled) return 'uncacheable';
    const layout = scanAnswer(response, nameLength, key);
    if (layout === null || layout.truncated) return 'uncacheable';
    const kind = classify(layout);
    if (kind === null) return 'uncacheable';
    if (kind === 'servfail' && this.lru.has(key)) return 'uncacheable';
    const o = this.options;
    let lifetime: number;
    const ttls = new Uint32Array(layout.ttls.length);
    switch (kind) {
      case 'positive': {
        lifetime = Number.MAX_SAFE_INTEGER;
        for (let i = 0; i < layout.ttls.length; i++) {
          const t = clamp(layout.ttls[i] ?? 0, o.minTtl, o.maxTtl);
          ttls[i] = t;
          if (t < lifetime) lifetime = t;
        }
        if (layout.ttls.length === 0) lifetime = 0;
        break;
      }
      case 'negative': {
        // RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM), here also capped by config.
        lifetime = Math.min(layout.soaNegativeTtl, o.negativeMaxTtl);
        for (let i = 0; i < layout.ttls.length; i++) ttls[i] = Math.min(layout.ttls[i] ?? 0, lifetime);
        break;
      }
      case 'servfail': {
        lifetime = SERVFAIL_TTL_S;
        for (let i = 0; i < layout.ttls.length; i++) ttls[i] = Math.min(layout.ttls[i] ?? 0, lifetime);
        break;
      }
    }
    const staleS = o.serveStale && kind !== 'servfail' ? o.staleTtl : 0;
    if (lifetime <= 0 && staleS <= 0) return 'uncacheable';

    const wire = canonicalWire(response, layout);
    if (wire === null) return 'uncacheable';
    const offsets = new Uint16Array(layout.ttlOffsets.length);
    for (let i = 0; i < offsets.length; i++) {
      offsets[i] = layout.ttlOffsets[i] ?? 0;
      writeU32(wire, offsets[i] ?? 0, ttls[i] ?? 0);
      // The client that caused the fill sees the same (clamped) TTLs as the next one.
      if (patchResponse) writeU32(response, offsets[i] ?? 0, ttls[i] ?? 0);
    }
    const storedAtMs = this.now();
    const entry: CacheEntry = {
      key,
      wire,
      ttlOffsets: offsets,
      ttls,
      storedAtMs,
      expiresAtMs: storedAtMs + lifetime * 1000,
      staleUntilMs: staleS > 0 ? storedAtMs + (lifetime + staleS) * 1000 : 0,
      kind,
      nameLength,
      qtype: (key.charCodeAt(nameLength) << 8) | key.charCodeAt(nameLength + 1),
      qclass: (key.charCodeAt(nameLength + 2) << 8) | key.charCodeAt(nameLength + 3),
      hits: 0,
      prefetching: false,
      question: null,
    };
    if (entryBytes(entry) > o.maxBytes) return 'uncacheable';
    this.lru.set(key, entry);
    return 'stored';
  }

  /** Puts an entry obtained elsewhere (the shared level) into this cache. */
  adopt(entry: CacheEntry): void {
    if (this.enabled && entryBytes(entry) <= this.options.maxBytes) this.lru.set(entry.key, entry);
  }
}

function classify(layout: AnswerLayout): EntryKind | null {
  switch (layout.rcode) {
    case 0:
      if (layout.ancount > 0) return 'positive';
      // NODATA (RFC 2308 §2.2): cached only with an SOA to time it.
      return layout.soaNegativeTtl >= 0 ? 'negative' : null;
    case 3:
      return layout.soaNegativeTtl >= 0 ? 'negative' : null;
    case 2:
      return 'servfail';
    default:
      return null;
  }
}

function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}

function entryBytes(entry: CacheEntry): number {
  return entry.wire.length + entry.key.length + entry.ttlOffsets.byteLength + entry.ttls.byteLength + ENTRY_OVERHEAD;
}

/**
 * An owned copy of the answer with ID 0 and the OPT's options removed: the
 * upstream's COOKIE (RFC 7873), padding or NSID belong to the exchange that
 * filled the cache, not to the clients a hit answers. Null when the OPT is not
 * the last record (a TSIG after it: never the case for our own upstream queries).
 */
function canonicalWire(response: Buffer, layout: AnswerLayout): Buffer | null {
  let length = response.length;
  if (layout.optRdlenOffset >= 0) {
    if (!layout.optLast) return null;
    length = layout.optRdlenOffset + 2;
  }
  const wire = Buffer.alloc(length);
  response.copy(wire, 0, 0, length);
  wire[0] = 0;
  wire[1] = 0;
  if (layout.optRdlenOffset >= 0) {
    wire[layout.optRdlenOffset] = 0;
    wire[layout.optRdlenOffset + 1] = 0;
  }
  return wire;
}

export function entryQuestion(entry: CacheEntry): DnsQuestion {
  let q = entry.question;
  if (q === null) {
    const name = keyName(entry.key);
    q = { name: name === '.' ? '' : name, type: entry.qtype, class: entry.qclass, end: 12 + entry.nameLength + 4 };
    entry.question = q;
  }
  return q;
}

export function entryName(entry: CacheEntry): string {
  return entryQuestion(entry).name;
}

/**
 * The answer for one client: the stored bytes with the client's ID, RD bit and
 * question-name spelling (0x20 case randomisation survives, RFC 5452 §9.2 / draft-vixie-dnsext-dns0x20),
 * and every TTL counted down to the remaining seconds — or STALE_ANSWER_TTL_S when serving stale.
 */
export function writeAnswer(entry: CacheEntry, query: Buffer, nowMs: number, stale: boolean): Buffer {
  const wire = entry.wire;
  const out = Buffer.allocUnsafe(wire.length);
  wire.copy(out, 0, 0, wire.length);
  out[0] = query[0] ?? 0;
  out[1] = query[1] ?? 0;
  // RFC 1035 §4.1.1: RD is copied from the query.
  out[2] = (out[2] ?? 0) & 0xfe | ((query[2] ?? 0) & 0x01);
  query.copy(out, 12, 12, 12 + entry.nameLength);
  const offsets = entry.ttlOffsets;
  const ttls = entry.ttls;
  if (stale) {
    for (let i = 0; i < offsets.length; i++) writeU32(out, offsets[i] ?? 0, STALE_ANSWER_TTL_S);
    return out;
  }
  const elapsed = Math.floor((nowMs - entry.storedAtMs) / 1000);
  if (elapsed > 0) {
    for (let i = 0; i < offsets.length; i++) {
      const t = (ttls[i] ?? 0) - elapsed;
      writeU32(out, offsets[i] ?? 0, t > 0 ? t : 0);
    }
  }
  return out;
}

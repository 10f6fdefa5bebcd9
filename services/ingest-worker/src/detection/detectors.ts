import type { SecuritySeverity } from '@ghostdns/contracts';
import { reasonList } from '../mapping.js';
import type { DnsQueryRow } from '../row.js';
import { BoundedLru } from './bounded-lru.js';
import { entropyBits, longestLabel, nameHash, type Span } from './entropy.js';
import { SlidingCount, SlidingDistinct } from './sliding-window.js';

// Detectors over stored queries. Windows run on the queries' own time (queried_at), not the
// wall clock: a backlog consumed at full speed (a new consumer group reads what is retained)
// is not a flood, and a replay detects what it detected the first time. One client's queries
// share a partition (key = client_ip), so one worker sees all of them.

/** Which detector fired. Bounded set: used as a metric label. */
export type DetectionKind = 'tunneling' | 'dga' | 'nxdomain-burst' | 'query-flood' | 'blocked-burst';

export const DETECTION_KINDS = reasonList<DetectionKind>({
  tunneling: true,
  dga: true,
  'nxdomain-burst': true,
  'query-flood': true,
  'blocked-burst': true,
});

export interface Detection {
  kind: DetectionKind;
  severity: SecuritySeverity;
  /** The query that took its window over the threshold. */
  query: DnsQueryRow;
  /** The name the detection is about; null when it is about the client. */
  qname: string | null;
  /** Evidence: counts, window, sample names, entropy. */
  details: Record<string, string>;
}

export interface Detector {
  readonly kind: DetectionKind;
  /** One stored query at its query time (epoch ms): a Detection when this query makes it fire. O(1) amortised. */
  observe(query: DnsQueryRow, atMs: number): Detection | null;
}

const MINUTE_MS = 60_000;

/** One detection per (kind, client[, apex]) per this much query time: one alert per incident, not one per batch. */
export const COOLDOWN_MS = 10 * MINUTE_MS;

/**
 * Clients tracked by each per-client detector (about 200 bytes each); beyond it the least
 * recently active client is forgotten. A client being flooded from stays active, so stays tracked.
 */
export const MAX_TRACKED_CLIENTS = 16_384;

/**
 * Keys tracked by each distinct-name detector (up to two sets of `threshold` hashes each,
 * about 1 KB). Only queries that already look suspicious create one.
 */
export const MAX_TRACKED_NAME_KEYS = 4_096;

/** Names kept as evidence per key: enough to recognise the pattern in an alert. */
export const SAMPLE_NAMES = 3;

// tunneling: many distinct long, high-entropy names under one apex from one client.
export const TUNNEL_WINDOW_MS = MINUTE_MS;
/**
 * Characters left of the apex for a name to count. Tunnels fill labels towards their 63-octet
 * limit to move data; the host and service labels of ordinary traffic are shorter
 * (`www`, `mail`, `r3---sn-4g5e6nzz` of a video CDN: 16).
 */
export const TUNNEL_MIN_SUBDOMAIN_CHARS = 24;
/**
 * Shannon entropy of that part, in bits per character, for a name to count. Random hex (dnscat2)
 * of 24+ characters measures at least 3.2 in 95% of names, base32 (iodine) at least 3.7; long names
 * that repeat a few characters (numbered hosts, padding) stay below.
 */
export const TUNNEL_MIN_ENTROPY_BITS = 3.2;
/**
 * Distinct such names under one apex per window. 30 names of ~100 bytes each is ~3 KB a minute,
 * an idle interactive shell over a tunnel; services seldom mint that many long random names
 * under one domain for one client.
 */
export const TUNNEL_MIN_UNIQUE_NAMES = 30;

// dga: many NXDOMAIN answers for distinct random-looking names from one client.
export const DGA_WINDOW_MS = 5 * MINUTE_MS;
/** Shortest label measured: fewer characters are too few for entropy to say anything, and most DGA families generate 8 to 20+. */
export const DGA_MIN_LABEL_CHARS = 8;
/**
 * Entropy of the longest label left of the public suffix. 8+ random characters of a-z0-9 rarely
 * repeat more than one character, which keeps them at 2.75 bits or above; labels made of words
 * repeat letters (`wikipedia` 2.64, `googlevideo` 2.66). Words that pass (`cloudflare` 3.12)
 * seldom answer NXDOMAIN, so they rarely count.
 */
export const DGA_MIN_ENTROPY_BITS = 2.75;
/**
 * Distinct such names per window. Chrome probes 3 random single-label names per network change;
 * typos and search-list expansions are not random; a DGA tries dozens to thousands per run.
 */
export const DGA_MIN_UNIQUE_NAMES = 25;

// nxdomain-burst: NXDOMAIN answers from upstream (a policy's NXDOMAIN is blocked-burst's).
export const NXDOMAIN_WINDOW_MS = MINUTE_MS;
/** Resolvers retry and browsers probe a few names; 100 names a minute that do not exist is a scan, a loop, or a DGA with word-like names. */
export const NXDOMAIN_THRESHOLD = 100;

// query-flood: every query of a client.
export const FLOOD_WINDOW_MS = MINUTE_MS;
/**
 * 50 queries a second for a minute. Page loads peak at tens a second for a few seconds; a minute
 * of this is a flood or a loop, or many hosts behind one address (CGNAT: raise it).
 */
export const FLOOD_THRESHOLD = 3_000;

// blocked-burst: answers the policy blocked.
export const BLOCKED_WINDOW_MS = 5 * MINUTE_MS;
/** Ad and tracker blocking costs a few dozen blocked answers per page; 200 in 5 minutes is malware beaconing or a blocked app retrying. */
export const BLOCKED_THRESHOLD = 200;

/** The last few names a key counted, with the entropy each was counted at (none for rate detectors). */
class Samples {
  private readonly names: string[] = [];
  private readonly bits: number[] = [];
  private next = 0;

  add(name: string, bits = Number.NaN): void {
    this.names[this.next] = name;
    this.bits[this.next] = bits;
    this.next = (this.next + 1) % SAMPLE_NAMES;
  }

  /** Oldest first, space-separated (a query name holds no whitespace). */
  text(): string {
    const count = this.names.length;
    const ordered: string[] = [];
    for (let i = 0; i < count; i++) ordered.push(this.names[(this.next + i) % count]);
    return ordered.join(' ');
  }

  maxBits(): number {
    return Math.max(...this.bits);
  }
}

interface WindowRule {
  kind: DetectionKind;
  severity: SecuritySeverity;
  windowMs: number;
  threshold: number;
}

function windowDetails(rule: WindowRule, counted: string, estimate: number, samples: Samples): Record<string, string> {
  return {
    window_seconds: String(rule.windowMs / 1000),
    [counted]: String(Math.round(estimate)),
    threshold: String(rule.threshold),
    samples: samples.text(),
  };
}

/** A rule counting the queries of one client that match. */
export interface RateRule extends WindowRule {
  counts(query: DnsQueryRow): boolean;
}

interface RateState {
  window: SlidingCount;
  samples: Samples;
  mutedUntilMs: number;
}

/** Fires when a client's matching queries in the window reach the threshold. */
export class RateDetector implements Detector {
  readonly kind: DetectionKind;
  private readonly clients: BoundedLru<RateState>;

  constructor(private readonly rule: RateRule) {
    this.kind = rule.kind;
    this.clients = new BoundedLru(MAX_TRACKED_CLIENTS, () => ({
      window: new SlidingCount(rule.windowMs),
      samples: new Samples(),
      mutedUntilMs: Number.NEGATIVE_INFINITY,
    }));
  }

  observe(query: DnsQueryRow, atMs: number): Detection | null {
    if (!this.rule.counts(query)) return null;
    const state = this.clients.touch(query.client_ip);
    state.window.add(atMs);
    state.samples.add(query.domain);
    if (atMs < state.mutedUntilMs) return null;
    const count = state.window.estimate(atMs);
    if (count < this.rule.threshold) return null;
    state.mutedUntilMs = atMs + COOLDOWN_MS;
    const { kind, severity } = this.rule;
    return { kind, severity, query, qname: null, details: windowDetails(this.rule, 'count', count, state.samples) };
  }
}

/** Returned by NameRule.measure for a query that does not count. */
export const NOT_COUNTED = -1;

/** A rule counting distinct suspicious names per key. */
export interface NameRule extends WindowRule {
  /** Entropy (bits per character) of the part of the name the rule judges, or NOT_COUNTED. */
  measure(query: DnsQueryRow): number;
  /** What names are counted per (the client, or the client and apex). */
  key(query: DnsQueryRow): string;
  /** Evidence of the rule's own beyond the window's. */
  details?(query: DnsQueryRow): Record<string, string>;
}

interface NameState {
  names: SlidingDistinct;
  samples: Samples;
  mutedUntilMs: number;
}

/** Fires when the distinct suspicious names of a key in the window reach the threshold. */
export class DistinctNameDetector implements Detector {
  readonly kind: DetectionKind;
  private readonly keys: BoundedLru<NameState>;

  constructor(private readonly rule: NameRule) {
    this.kind = rule.kind;
    this.keys = new BoundedLru(MAX_TRACKED_NAME_KEYS, () => ({
      names: new SlidingDistinct(rule.windowMs, rule.threshold),
      samples: new Samples(),
      mutedUntilMs: Number.NEGATIVE_INFINITY,
    }));
  }

  observe(query: DnsQueryRow, atMs: number): Detection | null {
    const bits = this.rule.measure(query);
    if (bits === NOT_COUNTED) return null;
    const state = this.keys.touch(this.rule.key(query));
    if (state.names.add(atMs, nameHash(query.domain))) state.samples.add(query.domain, bits);
    if (atMs < state.mutedUntilMs) return null;
    const unique = state.names.estimate(atMs);
    if (unique < this.rule.threshold) return null;
    state.mutedUntilMs = atMs + COOLDOWN_MS;
    const { kind, severity } = this.rule;
    const details = {
      ...windowDetails(this.rule, 'unique_names', unique, state.samples),
      max_entropy: state.samples.maxBits().toFixed(2),
      ...this.rule.details?.(query),
    };
    return { kind, severity, query, qname: query.domain, details };
  }
}

/** The part of a name left of its apex ("<payload>.<apex>"); its end index, -1 when the name is its own apex. */
function subdomainEnd(query: DnsQueryRow): number {
  return query.domain.length - query.apex_domain.length - 1;
}

/** End of the part left of the public suffix: the apex's own label and everything below it. */
function registrableEnd(query: DnsQueryRow): number {
  const { domain, apex_domain: apex } = query;
  const dot = apex.indexOf('.');
  // A single label (the mapper's fallback for names without a registrable domain) is all of it.
  return dot < 0 ? domain.length : domain.length - apex.length + dot;
}

const REVERSE_ZONE = '.arpa';

export const TUNNELING: NameRule = {
  kind: 'tunneling',
  severity: 'HIGH',
  windowMs: TUNNEL_WINDOW_MS,
  threshold: TUNNEL_MIN_UNIQUE_NAMES,
  measure(query) {
    const end = subdomainEnd(query);
    // Reverse lookups (in-addr.arpa, ip6.arpa) are long hexadecimal names by design.
    if (end < TUNNEL_MIN_SUBDOMAIN_CHARS || query.domain.endsWith(REVERSE_ZONE)) return NOT_COUNTED;
    const bits = entropyBits(query.domain, 0, end);
    return bits >= TUNNEL_MIN_ENTROPY_BITS ? bits : NOT_COUNTED;
  },
  key: (query) => `${query.client_ip} ${query.apex_domain}`,
  details: (query) => ({ apex: query.apex_domain }),
};

/** Reused by DGA.measure (synchronous): finding the label allocates nothing. */
const label: Span = { start: 0, end: 0 };

export const DGA: NameRule = {
  kind: 'dga',
  severity: 'HIGH',
  windowMs: DGA_WINDOW_MS,
  threshold: DGA_MIN_UNIQUE_NAMES,
  measure(query) {
    if (query.response_rcode !== 'NXDOMAIN' || query.policy_action === 'BLOCKED') return NOT_COUNTED;
    longestLabel(query.domain, registrableEnd(query), label);
    if (label.end - label.start < DGA_MIN_LABEL_CHARS) return NOT_COUNTED;
    const bits = entropyBits(query.domain, label.start, label.end);
    return bits >= DGA_MIN_ENTROPY_BITS ? bits : NOT_COUNTED;
  },
  key: (query) => query.client_ip,
};

export const NXDOMAIN_BURST: RateRule = {
  kind: 'nxdomain-burst',
  severity: 'MEDIUM',
  windowMs: NXDOMAIN_WINDOW_MS,
  threshold: NXDOMAIN_THRESHOLD,
  counts: (query) => query.response_rcode === 'NXDOMAIN' && query.policy_action !== 'BLOCKED',
};

export const QUERY_FLOOD: RateRule = {
  kind: 'query-flood',
  severity: 'MEDIUM',
  windowMs: FLOOD_WINDOW_MS,
  threshold: FLOOD_THRESHOLD,
  counts: () => true,
};

export const BLOCKED_BURST: RateRule = {
  kind: 'blocked-burst',
  severity: 'LOW',
  windowMs: BLOCKED_WINDOW_MS,
  threshold: BLOCKED_THRESHOLD,
  counts: (query) => query.policy_action === 'BLOCKED',
};

/** Every detector, each with its own state. */
export function createDetectors(): Detector[] {
  return [
    new DistinctNameDetector(TUNNELING),
    new DistinctNameDetector(DGA),
    new RateDetector(NXDOMAIN_BURST),
    new RateDetector(QUERY_FLOOD),
    new RateDetector(BLOCKED_BURST),
  ];
}

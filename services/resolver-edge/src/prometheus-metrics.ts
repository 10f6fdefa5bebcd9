// ResolverMetrics on the runtime's Prometheus registry (prom-client), with CoreDNS names.
import { counter, gauge, histogram } from '@ghostdns/observability';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DnsTransport } from '@ghostdns/contracts';
import type { IpFamily } from './dns/address.js';
import type { CacheHitType, ForwardFailoverReason, MalformedKind, PolicyHitKind, ResolverMetrics, RrlVerdict } from './metrics.js';

/** CoreDNS's zone label: the server block's zone; resolver-edge has one, the root. */
const ZONE = '.';

/** CoreDNS's family label: the address family number (1 IPv4, 2 IPv6). */
function familyLabel(family: IpFamily | undefined): string {
  return family === 'IPv6' ? '2' : '1';
}

/** CoreDNS: prometheus.ExponentialBuckets(0.00025, 2, 16). */
export const DURATION_BUCKETS: readonly number[] = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

/** A reporter adding `count` to an unlabelled counter; prom-client throws on a negative increment, the hot path must not. */
function addPositive(total: Counter): (count: number) => void {
  return (count) => {
    if (count > 0) total.inc(count);
  };
}

/**
 * Label children bound once per label combination: prom-client hashes the
 * label object (sorting its keys) on every inc/observe, which the per-query
 * counters cannot afford. Combinations are few (servers, types, rcodes).
 */
function boundChildren<C>(bind: (key: string) => C): (key: string) => C {
  const children = new Map<string, C>();
  return (key) => {
    let child = children.get(key);
    if (child === undefined) {
      child = bind(key);
      children.set(key, child);
    }
    return child;
  };
}

export interface PrometheusResolverMetrics extends ResolverMetrics {
  readonly requests: Counter<'server' | 'zone' | 'proto' | 'family' | 'type'>;
  readonly responses: Counter<'server' | 'zone' | 'rcode'>;
  readonly duration: Histogram<'server' | 'zone' | 'type'>;
  readonly forwardRequests: Counter<'to'>;
  readonly forwardResponses: Counter<'to' | 'rcode'>;
  readonly spoofed: Counter<'to'>;
  readonly forwardDurationSeconds: Histogram<'to'>;
  readonly failover: Counter<'reason'>;
  readonly malformedTotal: Counter<'kind'>;
  readonly dropped: Counter;
  readonly queueDepth: Gauge;
  readonly spoolDepth: Gauge;
  readonly spoolWrittenTotal: Counter;
  readonly spoolReplayedTotal: Counter;
  readonly spoolDroppedTotal: Counter;
  readonly spoolTruncatedTotal: Counter;
  readonly cacheHits: Counter<'server' | 'type'>;
  readonly cacheMisses: Counter<'server'>;
  readonly cacheStale: Counter<'server'>;
  readonly cachePrefetches: Counter<'server'>;
  readonly aclRefusedTotal: Counter<'acl'>;
  readonly rrlResponses: Counter<'verdict'>;
  readonly policyHits: Counter<'action'>;
  readonly policyReloads: Counter<'result'>;
  readonly policyRuleCount: Gauge<'list'>;
  readonly policyListFailures: Counter<'origin'>;
  readonly policyEntryCount: Gauge<'kind'>;
}

/** Registers (or reuses) resolver-edge's metrics on the registry. */
export function createPrometheusResolverMetrics(registry: Registry): PrometheusResolverMetrics {
  const requests = counter(registry, {
    name: 'coredns_dns_requests_total',
    help: 'Counter of DNS requests made per server, zone, protocol, family and type.',
    labelNames: ['server', 'zone', 'proto', 'family', 'type'] as const,
  });
  const responses = counter(registry, {
    name: 'coredns_dns_responses_total',
    help: 'Counter of response status codes.',
    labelNames: ['server', 'zone', 'rcode'] as const,
  });
  const duration = histogram(registry, {
    name: 'coredns_dns_request_duration_seconds',
    help: 'Histogram of the time (in seconds) each request took.',
    labelNames: ['server', 'zone', 'type'] as const,
    buckets: DURATION_BUCKETS,
  });
  const forwardRequests = counter(registry, {
    name: 'coredns_forward_requests_total',
    help: 'Counter of requests made per upstream.',
    labelNames: ['to'] as const,
  });
  const forwardResponses = counter(registry, {
    name: 'coredns_forward_responses_total',
    help: 'Counter of responses received per upstream.',
    labelNames: ['to', 'rcode'] as const,
  });
  const spoofed = counter(registry, {
    name: 'ghostdns_forward_spoofed_total',
    help: 'Upstream datagrams dropped because ID, question or source address did not match.',
    labelNames: ['to'] as const,
  });
  const forwardDurationSeconds = histogram(registry, {
    name: 'coredns_forward_request_duration_seconds',
    help: 'Histogram of the time each request to an upstream took.',
    labelNames: ['to'] as const,
    buckets: DURATION_BUCKETS,
  });
  const failover = counter(registry, {
    name: 'ghostdns_forward_failover_total',
    help: 'Upstream attempts given up on, by reason (truncated: retried over TCP).',
    labelNames: ['reason'] as const,
  });
  const malformedTotal = counter(registry, {
    name: 'ghostdns_dns_malformed_total',
    help: 'Malformed client messages (dropped or answered FORMERR).',
    labelNames: ['kind'] as const,
  });
  const dropped = counter(registry, {
    name: 'ghostdns_events_dropped_total',
    help: 'Query events dropped before being published (queue full or shutdown).',
  });
  const queueDepth = gauge(registry, { name: 'ghostdns_event_queue_depth', help: 'Query events waiting to be published.' });
  const spoolDepth = gauge(registry, { name: 'ghostdns_spool_depth_bytes', help: 'Bytes of query events held by the disk spool.' });
  const spoolWrittenTotal = counter(registry, {
    name: 'ghostdns_spool_written_total',
    help: 'Query events moved to the disk spool (bus unreachable or behind).',
  });
  const spoolReplayedTotal = counter(registry, {
    name: 'ghostdns_spool_replayed_total',
    help: 'Spooled query events published once the bus was back.',
  });
  const spoolDroppedTotal = counter(registry, {
    name: 'ghostdns_spool_dropped_total',
    help: 'Query events the disk spool could not keep (full, write failed, undecodable).',
  });
  const spoolTruncatedTotal = counter(registry, {
    name: 'ghostdns_spool_truncated_total',
    help: 'Torn or corrupt spool segment tails cut off (a crash mid-write).',
  });
  const cacheHits = counter(registry, {
    name: 'coredns_cache_hits_total',
    help: 'The count of cache hits.',
    labelNames: ['server', 'type'] as const,
  });
  const cacheMisses = counter(registry, {
    name: 'coredns_cache_misses_total',
    help: 'The count of cache misses.',
    labelNames: ['server'] as const,
  });
  const cacheStale = counter(registry, {
    name: 'coredns_cache_served_stale_total',
    help: 'The number of requests served from stale cache entries.',
    labelNames: ['server'] as const,
  });
  const cachePrefetches = counter(registry, {
    name: 'coredns_cache_prefetch_total',
    help: 'The number of times the cache has prefetched a cached item.',
    labelNames: ['server'] as const,
  });
  const aclRefusedTotal = counter(registry, {
    name: 'ghostdns_acl_refused_total',
    help: 'Queries answered REFUSED because the client is outside allow-query or allow-recursion.',
    labelNames: ['acl'] as const,
  });
  const rrlResponses = counter(registry, {
    name: 'ghostdns_rrl_responses_total',
    help: 'UDP responses by response rate limiting verdict (send, drop, slip = sent truncated).',
    labelNames: ['verdict'] as const,
  });
  // Pre-bound children: the verdict is counted for every UDP response.
  const rrlSend = rrlResponses.labels({ verdict: 'send' });
  const rrlDrop = rrlResponses.labels({ verdict: 'drop' });
  const rrlSlip = rrlResponses.labels({ verdict: 'slip' });
  const policyHits = counter(registry, {
    name: 'ghostdns_policy_hits_total',
    help: 'Queries decided by a blocklist, allowlist or RPZ rule, by action.',
    labelNames: ['action'] as const,
  });
  const policyReloads = counter(registry, {
    name: 'ghostdns_policy_reloads_total',
    help: 'Blocklist, allowlist and RPZ (re)loads by result; a failed reload keeps the previous set.',
    labelNames: ['result'] as const,
  });
  const policyRuleCount = gauge(registry, {
    name: 'ghostdns_policy_rules',
    help: 'Names loaded per policy list kind.',
    labelNames: ['list'] as const,
  });
  const policyListFailures = counter(registry, {
    name: 'ghostdns_policy_list_failures_total',
    help: 'Blocklist and allowlist sources that could not be read or fetched, by origin (config, api); the previous content stays.',
    labelNames: ['origin'] as const,
  });
  const policyEntryCount = gauge(registry, {
    name: 'ghostdns_policy_entries',
    help: 'Custom domains managed through the API, per kind.',
    labelNames: ['kind'] as const,
  });

  // Keys join the label values with a byte that occurs in none of them.
  const SEP = '\u0000';
  const requestChild = boundChildren((key) => {
    const [server = '', proto = '', family = '', type = ''] = key.split(SEP);
    return requests.labels({ server, zone: ZONE, proto, family, type });
  });
  const responseChild = boundChildren((key) => {
    const [server = '', rcode = ''] = key.split(SEP);
    return responses.labels({ server, zone: ZONE, rcode });
  });
  const durationChild = boundChildren((key) => {
    const [server = '', type = ''] = key.split(SEP);
    return duration.labels({ server, zone: ZONE, type });
  });
  const cacheHitChild = boundChildren((key) => {
    const [server = '', type = ''] = key.split(SEP);
    return cacheHits.labels({ server, type });
  });
  const cacheMissChild = boundChildren((server) => cacheMisses.labels({ server }));

  return {
    requests, responses, duration, forwardRequests, forwardResponses, spoofed, forwardDurationSeconds, failover, malformedTotal, dropped, queueDepth,
    request: (server: string, proto: DnsTransport, type: string, family?: IpFamily) =>
      requestChild(server + SEP + proto.toLowerCase() + SEP + familyLabel(family) + SEP + type).inc(),
    response: (server: string, rcode: string, seconds: number, type = 'other') => {
      responseChild(server + SEP + rcode).inc();
      if (Number.isFinite(seconds)) durationChild(server + SEP + type).observe(seconds);
    },
    forwardRequest: (to: string) => forwardRequests.inc({ to }),
    forwardResponse: (to: string, rcode: string) => forwardResponses.inc({ to, rcode }),
    forwardSpoofed: (to: string) => spoofed.inc({ to }),
    forwardDuration: (to: string, seconds: number) => {
      if (Number.isFinite(seconds)) forwardDurationSeconds.observe({ to }, seconds);
    },
    forwardFailover: (reason: ForwardFailoverReason) => failover.inc({ reason }),
    malformed: (kind: MalformedKind) => malformedTotal.inc({ kind }),
    eventsDropped: addPositive(dropped),
    eventQueueDepth: (depth: number) => queueDepth.set(depth),
    spoolDepth, spoolWrittenTotal, spoolReplayedTotal, spoolDroppedTotal, spoolTruncatedTotal,
    spoolDepthBytes: (bytes: number) => spoolDepth.set(bytes),
    spoolWritten: addPositive(spoolWrittenTotal),
    spoolReplayed: addPositive(spoolReplayedTotal),
    spoolDropped: addPositive(spoolDroppedTotal),
    spoolTruncated: addPositive(spoolTruncatedTotal),
    cacheHits, cacheMisses, cacheStale, cachePrefetches,
    cacheHit: (server: string, type: CacheHitType) => cacheHitChild(server + SEP + type).inc(),
    cacheMiss: (server: string) => cacheMissChild(server).inc(),
    cacheServedStale: (server: string) => cacheStale.inc({ server }),
    cachePrefetch: (server: string) => cachePrefetches.inc({ server }),
    aclRefusedTotal, rrlResponses, policyHits, policyReloads, policyRuleCount, policyListFailures, policyEntryCount,
    aclRefused: (acl: 'query' | 'recursion') => aclRefusedTotal.inc({ acl }),
    rrlResponse: (verdict: RrlVerdict) => (verdict === 'send' ? rrlSend : verdict === 'drop' ? rrlDrop : rrlSlip).inc(),
    policyHit: (action: PolicyHitKind) => policyHits.inc({ action }),
    policyReload: (result: 'success' | 'failure') => policyReloads.inc({ result }),
    policyRules: (list: 'block' | 'allow' | 'rpz', count: number) => policyRuleCount.set({ list }, count),
    policyListFailure: (origin: 'config' | 'api') => policyListFailures.inc({ origin }),
    policyEntries: (kind: 'block' | 'allow', count: number) => policyEntryCount.set({ kind }, count),
  };
}

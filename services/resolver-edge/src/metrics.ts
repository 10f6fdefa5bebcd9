import type { DnsTransport } from '@ghostdns/contracts';
import { formatHostPort, parseHostPort, type IpFamily } from './dns/address.js';

/** Why the forwarder moved on from an upstream's attempt. */
export type ForwardFailoverReason = 'timeout' | 'error' | 'servfail' | 'refused' | 'truncated';

/** Why an incoming message was not answered normally. */
export type MalformedKind = 'short_header' | 'not_a_query' | 'bad_question' | 'frame' | 'bad_edns';

/**
 * What resolver-edge measures. The hot path only sees this interface; the
 * Prometheus binding (CoreDNS-style names) lives in prometheus-metrics.ts.
 */
export interface ResolverMetrics {
  /**
   * coredns_dns_requests_total{server,zone,proto,family,type}; family is CoreDNS's
   * "1" (IPv4) / "2" (IPv6); zone is "." (one server block serves every name).
   */
  request(server: string, proto: DnsTransport, type: string, family?: IpFamily): void;
  /** coredns_dns_responses_total{server,zone,rcode} and coredns_dns_request_duration_seconds{server,zone,type} */
  response(server: string, rcode: string, durationSeconds: number, type?: string): void;
  /** coredns_forward_requests_total{to} */
  forwardRequest(to: string): void;
  /** coredns_forward_responses_total{to,rcode} */
  forwardResponse(to: string, rcode: string): void;
  /** ghostdns_forward_spoofed_total: upstream datagrams dropped (ID/question/address mismatch). */
  forwardSpoofed(to: string): void;
  /** coredns_forward_request_duration_seconds{to}: time to an upstream's answer. */
  forwardDuration(to: string, seconds: number): void;
  /** ghostdns_forward_failover_total{reason}: the next upstream was tried (truncated: the same one over TCP). */
  forwardFailover(reason: ForwardFailoverReason): void;
  /** ghostdns_dns_malformed_total{kind} */
  malformed(kind: MalformedKind): void;
  /** ghostdns_events_dropped_total */
  eventsDropped(count: number): void;
  /** ghostdns_event_queue_depth */
  eventQueueDepth(depth: number): void;
  /** ghostdns_spool_depth_bytes: bytes held by the disk spool (segments plus records not yet written). */
  spoolDepthBytes(bytes: number): void;
  /** ghostdns_spool_written_total: events moved from memory to the disk spool. */
  spoolWritten(count: number): void;
  /** ghostdns_spool_replayed_total: spooled events published. */
  spoolReplayed(count: number): void;
  /** ghostdns_spool_dropped_total: events the spool could not take (full, write failed, undecodable). */
  spoolDropped(count: number): void;
  /** ghostdns_spool_truncated_total: torn or corrupt segment tails cut off (crash mid-write). */
  spoolTruncated(count: number): void;
  /** coredns_cache_hits_total{server,type}: answered from the cache; type success (data) or denial (NXDOMAIN/NODATA). */
  cacheHit(server: string, type: CacheHitType): void;
  /** coredns_cache_misses_total{server} */
  cacheMiss(server: string): void;
  /** coredns_cache_served_stale_total{server}: expired answers served because upstreams failed (RFC 8767). */
  cacheServedStale(server: string): void;
  /** coredns_cache_prefetch_total{server}: refreshes started before expiry. */
  cachePrefetch(server: string): void;
  /** ghostdns_acl_refused_total{acl}: queries answered REFUSED by allow-query / allow-recursion. */
  aclRefused(acl: 'query' | 'recursion'): void;
  /** ghostdns_rrl_responses_total{verdict}: response rate limiting decisions (UDP only). */
  rrlResponse(verdict: RrlVerdict): void;
  /** ghostdns_policy_hits_total{action}: queries a blocklist, allowlist or RPZ rule decided. */
  policyHit(action: PolicyHitKind): void;
  /** ghostdns_policy_reloads_total{result}: blocklist/allowlist/RPZ (re)loads; a failure keeps the old set. */
  policyReload(result: 'success' | 'failure'): void;
  /** ghostdns_policy_rules{list}: names loaded per list kind. */
  policyRules(list: 'block' | 'allow' | 'rpz', count: number): void;
  /** ghostdns_policy_list_failures_total{origin}: list sources that could not be read or fetched (configured, or from the API). */
  policyListFailure(origin: 'config' | 'api'): void;
  /** ghostdns_policy_entries{kind}: custom domains from the API, per kind. */
  policyEntries(kind: 'block' | 'allow', count: number): void;
}

/** The CoreDNS `server` label of the DNS listener, as the handler labels it: dns://host:port of dns.listen. */
export function serverLabel(listen: string): string {
  return `dns://${formatHostPort(parseHostPort(listen))}`;
}

/** CoreDNS cache hit types: positive data, or a cached denial (RFC 2308). */
export type CacheHitType = 'success' | 'denial';

/** What response rate limiting did with one UDP response. */
export type RrlVerdict = 'send' | 'drop' | 'slip';

export type PolicyHitKind =
  | 'blocked' | 'allowlisted' | 'rpz_nxdomain' | 'rpz_nodata' | 'rpz_passthru' | 'rpz_local_data';

export const noopResolverMetrics: ResolverMetrics = {
  request: () => undefined,
  response: () => undefined,
  forwardRequest: () => undefined,
  forwardResponse: () => undefined,
  forwardSpoofed: () => undefined,
  forwardDuration: () => undefined,
  forwardFailover: () => undefined,
  malformed: () => undefined,
  eventsDropped: () => undefined,
  eventQueueDepth: () => undefined,
  spoolDepthBytes: () => undefined,
  spoolWritten: () => undefined,
  spoolReplayed: () => undefined,
  spoolDropped: () => undefined,
  spoolTruncated: () => undefined,
  cacheHit: () => undefined,
  cacheMiss: () => undefined,
  cacheServedStale: () => undefined,
  cachePrefetch: () => undefined,
  aclRefused: () => undefined,
  rrlResponse: () => undefined,
  policyHit: () => undefined,
  policyReload: () => undefined,
  policyRules: () => undefined,
  policyListFailure: () => undefined,
  policyEntries: () => undefined,
};

/** The subset of a pino logger resolver-edge uses. */
export interface EdgeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: EdgeLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

import type { PgQueryable } from '../stats/stats.repository.js';
import { TAILSCALE_DOMAIN_SUFFIX, TAILSCALE_IPV4, TAILSCALE_IPV6 } from '../stats/stats.repository.js';
import type { HourWindow } from './params.js';

// Every query here reads the rollups of migration 002 (continuous aggregates on TimescaleDB,
// worker-refreshed tables on PostgreSQL), never dns_queries: ranges of up to 31 days stay cheap.
// Parameters only; $1/$2 are always the hour-bucket bounds [from, to).

const TS = `(client_ip <<= $3::inet OR client_ip <<= $4::inet OR domain LIKE $5)`;

export const AUDIT_SUMMARY_SQL = `
SELECT coalesce(sum(hit_count), 0)::text                                   AS total,
       coalesce(sum(hit_count) FILTER (WHERE ${TS}), 0)::text              AS tailscale,
       coalesce(sum(hit_count) FILTER (WHERE domain NOT LIKE $5), 0)::text AS external,
       coalesce(sum(blocked_count), 0)::text                               AS blocked,
       coalesce(sum(nxdomain_count), 0)::text                              AS nxdomain,
       coalesce(sum(servfail_count), 0)::text                              AS servfail,
       count(DISTINCT client_ip)::text                                     AS clients,
       count(DISTINCT domain)::text                                        AS domains,
       count(DISTINCT domain) FILTER (WHERE domain NOT LIKE $5)::text      AS external_domains
FROM dns_client_stats_1h
WHERE bucket >= $1::timestamptz AND bucket < $2::timestamptz`;

/** Domains outside the tailnet (not *.ts.net, as the seed's topology mapper splits them), most queried first. */
export const AUDIT_EXTERNAL_SQL = `
SELECT domain, sum(hit_count)::text AS queries, count(DISTINCT client_ip)::text AS clients,
       sum(blocked_count)::text AS blocked, max(last_seen) AS last_seen
FROM dns_client_stats_1h
WHERE bucket >= $1::timestamptz AND bucket < $2::timestamptz AND domain NOT LIKE $3
GROUP BY domain
ORDER BY sum(hit_count) DESC, domain
LIMIT $4`;

/** Blocked domains (policy_action BLOCKED), most blocked first; also GET /api/v1/top/blocked. */
export const TOP_BLOCKED_SQL = `
SELECT domain, sum(blocked_count)::text AS blocked, count(DISTINCT client_ip)::text AS clients,
       max(last_seen) AS last_seen
FROM dns_client_stats_1h
WHERE bucket >= $1::timestamptz AND bucket < $2::timestamptz AND blocked_count > 0
GROUP BY domain
ORDER BY sum(blocked_count) DESC, domain
LIMIT $3`;

export const TOP_DOMAINS_SQL = `
SELECT domain, sum(hit_count)::text AS queries, sum(blocked_count)::text AS blocked,
       sum(nxdomain_count)::text AS nxdomain, sum(servfail_count)::text AS servfail,
       sum(cached_count)::text AS cached,
       (sum(latency_sum_us)::float8 / nullif(sum(latency_count), 0)) AS avg_latency_us
FROM dns_domain_stats_1h
WHERE bucket >= $1::timestamptz AND bucket < $2::timestamptz
GROUP BY domain
ORDER BY sum(hit_count) DESC, domain
LIMIT $3`;

export const TOP_CLIENTS_SQL = `
SELECT host(client_ip) AS client, sum(hit_count)::text AS queries, count(DISTINCT domain)::text AS domains,
       sum(blocked_count)::text AS blocked, sum(nxdomain_count)::text AS nxdomain, max(last_seen) AS last_seen
FROM dns_client_stats_1h
WHERE bucket >= $1::timestamptz AND bucket < $2::timestamptz
GROUP BY client_ip
ORDER BY sum(hit_count) DESC, client_ip
LIMIT $3`;

/**
 * Which devices resolve which domains (the seed's topology mapper, from the
 * hourly client rollup instead of 1,000 raw rows): the $3 most active clients,
 * each with its $4 most queried domains.
 */
export const DEVICE_ACTIVITY_SQL = `
WITH per AS (
  SELECT client_ip, domain, sum(hit_count) AS hits, max(last_seen) AS last_seen
  FROM dns_client_stats_1h
  WHERE bucket >= $1::timestamptz AND bucket < $2::timestamptz
  GROUP BY client_ip, domain
), ranked AS (
  SELECT client_ip, domain, hits,
         row_number() OVER (PARTITION BY client_ip ORDER BY hits DESC, domain) AS rn,
         sum(hits) OVER (PARTITION BY client_ip)      AS total,
         count(*) OVER (PARTITION BY client_ip)       AS domain_count,
         max(last_seen) OVER (PARTITION BY client_ip) AS client_last_seen
  FROM per
), top_clients AS (
  SELECT client_ip FROM ranked WHERE rn = 1 ORDER BY total DESC, client_ip LIMIT $3
)
SELECT host(r.client_ip) AS client, r.domain, r.hits::text AS hits, r.total::text AS total,
       r.domain_count::text AS domain_count, r.client_last_seen AS last_seen
FROM ranked r JOIN top_clients t ON t.client_ip = r.client_ip
WHERE r.rn <= $4
ORDER BY r.total DESC, r.client_ip, r.rn`;

/** dns_nodes with each node's queries over the last hour of dns_node_stats_1m. */
export const NODES_SQL = `
SELECT n.node_id AS id, n.node_name, host(n.node_ip) AS node_ip, n.location, n.network::text AS network,
       n.active, n.added_at, coalesce(s.queries, 0)::text AS queries, s.last_bucket
FROM dns_nodes n
LEFT JOIN (
  SELECT node_id, sum(queries) AS queries, max(bucket) AS last_bucket
  FROM dns_node_stats_1m
  WHERE bucket >= $1::timestamptz
  GROUP BY node_id
) s ON s.node_id = n.node_name
ORDER BY n.node_name
LIMIT $2`;

export interface AuditSummaryRow {
  total: string;
  tailscale: string;
  external: string;
  blocked: string;
  nxdomain: string;
  servfail: string;
  clients: string;
  domains: string;
  external_domains: string;
}

export interface ExternalDomainRow {
  domain: string;
  queries: string;
  clients: string;
  blocked: string;
  last_seen: Date;
}

export interface BlockedDomainRow {
  domain: string;
  blocked: string;
  clients: string;
  last_seen: Date;
}

export interface TopDomainRow {
  domain: string;
  queries: string;
  blocked: string;
  nxdomain: string;
  servfail: string;
  cached: string;
  avg_latency_us: number | null;
}

export interface TopClientRow {
  client: string;
  queries: string;
  domains: string;
  blocked: string;
  nxdomain: string;
  last_seen: Date;
}

export interface DeviceActivityRow {
  client: string;
  domain: string;
  hits: string;
  total: string;
  domain_count: string;
  last_seen: Date;
}

export interface NodeRow {
  id: number;
  node_name: string;
  node_ip: string | null;
  location: string;
  network: string | null;
  active: boolean | null;
  added_at: Date | null;
  queries: string;
  last_bucket: Date | null;
}

/** The reads of audit, top-N, device activity and nodes (AnalyticsService's source). */
export interface AnalyticsSource {
  auditSummary(window: HourWindow): Promise<AuditSummaryRow>;
  externalDomains(window: HourWindow, limit: number): Promise<ExternalDomainRow[]>;
  topBlocked(window: HourWindow, limit: number): Promise<BlockedDomainRow[]>;
  topDomains(window: HourWindow, limit: number): Promise<TopDomainRow[]>;
  topClients(window: HourWindow, limit: number): Promise<TopClientRow[]>;
  deviceActivity(window: HourWindow, devices: number, domainsPerDevice: number): Promise<DeviceActivityRow[]>;
  nodes(activeSince: Date, limit: number): Promise<NodeRow[]>;
}

const SUFFIX_PATTERN = `%${TAILSCALE_DOMAIN_SUFFIX}`;

export class AnalyticsRepository implements AnalyticsSource {
  constructor(private readonly pool: PgQueryable) {}

  private bounds(window: HourWindow): [string, string] {
    return [window.from.toISOString(), window.to.toISOString()];
  }

  async auditSummary(window: HourWindow): Promise<AuditSummaryRow> {
    const result = await this.pool.query<AuditSummaryRow>(AUDIT_SUMMARY_SQL, [
      ...this.bounds(window), TAILSCALE_IPV4, TAILSCALE_IPV6, SUFFIX_PATTERN,
    ]);
    return result.rows[0] ?? {
      total: '0', tailscale: '0', external: '0', blocked: '0', nxdomain: '0', servfail: '0', clients: '0', domains: '0', external_domains: '0',
    };
  }

  async externalDomains(window: HourWindow, limit: number): Promise<ExternalDomainRow[]> {
    return (await this.pool.query<ExternalDomainRow>(AUDIT_EXTERNAL_SQL, [...this.bounds(window), SUFFIX_PATTERN, limit])).rows;
  }

  async topBlocked(window: HourWindow, limit: number): Promise<BlockedDomainRow[]> {
    return (await this.pool.query<BlockedDomainRow>(TOP_BLOCKED_SQL, [...this.bounds(window), limit])).rows;
  }

  async topDomains(window: HourWindow, limit: number): Promise<TopDomainRow[]> {
    return (await this.pool.query<TopDomainRow>(TOP_DOMAINS_SQL, [...this.bounds(window), limit])).rows;
  }

  async topClients(window: HourWindow, limit: number): Promise<TopClientRow[]> {
    return (await this.pool.query<TopClientRow>(TOP_CLIENTS_SQL, [...this.bounds(window), limit])).rows;
  }

  async deviceActivity(window: HourWindow, devices: number, domainsPerDevice: number): Promise<DeviceActivityRow[]> {
    return (await this.pool.query<DeviceActivityRow>(DEVICE_ACTIVITY_SQL, [...this.bounds(window), devices, domainsPerDevice])).rows;
  }

  async nodes(activeSince: Date, limit: number): Promise<NodeRow[]> {
    return (await this.pool.query<NodeRow>(NODES_SQL, [activeSince.toISOString(), limit])).rows;
  }
}

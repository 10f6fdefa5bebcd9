import type pg from 'pg';
import type { StatsWindow } from './window.js';

/** Tailscale's CGNAT IPv4 range and its ULA IPv6 range; MagicDNS names end in .ts.net. */
export const TAILSCALE_IPV4 = '100.64.0.0/10';
export const TAILSCALE_IPV6 = 'fd7a:115c:a1e0::/48';
export const TAILSCALE_DOMAIN_SUFFIX = '.ts.net';

/** Raw aggregates over dns_queries for one window. */
export interface QueryStatsRow {
  total: number;
  tailscale: number;
  cached: number;
  blocked: number;
  /** Mean of latency_us over rows that have one; null when none has. */
  avgLatencyUs: number | null;
}

/**
 * One pass over the window. Parameters only: the window bounds, the two
 * Tailscale prefixes, the suffix pattern and the blocked action.
 */
export const QUERY_STATS_SQL = `
SELECT
  count(*)::text AS total,
  count(*) FILTER (WHERE client_ip <<= $3::inet OR client_ip <<= $4::inet OR domain LIKE $5)::text AS tailscale,
  count(*) FILTER (WHERE cached)::text AS cached,
  count(*) FILTER (WHERE policy_action = $6)::text AS blocked,
  avg(latency_us)::float8 AS avg_latency_us
FROM dns_queries
WHERE queried_at >= $1::timestamptz AND queried_at < $2::timestamptz`;

interface RawStats {
  total: string;
  tailscale: string;
  cached: string;
  blocked: string;
  avg_latency_us: number | null;
}

/** The part of pg.Pool the repository uses. */
export type PgQueryable = Pick<pg.Pool, 'query'>;

export class StatsRepository {
  constructor(private readonly pool: PgQueryable) {}

  async queryStats(window: StatsWindow): Promise<QueryStatsRow> {
    const result = await this.pool.query<RawStats>(QUERY_STATS_SQL, [
      window.from.toISOString(),
      window.to.toISOString(),
      TAILSCALE_IPV4,
      TAILSCALE_IPV6,
      `%${TAILSCALE_DOMAIN_SUFFIX}`,
      'BLOCKED',
    ]);
    const row = result.rows[0];
    if (row === undefined) return { total: 0, tailscale: 0, cached: 0, blocked: 0, avgLatencyUs: null };
    return {
      total: Number(row.total),
      tailscale: Number(row.tailscale),
      cached: Number(row.cached),
      blocked: Number(row.blocked),
      avgLatencyUs: row.avg_latency_us === null ? null : Number(row.avg_latency_us),
    };
  }
}

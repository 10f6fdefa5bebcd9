import type { DnsQueryRow } from '@ghostdns/db';
import type { PgQueryable } from '../stats/stats.repository.js';
import { TAILSCALE_DOMAIN_SUFFIX, TAILSCALE_IPV4, TAILSCALE_IPV6 } from '../stats/stats.repository.js';

/** Position of a row in newest-first order: queried_at (exact, microseconds) then event_id. */
export interface LogCursor {
  /** queried_at as PostgreSQL prints it in UTC with microseconds, e.g. 2024-05-01T12:00:00.123456Z. */
  at: string;
  eventId: string;
}

export interface LogQuery {
  limit: number;
  /** Lower bound on queried_at (inclusive), or none. */
  since: Date | null;
  /** Rows strictly after this position (older), or from the newest. */
  after: LogCursor | null;
  client: string | undefined;
  domain: string | undefined;
}

/** A dns_queries row as LOGS_SQL selects it: queried_at as a Date plus its exact text form, and the Tailscale flag. */
export type LogRow = Omit<DnsQueryRow, 'queried_at' | 'response_time' | 'query_wire' | 'response_wire' | 'device_source' | 'device_id' | 'device_name'> & {
  at_exact: string;
  queried_at: Date;
  tailscale: boolean;
};

/**
 * Newest first by (queried_at DESC, event_id DESC). `queried_at <= $at` is the
 * indexable part of the keyset condition (TimescaleDB's default queried_at
 * index; dns_queries_time_idx of migration 061 on PostgreSQL); the row
 * comparison breaks ties. Parameters only: $1 limit, $2 since, $3/$4 cursor,
 * $5 client, $6 domain, $7-$9 the Tailscale ranges and suffix.
 */
export const LOGS_SQL = `
SELECT to_char(queried_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_exact,
       event_id::text AS event_id, queried_at, node_id, pop, source, message_type,
       host(client_ip) AS client_ip, client_port, transport, domain, apex_domain, qtype, qclass, flags,
       response_rcode, cached, cache_status, latency_us, answer_count, response_size, upstream,
       upstream_latency_us, policy_action,
       (client_ip <<= $7::inet OR client_ip <<= $8::inet OR domain LIKE $9) AS tailscale
FROM dns_queries
WHERE ($2::timestamptz IS NULL OR queried_at >= $2::timestamptz)
  AND ($3::timestamptz IS NULL OR (queried_at <= $3::timestamptz
       AND (queried_at < $3::timestamptz OR event_id < $4::uuid)))
  AND ($5::inet IS NULL OR client_ip = $5::inet)
  AND ($6::text IS NULL OR domain = $6::text)
ORDER BY queried_at DESC, event_id DESC
LIMIT $1`;

export class LogsRepository {
  constructor(private readonly pool: PgQueryable) {}

  async newest(query: LogQuery): Promise<LogRow[]> {
    const result = await this.pool.query<LogRow>(LOGS_SQL, [
      query.limit,
      query.since?.toISOString() ?? null,
      query.after?.at ?? null,
      query.after?.eventId ?? null,
      query.client ?? null,
      query.domain ?? null,
      TAILSCALE_IPV4,
      TAILSCALE_IPV6,
      `%${TAILSCALE_DOMAIN_SUFFIX}`,
    ]);
    return result.rows;
  }
}

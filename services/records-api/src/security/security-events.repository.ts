import type { LogCursor } from '../analytics/logs.repository.js';
import type { PgQueryable } from '../stats/stats.repository.js';

export interface SecurityEventQuery {
  limit: number;
  /** Lower bound on detected_at (inclusive), or none. */
  since: Date | null;
  /** Rows strictly after this position (older), or from the newest. */
  after: LogCursor | null;
  kind: string | undefined;
  severity: string | undefined;
  client: string | undefined;
}

export interface SecurityEventRow {
  /** detected_at as PostgreSQL prints it in UTC with microseconds: the cursor's position. */
  at_exact: string;
  event_id: string;
  detected_at: Date;
  node_id: string;
  kind: string;
  severity: string;
  client_ip: string;
  qname: string | null;
  details: Record<string, string>;
}

/**
 * Newest first by (detected_at DESC, event_id DESC) over security_events_time_idx, or
 * security_events_client_time_idx with `client`. `detected_at <= $3` is the indexable part of the
 * keyset condition; the row comparison breaks ties. Parameters only: $1 limit, $2 since, $3/$4
 * cursor, $5 kind, $6 severity, $7 client.
 */
export const SECURITY_EVENTS_SQL = `
SELECT to_char(detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_exact,
       event_id::text AS event_id, detected_at, node_id, kind, severity, host(client_ip) AS client_ip, qname, details
FROM security_events
WHERE ($2::timestamptz IS NULL OR detected_at >= $2::timestamptz)
  AND ($3::timestamptz IS NULL OR (detected_at <= $3::timestamptz
       AND (detected_at < $3::timestamptz OR event_id < $4::uuid)))
  AND ($5::text IS NULL OR kind = $5::text)
  AND ($6::text IS NULL OR severity = $6::text)
  AND ($7::inet IS NULL OR client_ip = $7::inet)
ORDER BY detected_at DESC, event_id DESC
LIMIT $1`;

/** The security_events reads (the table ingest-worker writes from security.events.v1). */
export class SecurityEventsRepository {
  constructor(private readonly pool: PgQueryable) {}

  async newest(query: SecurityEventQuery): Promise<SecurityEventRow[]> {
    const result = await this.pool.query<SecurityEventRow>(SECURITY_EVENTS_SQL, [
      query.limit,
      query.since?.toISOString() ?? null,
      query.after?.at ?? null,
      query.after?.eventId ?? null,
      query.kind ?? null,
      query.severity ?? null,
      query.client ?? null,
    ]);
    return result.rows;
  }
}

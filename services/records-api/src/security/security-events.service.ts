import type { SecuritySeverity } from '@ghostdns/contracts';
import { keysetPage, keysetStart } from '../analytics/logs.service.js';
import { QueryParams } from '../analytics/params.js';
import { ApiError, invalidParameter } from '../errors.js';
import type { Clock } from '../stats/stats.service.js';
import type { SecurityEventQuery, SecurityEventRow } from './security-events.repository.js';

export const DEFAULT_SECURITY_EVENTS_LIMIT = 100;
export const MAX_SECURITY_EVENTS_LIMIT = 1000;
/** As long as a kind may be (ingest-worker refuses longer ones). */
const KIND_MAX_CHARS = 64;

export const SECURITY_SEVERITIES: readonly SecuritySeverity[] = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

/** One entry of GET /api/v1/security/events. */
export interface SecurityEventEntry {
  event_id: string;
  /** ISO 8601, millisecond precision. */
  detected_at: string;
  kind: string;
  severity: string;
  client: string;
  qname: string | null;
  /** The node whose detector fired. */
  node_id: string;
  details: Record<string, string>;
}

export interface SecurityEventsSource {
  newest(query: SecurityEventQuery): Promise<SecurityEventRow[]>;
}

export interface SecurityEventsPage {
  entries: SecurityEventEntry[];
  /** The query string of the next page, or null when this page is the last. */
  next: URLSearchParams | null;
}

const PARAMS = ['minutes', 'kind', 'severity', 'client', 'limit', 'cursor'] as const;

export function toSecurityEventEntry(row: SecurityEventRow): SecurityEventEntry {
  return {
    event_id: row.event_id,
    detected_at: new Date(row.detected_at).toISOString(),
    kind: row.kind,
    severity: row.severity,
    client: row.client_ip,
    qname: row.qname,
    node_id: row.node_id,
    details: row.details,
  };
}

/**
 * GET /api/v1/security/events: the newest detections, keyset-paged like /api/v1/logs (the
 * cursor keeps the first page's window, so pages neither repeat nor skip while new ones arrive).
 */
export class SecurityEventsService {
  constructor(
    private readonly source: SecurityEventsSource,
    private readonly clock: Clock = () => new Date(),
  ) {}

  async page(query: Record<string, unknown>): Promise<SecurityEventsPage> {
    const params = new QueryParams(query, PARAMS);
    const limit = params.int('limit', DEFAULT_SECURITY_EVENTS_LIMIT, 1, MAX_SECURITY_EVENTS_LIMIT);
    const kind = params.string('kind');
    if (kind !== undefined && kind.length > KIND_MAX_CHARS) throw invalidParameter('kind', `must be at most ${KIND_MAX_CHARS} characters`);
    const severity = params.choice('severity', SECURITY_SEVERITIES);
    const client = params.ip('client');
    const { since, after } = keysetStart(params, this.clock);

    let rows: SecurityEventRow[];
    try {
      rows = await this.source.newest({ limit: limit + 1, since, after, kind, severity, client });
    } catch (error) {
      throw new ApiError('GHOSTDNS_API_SECURITY_UNAVAILABLE', 503, 'security events are unavailable', { cause: error });
    }
    const { shown, next } = keysetPage(rows, limit, since, { kind, severity, client });
    return { entries: shown.map(toSecurityEventEntry), next };
  }
}

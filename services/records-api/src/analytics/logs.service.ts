import { analyticsUnavailable, invalidParameter } from '../errors.js';
import type { Clock } from '../stats/stats.service.js';
import { MAX_WINDOW_MINUTES } from '../stats/window.js';
import type { LogCursor, LogQuery, LogRow } from './logs.repository.js';
import { MINUTE_MS, QueryParams } from './params.js';
import { decodeCursorTuple, encodeCursorTuple, invalidCursor } from '../http/link.js';

export const DEFAULT_LOG_LIMIT = 100;
export const MAX_LOG_LIMIT = 1000;

/**
 * One entry of GET /api/v1/logs. `client`, `domain`, `timestamp` are what
 * GhostScale reads (seed: topology mapper, threat detector); the rest are the
 * event's own fields. `type` is the same discriminator the live stream
 * (/ws/events) uses: `tailscale_query` or `dns_query`; the query type is `qtype`.
 */
export interface LogEntry {
  type: 'tailscale_query' | 'dns_query';
  event_id: string;
  /** ISO 8601, millisecond precision, of the query time. */
  timestamp: string;
  client: string;
  client_port: number;
  domain: string;
  apex_domain: string;
  qtype: string;
  qclass: string;
  rcode: string | null;
  flags: string;
  cached: boolean;
  cache_status: string;
  policy_action: string;
  /** ms, microsecond resolution; null without a response time. */
  latency_ms: number | null;
  upstream: string | null;
  upstream_latency_ms: number | null;
  answer_count: number;
  response_size: number;
  transport: string;
  node_id: string;
  pop: string;
  source: string;
  message_type: string;
}

export interface LogsSource {
  newest(query: LogQuery): Promise<LogRow[]>;
}

export interface LogsPage {
  entries: LogEntry[];
  /** The query string of the next page, or null when this page is the last. */
  next: URLSearchParams | null;
}

const PARAMS = ['limit', 'minutes', 'client', 'domain', 'cursor'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EXACT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

interface CursorState extends LogCursor {
  /** The absolute lower bound of the first page's `minutes`, kept so later pages see the same window. */
  since: string | null;
}

export function encodeCursor(state: CursorState): string {
  return encodeCursorTuple([state.at, state.eventId, state.since]);
}

export function decodeCursor(text: string): CursorState {
  const bad = invalidCursor();
  const [at, eventId, since] = decodeCursorTuple(text, 3);
  if (typeof at !== 'string' || !EXACT.test(at) || Number.isNaN(Date.parse(at))) throw bad;
  if (typeof eventId !== 'string' || !UUID.test(eventId)) throw bad;
  if (since !== null && (typeof since !== 'string' || Number.isNaN(Date.parse(since)))) throw bad;
  return { at, eventId, since: since };
}

const ms = (us: number | null): number | null => (us === null ? null : us / 1000);

/**
 * Where a newest-first keyset page starts: after `?cursor=` (which keeps the first page's
 * window, so pages neither repeat nor skip while new rows arrive), or within `?minutes=`.
 */
export function keysetStart(params: QueryParams, clock: Clock): { since: Date | null; after: CursorState | null } {
  const cursorText = params.string('cursor');
  if (cursorText !== undefined) {
    if (params.has('minutes')) throw invalidParameter('minutes', 'cannot be combined with cursor (the cursor keeps the window)');
    const after = decodeCursor(cursorText);
    return { since: after.since === null ? null : new Date(after.since), after };
  }
  if (!params.has('minutes')) return { since: null, after: null };
  const minutes = params.int('minutes', 0, 1, MAX_WINDOW_MINUTES);
  return { since: new Date(clock().getTime() - minutes * MINUTE_MS), after: null };
}

/**
 * The page in `rows` (read with limit + 1) and the query of the next one: the same `filters`
 * and a cursor after the last row shown; null when this is the last page.
 */
export function keysetPage<R extends { at_exact: string; event_id: string }>(
  rows: R[], limit: number, since: Date | null, filters: Readonly<Record<string, string | undefined>>,
): { shown: R[]; next: URLSearchParams | null } {
  const shown = rows.length > limit ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  if (rows.length <= limit || last === undefined) return { shown, next: null };
  const next = new URLSearchParams();
  next.set('limit', String(limit));
  for (const [name, value] of Object.entries(filters)) if (value !== undefined) next.set(name, value);
  next.set('cursor', encodeCursor({ at: last.at_exact, eventId: last.event_id, since: since?.toISOString() ?? null }));
  return { shown, next };
}

export function toLogEntry(row: LogRow): LogEntry {
  return {
    type: row.tailscale ? 'tailscale_query' : 'dns_query',
    event_id: row.event_id,
    timestamp: new Date(row.queried_at).toISOString(),
    client: row.client_ip,
    client_port: row.client_port,
    domain: row.domain,
    apex_domain: row.apex_domain,
    qtype: row.qtype,
    qclass: row.qclass,
    rcode: row.response_rcode,
    flags: row.flags,
    cached: row.cached,
    cache_status: row.cache_status,
    policy_action: row.policy_action,
    latency_ms: ms(row.latency_us),
    upstream: row.upstream,
    upstream_latency_ms: ms(row.upstream_latency_us),
    answer_count: row.answer_count,
    response_size: row.response_size,
    transport: row.transport,
    node_id: row.node_id,
    pop: row.pop,
    source: row.source,
    message_type: row.message_type,
  };
}

/** GET /api/v1/logs: the newest rows of dns_queries, keyset-paged. */
export class LogsService {
  constructor(
    private readonly source: LogsSource,
    private readonly clock: Clock = () => new Date(),
  ) {}

  async page(query: Record<string, unknown>): Promise<LogsPage> {
    const params = new QueryParams(query, PARAMS);
    const limit = params.int('limit', DEFAULT_LOG_LIMIT, 1, MAX_LOG_LIMIT);
    const client = params.ip('client');
    const domain = params.domain('domain');
    const { since, after } = keysetStart(params, this.clock);

    let rows: LogRow[];
    try {
      rows = await this.source.newest({ limit: limit + 1, since, after, client, domain });
    } catch (error) {
      throw analyticsUnavailable('the query log', error);
    }
    const { shown, next } = keysetPage(rows, limit, since, { client, domain });
    return { entries: shown.map(toLogEntry), next };
  }
}

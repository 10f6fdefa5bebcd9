import { analyticsUnavailable, invalidParameter } from '../errors.js';
import type { Clock } from '../stats/stats.service.js';
import { parseIsoTimestamp } from '../stats/window.js';
import type { AnalyticsSource, NodeRow } from './analytics.repository.js';
import { DEFAULT_WINDOW, DAY_MS, HOUR_MS, MAX_WINDOW_MS, QueryParams, floorHour, hourWindow, parseDuration, type HourWindow } from './params.js';

const n = (text: string): number => Number(text);
const iso = (date: Date | string | null): string | null => (date === null ? null : new Date(date).toISOString());
const windowJson = (w: HourWindow): { from: string; to: string } => ({ from: w.from.toISOString(), to: w.to.toISOString() });

export interface AuditResponse {
  /** Hour buckets covered: [from, to), from floored and to rounded up to the UTC hour. */
  window: { from: string; to: string };
  summary: {
    total_queries: number;
    tailscale_queries: number;
    external_queries: number;
    blocked_queries: number;
    nxdomain_queries: number;
    servfail_queries: number;
    unique_clients: number;
    unique_domains: number;
    unique_external_domains: number;
  };
  /** = summary.blocked_queries (the seed reads it at the top level). */
  blocked_queries: number;
  /** Domains outside *.ts.net, most queried first (at most `limit`). */
  external_domains: { domain: string; queries: number; clients: number; blocked: number; last_seen: string | null }[];
  /** Domains answered BLOCKED, most blocked first (at most `limit`). */
  blocked_domains: { domain: string; blocked: number; clients: number; last_seen: string | null }[];
}

export interface TopResponse<T> {
  window: { from: string; to: string };
  items: T[];
}

export interface TopDomain {
  domain: string;
  queries: number;
  blocked: number;
  nxdomain: number;
  servfail: number;
  cache_hit_rate: number;
  average_latency: number | null;
}

export interface TopClient {
  client: string;
  queries: number;
  domains: number;
  blocked: number;
  nxdomain: number;
  last_seen: string | null;
}

export interface TopBlocked {
  domain: string;
  blocked: number;
  clients: number;
  last_seen: string | null;
}

export interface DeviceActivity {
  device: string;
  queries: number;
  domain_count: number;
  last_seen: string | null;
  /** *.ts.net names (the seed's `services`), with their query counts, most queried first. */
  services: { domain: string; queries: number }[];
  external_domains: { domain: string; queries: number }[];
}

export interface NodeResponse {
  id: number;
  /** The events' node_id (dns_nodes.node_name). */
  node_id: string;
  name: string;
  /** The events' pop (dns_nodes.location). */
  pop: string;
  location: string;
  ip: string | null;
  network: string | null;
  active: boolean;
  added_at: string | null;
  queries_last_hour: number;
  /** Start of the newest minute with queries in the last hour, null when none. */
  last_active: string | null;
}

export const TOP_KINDS = ['domains', 'clients', 'blocked'] as const;
export type TopKind = (typeof TOP_KINDS)[number];

export const DEFAULT_TOP_LIMIT = 10;
export const MAX_TOP_LIMIT = 100;
export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;
export const MAX_NODES = 1000;

function ceilHour(date: Date): Date {
  const floor = floorHour(date);
  return floor.getTime() === date.getTime() ? floor : new Date(floor.getTime() + HOUR_MS);
}

function nodeJson(row: NodeRow): NodeResponse {
  return {
    id: row.id,
    node_id: row.node_name,
    name: row.node_name,
    pop: row.location,
    location: row.location,
    ip: row.node_ip,
    network: row.network,
    active: row.active !== false,
    added_at: iso(row.added_at),
    queries_last_hour: n(row.queries),
    last_active: iso(row.last_bucket),
  };
}

/** Audit, top-N, device activity and nodes: all from the rollups (never raw dns_queries). */
export class AnalyticsService {
  constructor(
    private readonly source: AnalyticsSource,
    private readonly clock: Clock = () => new Date(),
  ) {}

  private async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw analyticsUnavailable(what, error);
    }
  }

  /** `?window=` (default 24h) as hour buckets. */
  private rollingWindow(params: QueryParams): HourWindow {
    return hourWindow(parseDuration('window', params.string('window') ?? DEFAULT_WINDOW), this.clock());
  }

  /** GET /api/v1/audit?from=&to=[&limit=]: the seed's compliance report. */
  async audit(query: Record<string, unknown>): Promise<AuditResponse> {
    const params = new QueryParams(query, ['from', 'to', 'limit']);
    const now = this.clock();
    const fromText = params.string('from');
    const toText = params.string('to');
    const limit = params.int('limit', DEFAULT_AUDIT_LIMIT, 1, MAX_AUDIT_LIMIT);
    if (fromText === undefined && toText !== undefined) throw invalidParameter('from', 'is required when to is given');
    const to = toText === undefined ? now : parseIsoTimestamp('to', toText);
    const from = fromText === undefined ? new Date(to.getTime() - DAY_MS) : parseIsoTimestamp('from', fromText);
    if (from.getTime() >= to.getTime()) throw invalidParameter('from', 'must be earlier than to');
    if (to.getTime() - from.getTime() > MAX_WINDOW_MS) throw invalidParameter('from', 'must be at most 31 days before to');
    const window = { from: floorHour(from), to: ceilHour(to) };

    const [summary, external, blocked] = await this.read('the audit report', () =>
      Promise.all([
        this.source.auditSummary(window),
        this.source.externalDomains(window, limit),
        this.source.topBlocked(window, limit),
      ]),
    );
    return {
      window: windowJson(window),
      summary: {
        total_queries: n(summary.total),
        tailscale_queries: n(summary.tailscale),
        external_queries: n(summary.external),
        blocked_queries: n(summary.blocked),
        nxdomain_queries: n(summary.nxdomain),
        servfail_queries: n(summary.servfail),
        unique_clients: n(summary.clients),
        unique_domains: n(summary.domains),
        unique_external_domains: n(summary.external_domains),
      },
      blocked_queries: n(summary.blocked),
      external_domains: external.map((r) => ({
        domain: r.domain, queries: n(r.queries), clients: n(r.clients), blocked: n(r.blocked), last_seen: iso(r.last_seen),
      })),
      blocked_domains: blocked.map((r) => ({ domain: r.domain, blocked: n(r.blocked), clients: n(r.clients), last_seen: iso(r.last_seen) })),
    };
  }

  /** GET /api/v1/top/{domains,clients,blocked}?window=&limit= */
  async top(kind: TopKind, query: Record<string, unknown>): Promise<TopResponse<TopDomain | TopClient | TopBlocked>> {
    const params = new QueryParams(query, ['window', 'limit']);
    const window = this.rollingWindow(params);
    const limit = params.int('limit', DEFAULT_TOP_LIMIT, 1, MAX_TOP_LIMIT);
    const items = await this.read('the top list', async (): Promise<(TopDomain | TopClient | TopBlocked)[]> => {
      switch (kind) {
        case 'domains':
          return (await this.source.topDomains(window, limit)).map((r) => ({
            domain: r.domain,
            queries: n(r.queries),
            blocked: n(r.blocked),
            nxdomain: n(r.nxdomain),
            servfail: n(r.servfail),
            cache_hit_rate: n(r.queries) === 0 ? 0 : n(r.cached) / n(r.queries),
            average_latency: r.avg_latency_us === null ? null : Math.round(Number(r.avg_latency_us)) / 1000,
          }));
        case 'clients':
          return (await this.source.topClients(window, limit)).map((r) => ({
            client: r.client, queries: n(r.queries), domains: n(r.domains), blocked: n(r.blocked), nxdomain: n(r.nxdomain), last_seen: iso(r.last_seen),
          }));
        case 'blocked':
          return (await this.source.topBlocked(window, limit)).map((r) => ({
            domain: r.domain, blocked: n(r.blocked), clients: n(r.clients), last_seen: iso(r.last_seen),
          }));
      }
    });
    return { window: windowJson(window), items };
  }

  /** GET /api/v1/devices/activity?window=&limit=&domains=: which devices resolve which domains. */
  async deviceActivity(query: Record<string, unknown>): Promise<TopResponse<DeviceActivity>> {
    const params = new QueryParams(query, ['window', 'limit', 'domains']);
    const window = this.rollingWindow(params);
    const devices = params.int('limit', 100, 1, 1000);
    const perDevice = params.int('domains', 20, 1, 200);
    const rows = await this.read('device activity', () => this.source.deviceActivity(window, devices, perDevice));
    const byDevice = new Map<string, DeviceActivity>();
    for (const row of rows) {
      let device = byDevice.get(row.client);
      if (device === undefined) {
        device = { device: row.client, queries: n(row.total), domain_count: n(row.domain_count), last_seen: iso(row.last_seen), services: [], external_domains: [] };
        byDevice.set(row.client, device);
      }
      const entry = { domain: row.domain, queries: n(row.hits) };
      (row.domain.endsWith('.ts.net') ? device.services : device.external_domains).push(entry);
    }
    return { window: windowJson(window), items: [...byDevice.values()] };
  }

  /** GET /api/v1/nodes: dns_nodes with their last hour of traffic. */
  async nodes(query: Record<string, unknown>): Promise<NodeResponse[]> {
    new QueryParams(query, []);
    const since = new Date(Math.floor((this.clock().getTime() - HOUR_MS) / 60_000) * 60_000);
    const rows = await this.read('the node list', () => this.source.nodes(since, MAX_NODES));
    return rows.map(nodeJson);
  }
}

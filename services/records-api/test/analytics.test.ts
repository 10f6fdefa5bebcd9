import { describe, expect, it } from 'vitest';
import type { AnalyticsSource, NodeRow } from '../src/analytics/analytics.repository.js';
import { AnalyticsService } from '../src/analytics/analytics.service.js';
import type { LogQuery, LogRow } from '../src/analytics/logs.repository.js';
import { LogsService, decodeCursor, encodeCursor } from '../src/analytics/logs.service.js';
import { apiError, NewestStub } from './support/stubs.js';

const NOW = new Date('2024-05-01T12:34:56.789Z');
const clock = (): Date => NOW;

function logRow(i: number, overrides: Partial<LogRow> = {}): LogRow {
  const at = new Date(NOW.getTime() - i * 1000);
  return {
    at_exact: at.toISOString().replace('Z', '123Z'),
    event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    queried_at: at,
    node_id: 'edge-1',
    pop: 'ams1',
    source: 'RESOLVER_EDGE',
    message_type: 'CLIENT_RESPONSE',
    client_ip: '100.64.0.7',
    client_port: 5353,
    transport: 'UDP',
    domain: 'laptop.tail1234.ts.net',
    apex_domain: 'ts.net',
    qtype: 'A',
    qclass: 'IN',
    flags: 'qr rd ra',
    response_rcode: 'NOERROR',
    cached: true,
    cache_status: 'HIT',
    latency_us: 1_500,
    answer_count: 1,
    response_size: 64,
    upstream: null,
    upstream_latency_us: null,
    policy_action: 'PASS',
    tailscale: true,
    ...overrides,
  };
}

class StubLogs extends NewestStub<LogQuery, LogRow> {}

describe('LogsService', () => {
  it('maps rows to the seed fields (client, domain, timestamp) and the event fields', async () => {
    const source = new StubLogs();
    source.rows = [logRow(0), logRow(1, { tailscale: false, client_ip: '192.0.2.1', domain: 'example.com', latency_us: null, cached: false })];
    const page = await new LogsService(source, clock).page({});
    expect(source.calls[0]).toEqual({ limit: 101, since: null, after: null, client: undefined, domain: undefined });
    expect(page.next).toBeNull();
    expect(page.entries[0]).toStrictEqual({
      type: 'tailscale_query', event_id: '00000000-0000-4000-8000-000000000000', timestamp: NOW.toISOString(), client: '100.64.0.7', client_port: 5353,
      domain: 'laptop.tail1234.ts.net', apex_domain: 'ts.net', qtype: 'A', qclass: 'IN', rcode: 'NOERROR', flags: 'qr rd ra', cached: true,
      cache_status: 'HIT', policy_action: 'PASS', latency_ms: 1.5, upstream: null, upstream_latency_ms: null, answer_count: 1, response_size: 64,
      transport: 'UDP', node_id: 'edge-1', pop: 'ams1', source: 'RESOLVER_EDGE', message_type: 'CLIENT_RESPONSE',
    });
    expect(page.entries[1]).toMatchObject({ type: 'dns_query', client: '192.0.2.1', domain: 'example.com', latency_ms: null, cached: false });
  });

  it('asks for limit + 1 and links the next page with a cursor that keeps the minutes window', async () => {
    const source = new StubLogs();
    source.rows = [0, 1, 2, 3].map((i) => logRow(i));
    const service = new LogsService(source, clock);
    const page = await service.page({ limit: '3', minutes: '10', client: '100.64.0.7' });
    expect(source.calls[0]?.limit).toBe(4);
    expect(source.calls[0]?.since?.toISOString()).toBe(new Date(NOW.getTime() - 600_000).toISOString());
    expect(page.entries).toHaveLength(3);
    const next = page.next;
    expect(next?.get('limit')).toBe('3');
    expect(next?.get('client')).toBe('100.64.0.7');
    expect(next?.has('minutes')).toBe(false);
    const cursor = decodeCursor(next?.get('cursor') ?? '');
    expect(cursor).toEqual({ at: source.rows[2]?.at_exact, eventId: source.rows[2]?.event_id, since: new Date(NOW.getTime() - 600_000).toISOString() });

    await service.page({ limit: '3', client: '100.64.0.7', cursor: next?.get('cursor') });
    expect(source.calls[1]).toMatchObject({ after: cursor, since: new Date(NOW.getTime() - 600_000) });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '1001' }, 'limit'],
    [{ limit: ['1', '2'] }, 'limit'],
    [{ minutes: '0' }, 'minutes'],
    [{ minutes: 'ten' }, 'minutes'],
    [{ client: 'laptop' }, 'client'],
    [{ domain: 'bad domain' }, 'domain'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
    [{ cursor: encodeCursor({ at: '2024-05-01T00:00:00.000000Z', eventId: 'x', since: null }) }, 'cursor'],
    [{ cursor: encodeCursor({ at: '2024-05-01T00:00:00.000000Z', eventId: '00000000-0000-4000-8000-000000000000', since: null }), minutes: '5' }, 'minutes'],
    [{ page: '2' }, 'page'],
  ])('400 for %j naming %s', async (query, name) => {
    const error = await apiError(new LogsService(new StubLogs(), clock).page(query));
    expect(error.status).toBe(400);
    expect(error.code).toBe('GHOSTDNS_API_INVALID_PARAMETER');
    expect(error.message).toContain(`'${name}'`);
  });

  it('503 with a generic message when the database fails', async () => {
    const source = new StubLogs();
    source.fail = true;
    const error = await apiError(new LogsService(source, clock).page({}));
    expect([error.status, error.code, error.message]).toEqual([503, 'GHOSTDNS_API_ANALYTICS_UNAVAILABLE', 'the query log is unavailable']);
  });
});

class StubAnalytics implements AnalyticsSource {
  windows: { from: string; to: string }[] = [];
  limits: number[] = [];
  fail = false;
  private seen(window: { from: Date; to: Date }, ...limits: number[]): void {
    if (this.fail) throw new Error('boom');
    this.windows.push({ from: window.from.toISOString(), to: window.to.toISOString() });
    this.limits.push(...limits);
  }
  async auditSummary(w: { from: Date; to: Date }) {
    this.seen(w);
    return { total: '10', tailscale: '4', external: '6', blocked: '2', nxdomain: '1', servfail: '0', clients: '3', domains: '5', external_domains: '3' };
  }
  async externalDomains(w: { from: Date; to: Date }, limit: number) {
    this.seen(w, limit);
    return [{ domain: 'example.com', queries: '5', clients: '2', blocked: '0', last_seen: NOW }];
  }
  async topBlocked(w: { from: Date; to: Date }, limit: number) {
    this.seen(w, limit);
    return [{ domain: 'ads.example.net', blocked: '2', clients: '1', last_seen: NOW }];
  }
  async topDomains(w: { from: Date; to: Date }, limit: number) {
    this.seen(w, limit);
    return [{ domain: 'example.com', queries: '4', blocked: '0', nxdomain: '1', servfail: '0', cached: '1', avg_latency_us: 2500.4 }];
  }
  async topClients(w: { from: Date; to: Date }, limit: number) {
    this.seen(w, limit);
    return [{ client: '100.64.0.1', queries: '7', domains: '3', blocked: '1', nxdomain: '0', last_seen: NOW }];
  }
  async deviceActivity(w: { from: Date; to: Date }, devices: number, per: number) {
    this.seen(w, devices, per);
    return [
      { client: '100.64.0.1', domain: 'nas.tail1.ts.net', hits: '5', total: '8', domain_count: '3', last_seen: NOW },
      { client: '100.64.0.1', domain: 'example.com', hits: '2', total: '8', domain_count: '3', last_seen: NOW },
      { client: '192.0.2.9', domain: 'example.org', hits: '1', total: '1', domain_count: '1', last_seen: NOW },
    ];
  }
  async nodes(since: Date, limit: number): Promise<NodeRow[]> {
    this.seen({ from: since, to: since }, limit);
    return [{ id: 1, node_name: 'edge-1', node_ip: null, location: 'ams1', network: null, active: null, added_at: NOW, queries: '42', last_bucket: null }];
  }
}

describe('AnalyticsService', () => {
  it('audit: the seed fields from the hourly rollup, the window widened to whole hours', async () => {
    const source = new StubAnalytics();
    const audit = await new AnalyticsService(source, clock).audit({ from: '2024-04-30T10:15:00Z', to: '2024-05-01T10:30:00+00:00' });
    expect(source.windows[0]).toEqual({ from: '2024-04-30T10:00:00.000Z', to: '2024-05-01T11:00:00.000Z' });
    expect(source.limits).toEqual([100, 100]);
    expect(audit.summary.total_queries).toBe(10);
    expect(audit.blocked_queries).toBe(2);
    expect(audit.summary).toEqual({
      total_queries: 10, tailscale_queries: 4, external_queries: 6, blocked_queries: 2, nxdomain_queries: 1, servfail_queries: 0,
      unique_clients: 3, unique_domains: 5, unique_external_domains: 3,
    });
    expect(audit.external_domains).toEqual([{ domain: 'example.com', queries: 5, clients: 2, blocked: 0, last_seen: NOW.toISOString() }]);
    expect(audit.blocked_domains).toEqual([{ domain: 'ads.example.net', blocked: 2, clients: 1, last_seen: NOW.toISOString() }]);
  });

  it.each([
    [{ from: 'yesterday' }, 'from'],
    [{ to: '2024-05-01T00:00:00Z' }, 'from'],
    [{ from: '2024-05-01T00:00:00Z', to: '2024-04-01T00:00:00Z' }, 'from'],
    [{ from: '2024-01-01T00:00:00Z', to: '2024-05-01T00:00:00Z' }, 'from'],
    [{ from: '2024-05-01T00:00:00Z', to: 'later' }, 'to'],
    [{ limit: '0' }, 'limit'],
    [{ minutes: '5' }, 'minutes'],
  ])('audit 400 for %j naming %s', async (query, name) => {
    const error = await apiError(new AnalyticsService(new StubAnalytics(), clock).audit(query));
    expect([error.status, error.code]).toEqual([400, 'GHOSTDNS_API_INVALID_PARAMETER']);
    expect(error.message).toContain(`'${name}'`);
  });

  it('top: window in whole hours, default 24h and limit 10', async () => {
    const source = new StubAnalytics();
    const service = new AnalyticsService(source, clock);
    const domains = await service.top('domains', {});
    expect(domains.window).toEqual({ from: '2024-04-30T12:00:00.000Z', to: NOW.toISOString() });
    expect(source.limits).toEqual([10]);
    expect(domains.items).toEqual([{ domain: 'example.com', queries: 4, blocked: 0, nxdomain: 1, servfail: 0, cache_hit_rate: 0.25, average_latency: 2.5 }]);
    expect((await service.top('clients', { window: '7d', limit: '5' })).items).toEqual([
      { client: '100.64.0.1', queries: 7, domains: 3, blocked: 1, nxdomain: 0, last_seen: NOW.toISOString() },
    ]);
    expect(source.windows[1]?.from).toBe('2024-04-24T12:00:00.000Z');
    expect((await service.top('blocked', { window: '90m' })).items[0]).toMatchObject({ domain: 'ads.example.net', blocked: 2 });
    expect(source.windows[2]?.from).toBe('2024-05-01T11:00:00.000Z');
  });

  it.each([
    [{ window: '30m' }, 'window'],
    [{ window: '32d' }, 'window'],
    [{ window: '1w' }, 'window'],
    [{ limit: '101' }, 'limit'],
    [{ from: '2024-05-01T00:00:00Z' }, 'from'],
  ])('top 400 for %j naming %s', async (query, name) => {
    const error = await apiError(new AnalyticsService(new StubAnalytics(), clock).top('domains', query));
    expect(error.status).toBe(400);
    expect(error.message).toContain(`'${name}'`);
  });

  it('device activity groups domains per device into services (*.ts.net) and external domains', async () => {
    const source = new StubAnalytics();
    const result = await new AnalyticsService(source, clock).deviceActivity({ limit: '2', domains: '5' });
    expect(source.limits).toEqual([2, 5]);
    expect(result.items).toEqual([
      { device: '100.64.0.1', queries: 8, domain_count: 3, last_seen: NOW.toISOString(), services: [{ domain: 'nas.tail1.ts.net', queries: 5 }], external_domains: [{ domain: 'example.com', queries: 2 }] },
      { device: '192.0.2.9', queries: 1, domain_count: 1, last_seen: NOW.toISOString(), services: [], external_domains: [{ domain: 'example.org', queries: 1 }] },
    ]);
  });

  it('nodes: dns_nodes rows with the last hour of traffic', async () => {
    const source = new StubAnalytics();
    const nodes = await new AnalyticsService(source, clock).nodes({});
    expect(source.windows[0]?.from).toBe('2024-05-01T11:34:00.000Z');
    expect(nodes).toEqual([{
      id: 1, node_id: 'edge-1', name: 'edge-1', pop: 'ams1', location: 'ams1', ip: null, network: null, active: true,
      added_at: NOW.toISOString(), queries_last_hour: 42, last_active: null,
    }]);
    const error = await apiError(new AnalyticsService(source, clock).nodes({ limit: '5' }));
    expect(error.message).toContain("'limit'");
  });

  it('503 with a generic message when a rollup read fails', async () => {
    const source = new StubAnalytics();
    source.fail = true;
    const service = new AnalyticsService(source, clock);
    for (const promise of [service.audit({}), service.top('clients', {}), service.deviceActivity({}), service.nodes({})]) {
      const error = await apiError(promise);
      expect([error.status, error.code]).toEqual([503, 'GHOSTDNS_API_ANALYTICS_UNAVAILABLE']);
      expect(error.message).not.toContain('boom');
    }
  });
});

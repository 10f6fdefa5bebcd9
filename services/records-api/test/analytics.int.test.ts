import { randomInt, randomUUID } from 'node:crypto';
import { scratchDir, waitFor } from '@ghostdns/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@ghostdns/db';
import { ENGINES, openTestDatabase } from './support/database.js';
import { startRecordsApi, type TestServer } from './support/http.js';
import { testRuntime } from './support/runtime.js';

// logs, audit, top-N, device activity and nodes against the real engines. Rows are inserted through
// SQL with client addresses, domains and a node id of their own (the TimescaleDB stand-in is one
// shared session); the audit rows sit in a random old hour no other test uses.

const INSERT_SQL = `
INSERT INTO dns_queries (queried_at, event_id, node_id, pop, source, message_type, client_ip, client_port, transport,
  domain, apex_domain, qtype, qclass, flags, response_rcode, cached, cache_status, response_time, latency_us,
  answer_count, response_size, upstream, upstream_latency_us, policy_action, query_wire, response_wire)
VALUES ($1::timestamptz, $2::uuid, $3, 'itpop', 'RESOLVER_EDGE', 'CLIENT_RESPONSE', $4::inet, 5353, 'UDP',
  $5, $5, 'A', 'IN', 'qr rd ra', $6, false, 'MISS', NULL, 2000, 1, 64, NULL, NULL, $7, NULL, NULL)`;

interface Row {
  at: string;
  client: string;
  domain: string;
  rcode?: string;
  policy?: string;
}

describe.each(ENGINES)('analytics endpoints on %s', (engine) => {
  let db: Database;
  let runtime: ReturnType<typeof testRuntime>;
  let server: TestServer;
  const ids: string[] = [];
  const data = scratchDir();
  const tag = randomUUID().slice(0, 8);
  const node = `it-node-${tag}`;
  const client = `198.18.${randomInt(0, 256)}.${randomInt(1, 255)}`;
  const tsClient = `100.${randomInt(64, 128)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
  const hour = new Date(Date.UTC(2001, 0, 1) + randomInt(0, 24 * 3650) * 3_600_000);
  const at = (sec: number): string => new Date(hour.getTime() + sec * 1000).toISOString();
  const recent = new Date(Date.now() - 60_000).toISOString();
  const svc = `nas-${tag}.tail1.ts.net`;
  const ext = `site-${tag}.example.com`;
  const ads = `ads-${tag}.example.net`;

  async function insert(rows: Row[]): Promise<void> {
    for (const row of rows) {
      const id = randomUUID();
      ids.push(id);
      await db.pool.query(INSERT_SQL, [row.at, id, node, row.client, row.domain, row.rcode ?? 'NOERROR', row.policy ?? 'PASS']);
    }
  }

  /** PostgreSQL: the worker's refresh, called here; TimescaleDB: real-time aggregation needs none. */
  async function refresh(): Promise<void> {
    if (db.engine === 'postgres') await db.pool.query('SELECT ghostdns_refresh_rollups()');
  }

  async function eventually<T>(path: string, check: (body: T) => boolean): Promise<T> {
    let last: unknown;
    await waitFor(async () => {
      await refresh();
      const { status, body } = await server.get(path);
      last = body;
      return status === 200 && check(body as T);
    }, { timeoutMs: 20_000, intervalMs: 100, description: `${path} on ${engine}` }).catch((error: unknown) => {
      throw new Error(`${String(error)}; last answer ${JSON.stringify(last)}`);
    });
    return last as T;
  }

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    await insert([
      // In the old hour: the client's log (two rows share a timestamp: the event_id breaks the tie).
      { at: at(10), client, domain: ext },
      { at: at(20), client, domain: svc },
      { at: at(20), client, domain: ext, rcode: 'NXDOMAIN' },
      { at: at(30), client, domain: ads, policy: 'BLOCKED' },
      { at: at(40), client: tsClient, domain: ads, policy: 'BLOCKED' },
      { at: at(50), client: tsClient, domain: svc },
      // Just before the hour: outside the audit window.
      { at: at(-1), client, domain: ext },
      // Recent: top-N, device activity, nodes.
      { at: recent, client, domain: ext },
      { at: recent, client, domain: ext },
      { at: recent, client, domain: svc },
      { at: recent, client: tsClient, domain: ads, policy: 'BLOCKED' },
    ]);
    await db.pool.query(`INSERT INTO dns_nodes (node_name, location) VALUES ($1, 'itpop') ON CONFLICT (node_name) DO NOTHING`, [node]);
    runtime = testRuntime(db, { data: { dir: data.dir } });
    await runtime.bus.connect();
    server = await startRecordsApi(runtime);
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.bus.close();
    if (db !== undefined) {
      await db.pool.query('DELETE FROM dns_queries WHERE event_id = ANY($1::uuid[])', [ids]);
      await db.pool.query('DELETE FROM dns_nodes WHERE node_name = $1', [node]);
      if (db.engine === 'postgres') {
        await db.pool.query('DELETE FROM dns_client_stats_1h WHERE client_ip = ANY($1::inet[])', [[client, tsClient]]);
        await db.pool.query('DELETE FROM dns_domain_stats_1h WHERE domain = ANY($1::text[])', [[svc, ext, ads]]);
        await db.pool.query('DELETE FROM dns_daily_stats_1d WHERE domain = ANY($1::text[])', [[svc, ext, ads]]);
        await db.pool.query('DELETE FROM dns_node_stats_1m WHERE node_id = $1', [node]);
      }
      await db.close();
    }
    data.remove();
  });

  it('GET /api/v1/logs pages newest first through Link rel=next, without gaps or repeats', async () => {
    const seen: { timestamp: string; domain: string; client: string; event_id: string }[] = [];
    let path: string | null = `/api/v1/logs?client=${client}&limit=2`;
    let pages = 0;
    while (path !== null && pages < 10) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as typeof seen;
      expect(Array.isArray(body)).toBe(true);
      seen.push(...body);
      const link = response.headers.get('link');
      path = link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null);
      pages += 1;
    }
    // The three recent rows, then the old hour newest first (the two at :20 ordered by event_id), then the row before it.
    expect(seen.slice(0, 3).map((e) => e.domain).sort()).toEqual([ext, ext, svc].sort());
    const tied = seen.slice(4, 6).map((e) => e.event_id);
    expect(tied).toEqual([...tied].sort().reverse());
    expect(seen).toHaveLength(8);
    expect(new Set(seen.map((e) => e.event_id)).size).toBe(8);
    const times = seen.map((e) => Date.parse(e.timestamp));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(seen.every((e) => e.client === client)).toBe(true);
    expect(seen.slice(3).map((e) => e.timestamp)).toEqual([at(30), at(20), at(20), at(10), at(-1)]);
    expect(seen[3]).toMatchObject({ type: 'dns_query', domain: ads, policy_action: 'BLOCKED', qtype: 'A', rcode: 'NOERROR', latency_ms: 2, node_id: node });
  });

  it('GET /api/v1/logs?minutes= keeps to the window; ?domain= filters', async () => {
    const recentOnly = (await server.get(`/api/v1/logs?client=${client}&minutes=10`)).body as { domain: string }[];
    expect(recentOnly.map((e) => e.domain).sort()).toEqual([ext, ext, svc].sort());
    const byDomain = (await server.get(`/api/v1/logs?domain=${svc}&limit=1000`)).body as { client: string; type: string }[];
    expect(byDomain.map((e) => e.client).sort()).toEqual([client, client, tsClient].sort());
    expect(byDomain.every((e) => e.type === 'tailscale_query')).toBe(true);
    const bad = await server.get('/api/v1/logs?limit=5000');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'GHOSTDNS_API_INVALID_PARAMETER', message: expect.stringContaining("'limit'") as unknown } });
  });

  it('GET /api/v1/audit answers the compliance summary from the hourly rollup', async () => {
    interface Audit {
      summary: Record<string, number>;
      blocked_queries: number;
      external_domains: { domain: string; queries: number; clients: number }[];
      blocked_domains: { domain: string; blocked: number; clients: number }[];
      window: { from: string; to: string };
    }
    const audit = await eventually<Audit>(`/api/v1/audit?from=${at(0)}&to=${at(3_600)}`, (b) => b.summary.total_queries === 6);
    expect(audit.window).toEqual({ from: at(0), to: at(3_600) });
    expect(audit.summary).toEqual({
      total_queries: 6, tailscale_queries: 3, external_queries: 4, blocked_queries: 2, nxdomain_queries: 1, servfail_queries: 0,
      unique_clients: 2, unique_domains: 3, unique_external_domains: 2,
    });
    expect(audit.blocked_queries).toBe(2);
    expect(audit.external_domains).toEqual([
      expect.objectContaining({ domain: ads, queries: 2, clients: 2 }),
      expect.objectContaining({ domain: ext, queries: 2, clients: 1 }),
    ]);
    expect(audit.blocked_domains).toEqual([expect.objectContaining({ domain: ads, blocked: 2, clients: 2 })]);
  });

  it('GET /api/v1/top/{domains,clients,blocked} and /devices/activity read the recent rollups', async () => {
    interface Top<T> { items: T[] }
    const domains = await eventually<Top<{ domain: string; queries: number }>>('/api/v1/top/domains?window=2h&limit=100', (b) => b.items.some((i) => i.domain === ext && i.queries === 2));
    expect(domains.items.find((i) => i.domain === svc)).toMatchObject({ queries: 1 });
    const clients = await eventually<Top<{ client: string; queries: number; domains: number }>>('/api/v1/top/clients?window=2h&limit=100', (b) => b.items.some((i) => i.client === client));
    expect(clients.items.find((i) => i.client === client)).toMatchObject({ queries: 3, domains: 2 });
    const blocked = await eventually<Top<{ domain: string; blocked: number }>>('/api/v1/top/blocked?window=2h&limit=100', (b) => b.items.some((i) => i.domain === ads));
    expect(blocked.items.find((i) => i.domain === ads)).toMatchObject({ blocked: 1, clients: 1 });
    const devices = await eventually<Top<{ device: string }>>('/api/v1/devices/activity?window=2h&limit=1000', (b) => b.items.some((i) => i.device === client));
    expect(devices.items.find((i) => i.device === client)).toMatchObject({
      queries: 3, domain_count: 2, services: [{ domain: svc, queries: 1 }], external_domains: [{ domain: ext, queries: 2 }],
    });
  });

  it('GET /api/v1/nodes lists dns_nodes with the last hour of traffic', async () => {
    const nodes = await eventually<{ node_id: string; queries_last_hour: number }[]>('/api/v1/nodes', (b) => b.some((n) => n.node_id === node && n.queries_last_hour === 4));
    expect(nodes.find((n) => n.node_id === node)).toMatchObject({ pop: 'itpop', active: true, ip: null });
  });
});

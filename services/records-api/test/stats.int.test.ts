import { randomInt, randomUUID } from 'node:crypto';
import { scratchDir } from '@ghostdns/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@ghostdns/db';
import { ENGINES, openTestDatabase } from './support/database.js';
import { startRecordsApi, type TestServer } from './support/http.js';
import { testRuntime } from './support/runtime.js';

interface SeedRow {
  offsetSec: number;
  clientIp: string;
  domain: string;
  cached: boolean;
  policy: string;
  latencyUs: number | null;
}

/** Rows inside the window: 3 Tailscale (CGNAT, ULA, .ts.net), 2 cached, 1 blocked, latencies 1000/3000/null. */
const SEED: SeedRow[] = [
  { offsetSec: 10, clientIp: '100.64.0.1', domain: 'www.example.com', cached: true, policy: 'PASS', latencyUs: 1_000 },
  { offsetSec: 20, clientIp: 'fd7a:115c:a1e0::5', domain: 'example.org', cached: false, policy: 'PASS', latencyUs: 3_000 },
  { offsetSec: 30, clientIp: '192.0.2.7', domain: 'laptop.tail1234.ts.net', cached: true, policy: 'PASS', latencyUs: null },
  { offsetSec: 40, clientIp: '192.0.2.8', domain: 'ads.example.net', cached: false, policy: 'BLOCKED', latencyUs: null },
  // Near misses: outside 100.64/10, outside fd7a:115c:a1e0::/48, suffix without the dot.
  { offsetSec: 50, clientIp: '100.128.0.1', domain: 'nots.net', cached: false, policy: 'PASS', latencyUs: null },
  { offsetSec: 60, clientIp: 'fd7a:115c:a1e1::1', domain: 'example.com', cached: false, policy: 'PASS', latencyUs: null },
];

const INSERT_SQL = `
INSERT INTO dns_queries (queried_at, event_id, node_id, pop, source, message_type, client_ip, client_port, transport,
  domain, apex_domain, qtype, qclass, flags, response_rcode, cached, cache_status, response_time, latency_us,
  answer_count, response_size, upstream, upstream_latency_us, policy_action, query_wire, response_wire)
VALUES ($1::timestamptz, $2::uuid, 'edge-1', 'ams1', 'RESOLVER_EDGE', 'CLIENT_RESPONSE', $3::inet, 5353, 'UDP',
  $4, $4, 'A', 'IN', 'qr rd ra', 'NOERROR', $5, CASE WHEN $5 THEN 'HIT' ELSE 'MISS' END, NULL, $6,
  1, 64, NULL, NULL, $7, NULL, NULL)`;

describe.each(ENGINES)('GET /api/v1/stats on %s', (engine) => {
  let db: Database;
  let runtime: ReturnType<typeof testRuntime>;
  let server: TestServer;
  const ids: string[] = [];
  // The first-start admin token (when the database has none) lands here, not in ~/.ghostdns.
  const data = scratchDir();
  // A random hour in 2001-2010: no other test's rows live there.
  const start = new Date(Date.UTC(2001, 0, 1) + randomInt(0, 24 * 3650) * 3_600_000);
  const iso = (offsetSec: number): string => new Date(start.getTime() + offsetSec * 1000).toISOString();

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    for (const row of SEED) {
      const id = randomUUID();
      ids.push(id);
      await db.pool.query(INSERT_SQL, [iso(row.offsetSec), id, row.clientIp, row.domain, row.cached, row.latencyUs, row.policy]);
    }
    // Just outside the half-open window [start, start + 1h): before it and exactly at its end.
    for (const offsetSec of [-1, 3_600]) {
      const id = randomUUID();
      ids.push(id);
      await db.pool.query(INSERT_SQL, [iso(offsetSec), id, '100.64.0.2', 'x.ts.net', true, 9_999_000, 'BLOCKED']);
    }
    runtime = testRuntime(db, { data: { dir: data.dir } });
    await runtime.bus.connect();
    server = await startRecordsApi(runtime);
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.bus.close();
    if (db !== undefined) {
      await db.pool.query('DELETE FROM dns_queries WHERE event_id = ANY($1::uuid[])', [ids]);
      await db.close();
    }
    data.remove();
  });

  it('aggregates the window', async () => {
    const { status, body } = await server.get(`/api/v1/stats?from=${iso(0)}&to=${iso(3_600)}`);
    expect(status).toBe(200);
    expect(body).toStrictEqual({
      queries_total: 6,
      tailscale_queries: 3,
      cache_hit_rate: 2 / 6,
      blocked_queries: 1,
      average_latency: 2,
      window: { from: iso(0), to: iso(3_600) },
    });
  });

  it('answers zeros for an empty window', async () => {
    const { status, body } = await server.get(`/api/v1/stats?from=${iso(7_200)}&to=${iso(10_800)}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      queries_total: 0,
      tailscale_queries: 0,
      cache_hit_rate: 0,
      blocked_queries: 0,
      average_latency: 0,
    });
  });

  it('serves the default window and ?minutes from the database', async () => {
    for (const path of ['/api/v1/stats', '/api/v1/stats?minutes=5']) {
      const { status, body } = await server.get(path);
      expect(status).toBe(200);
      expect(Object.keys(body as object).sort()).toEqual(
        ['average_latency', 'blocked_queries', 'cache_hit_rate', 'queries_total', 'tailscale_queries', 'window'],
      );
    }
  });

  it('400 names the parameter and touches nothing', async () => {
    const { status, body } = await server.get('/api/v1/stats?from=not-a-date');
    expect(status).toBe(400);
    expect(body).toStrictEqual({
      error: { code: 'GHOSTDNS_API_INVALID_PARAMETER', message: expect.stringContaining("'from'") as unknown },
    });
  });
});

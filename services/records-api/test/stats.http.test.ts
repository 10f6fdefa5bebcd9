import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Database } from '@ghostdns/db';
import { QUERY_STATS_SQL } from '../src/stats/stats.repository.js';
import { testRuntime } from './support/runtime.js';
import { startRecordsApi, type TestServer } from './support/http.js';

/** A pg.Pool stand-in that answers the stats query from a canned row and records what it was asked. */
class StubPool {
  readonly calls: { sql: string; params: unknown[] }[] = [];
  failWith: Error | null = null;
  row: Record<string, unknown> = { total: '10', tailscale: '4', cached: '3', blocked: '2', avg_latency_us: 2500 };

  async query(sql: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    // Boot work (the records snapshot) reads an empty dns_records.
    if (sql !== QUERY_STATS_SQL) return { rows: [] };
    this.calls.push({ sql, params });
    if (this.failWith !== null) throw this.failWith;
    return { rows: [this.row] };
  }

  /** The first-start token check runs in a transaction: one token exists, nothing is created. */
  async connect(): Promise<{ query(sql: string): Promise<{ rows: Record<string, unknown>[] }>; release(): void }> {
    return { query: async () => ({ rows: [{ n: '1' }] }), release: () => undefined };
  }
}

const pool = new StubPool();
const database = {
  pool: pool as unknown as pg.Pool,
  engine: 'postgres',
  isHealthy: async () => true,
  close: async () => undefined,
} as unknown as Database;

const runtime = testRuntime(database);
let server: TestServer;

beforeAll(async () => {
  await runtime.bus.connect();
  server = await startRecordsApi(runtime);
});

afterAll(async () => {
  await server.close();
  await runtime.bus.close();
});

describe('GET /api/v1/stats (stubbed database)', () => {
  it('answers with the GhostScale fields from one parametrised query', async () => {
    pool.calls.length = 0;
    const { status, body } = await server.get('/api/v1/stats?from=2024-05-01T00:00:00Z&to=2024-05-01T01:00:00Z');
    expect(status).toBe(200);
    expect(body).toStrictEqual({
      queries_total: 10,
      tailscale_queries: 4,
      cache_hit_rate: 0.3,
      blocked_queries: 2,
      average_latency: 2.5,
      window: { from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T01:00:00.000Z' },
    });
    expect(pool.calls).toHaveLength(1);
    expect(pool.calls[0]?.sql).toBe(QUERY_STATS_SQL);
    expect(pool.calls[0]?.params).toEqual([
      '2024-05-01T00:00:00.000Z',
      '2024-05-01T01:00:00.000Z',
      '100.64.0.0/10',
      'fd7a:115c:a1e0::/48',
      '%.ts.net',
      'BLOCKED',
    ]);
  });

  it('defaults to the last 24 hours', async () => {
    const { status, body } = await server.get('/api/v1/stats');
    expect(status).toBe(200);
    const window = (body as { window: { from: string; to: string } }).window;
    expect(Date.parse(window.to) - Date.parse(window.from)).toBe(24 * 60 * 60 * 1000);
  });

  it.each([
    ['/api/v1/stats?minutes=abc', 'minutes'],
    ['/api/v1/stats?minutes=0', 'minutes'],
    ['/api/v1/stats?minutes=5&minutes=6', 'minutes'],
    ['/api/v1/stats?from=yesterday', 'from'],
    ['/api/v1/stats?from=2024-05-01T00:00:00Z&to=nope', 'to'],
    ['/api/v1/stats?to=2024-05-01T00:00:00Z', 'from'],
    ['/api/v1/stats?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z', 'from'],
    ['/api/v1/stats?limit=10', 'limit'],
  ])('400 for %s naming %s', async (path, parameter) => {
    const { status, body } = await server.get(path);
    expect(status).toBe(400);
    expect(body).toStrictEqual({
      error: { code: 'GHOSTDNS_API_INVALID_PARAMETER', message: expect.stringContaining(`'${parameter}'`) as unknown },
    });
  });

  it('503 with a generic message when the database fails; no stack, no cause', async () => {
    pool.failWith = new Error('password authentication failed for user "ghost"');
    try {
      const { status, body } = await server.get('/api/v1/stats?minutes=5');
      expect(status).toBe(503);
      expect(body).toStrictEqual({
        error: { code: 'GHOSTDNS_API_STATS_UNAVAILABLE', message: 'query statistics are unavailable' },
      });
    } finally {
      pool.failWith = null;
    }
  });

  it('is ready while the database is healthy', async () => {
    const { status, body } = await server.get('/readyz');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', probes: { database: { ok: true } } });
  });
});

import { randomInt, randomUUID } from 'node:crypto';
import { scratchDir } from '@ghostdns/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@ghostdns/db';
import { ENGINES, openTestDatabase } from './support/database.js';
import { startRecordsApi, type TestServer } from './support/http.js';
import { testRuntime } from './support/runtime.js';

// GET /api/v1/security/events against the real engines. Rows are inserted through SQL (as
// ingest-worker stores them) with client addresses of their own: the TimescaleDB stand-in is one
// shared session.

const INSERT_SQL = `
INSERT INTO security_events (detected_at, event_id, node_id, kind, severity, client_ip, qname, details)
VALUES ($1::timestamptz, $2::uuid, 'worker-it', $3, $4, $5::inet, $6, $7::jsonb)`;

interface Entry {
  event_id: string;
  detected_at: string;
  kind: string;
  severity: string;
  client: string;
  qname: string | null;
  node_id: string;
  details: Record<string, string>;
}

describe.each(ENGINES)('GET /api/v1/security/events on %s', (engine) => {
  let db: Database;
  let runtime: ReturnType<typeof testRuntime>;
  let server: TestServer;
  const data = scratchDir();
  const client = `198.18.${randomInt(0, 256)}.${randomInt(1, 255)}`;
  const other = `fd00:${randomInt(1, 0xffff).toString(16)}::7`;
  const minutesAgo = (m: number, plusMs = 0): string => new Date(Date.now() - m * 60_000 + plusMs).toISOString();
  const ids: string[] = [];
  /** The client's events, newest first by (detected_at, event_id), as inserted. */
  const expected: { event_id: string; at: string; kind: string; severity: string }[] = [];

  async function insert(at: string, kind: string, severity: string, address: string, qname: string | null): Promise<string> {
    const id = randomUUID();
    ids.push(id);
    await db.pool.query(INSERT_SQL, [at, id, kind, severity, address, qname, JSON.stringify({ window_seconds: '60', samples: `${kind}.example.net` })]);
    return id;
  }

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    const tied = minutesAgo(5);
    const rows: [string, string, string, string | null][] = [
      [minutesAgo(120), 'dga', 'HIGH', 'x1y2z3w4.example.com'],
      [minutesAgo(30), 'nxdomain-burst', 'MEDIUM', null],
      [tied, 'tunneling', 'HIGH', 'abc.example.net'],
      [tied, 'tunneling', 'HIGH', 'def.example.net'],
      [minutesAgo(1), 'query-flood', 'MEDIUM', null],
    ];
    for (const [at, kind, severity, qname] of rows) {
      const id = await insert(at, kind, severity, client, qname);
      expected.push({ event_id: id, at, kind, severity });
    }
    await insert(minutesAgo(2), 'tunneling', 'HIGH', other, 'ghi.example.net');
    expected.sort((a, b) => (a.at === b.at ? (a.event_id < b.event_id ? 1 : -1) : a.at < b.at ? 1 : -1));
    runtime = testRuntime(db, { data: { dir: data.dir } });
    await runtime.bus.connect();
    server = await startRecordsApi(runtime);
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.bus.close();
    if (db !== undefined) {
      await db.pool.query('DELETE FROM security_events WHERE event_id = ANY($1::uuid[])', [ids]);
      await db.close();
    }
    data.remove();
  });

  async function pages(first: string): Promise<{ entries: Entry[]; pages: number }> {
    const entries: Entry[] = [];
    let path: string | null = first;
    let count = 0;
    while (path !== null && count < 10) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      entries.push(...((await response.json()) as Entry[]));
      const link = response.headers.get('link');
      path = link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null);
      count++;
    }
    return { entries, pages: count };
  }

  it('pages newest first through Link rel=next, without gaps or repeats (ties on detected_at by event_id)', async () => {
    const { entries, pages: count } = await pages(`/api/v1/security/events?client=${client}&limit=2`);
    expect(count).toBe(3);
    expect(entries.map((e) => e.event_id)).toEqual(expected.map((e) => e.event_id));
    expect(entries[0]).toStrictEqual({
      event_id: expected[0]?.event_id,
      detected_at: expected[0]?.at,
      kind: 'query-flood',
      severity: 'MEDIUM',
      client,
      qname: null,
      node_id: 'worker-it',
      details: { window_seconds: '60', samples: 'query-flood.example.net' },
    });
  });

  it.each([
    ['kind', 'kind=tunneling', ['tunneling', 'tunneling']],
    ['severity', 'severity=MEDIUM', ['query-flood', 'nxdomain-burst']],
    ['minutes', 'minutes=60', ['query-flood', 'tunneling', 'tunneling', 'nxdomain-burst']],
  ])('filters on %s', async (_name, filter, kinds) => {
    const { entries } = await pages(`/api/v1/security/events?client=${client}&${filter}&limit=1`);
    expect(entries.map((e) => e.kind)).toEqual(kinds);
  });

  it('filters on an IPv6 client', async () => {
    const { entries } = await pages(`/api/v1/security/events?client=${encodeURIComponent(other)}`);
    expect(entries.map((e) => [e.client, e.qname])).toEqual([[other, 'ghi.example.net']]);
  });

  it('400 naming the parameter', async () => {
    const { status, body } = await server.get('/api/v1/security/events?client=not-an-ip');
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: 'GHOSTDNS_API_INVALID_PARAMETER', message: expect.stringContaining("'client'") as unknown } });
  });
});

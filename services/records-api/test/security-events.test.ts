import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@ghostdns/db';
import { decodeCursor, encodeCursor } from '../src/analytics/logs.service.js';
import { SECURITY_EVENTS_SQL, type SecurityEventQuery, type SecurityEventRow } from '../src/security/security-events.repository.js';
import { SecurityEventsService } from '../src/security/security-events.service.js';
import { startRecordsApi, type TestServer } from './support/http.js';
import { testRuntime } from './support/runtime.js';
import { apiError, NewestStub } from './support/stubs.js';

const NOW = new Date('2024-05-01T12:34:56.789Z');
const clock = (): Date => NOW;

function row(i: number, overrides: Partial<SecurityEventRow> = {}): SecurityEventRow {
  const at = new Date(NOW.getTime() - i * 1000);
  return {
    at_exact: at.toISOString().replace('Z', '123Z'),
    event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    detected_at: at,
    node_id: 'worker-1',
    kind: 'tunneling',
    severity: 'HIGH',
    client_ip: '100.64.0.7',
    qname: 'a1b2c3.example.net',
    details: { apex: 'example.net', unique_names: '30' },
    ...overrides,
  };
}

class StubSource extends NewestStub<SecurityEventQuery, SecurityEventRow> {}

describe('SecurityEventsService', () => {
  it('maps rows to event_id, detected_at, kind, severity, client, qname, node_id, details', async () => {
    const source = new StubSource();
    source.rows = [row(0), row(1, { kind: 'query-flood', severity: 'MEDIUM', qname: null, details: {} })];
    const page = await new SecurityEventsService(source, clock).page({});
    expect(source.calls[0]).toEqual({ limit: 101, since: null, after: null, kind: undefined, severity: undefined, client: undefined });
    expect(page.next).toBeNull();
    expect(page.entries).toStrictEqual([
      {
        event_id: '00000000-0000-4000-8000-000000000000',
        detected_at: NOW.toISOString(),
        kind: 'tunneling',
        severity: 'HIGH',
        client: '100.64.0.7',
        qname: 'a1b2c3.example.net',
        node_id: 'worker-1',
        details: { apex: 'example.net', unique_names: '30' },
      },
      {
        event_id: '00000000-0000-4000-8000-000000000001',
        detected_at: new Date(NOW.getTime() - 1000).toISOString(),
        kind: 'query-flood',
        severity: 'MEDIUM',
        client: '100.64.0.7',
        qname: null,
        node_id: 'worker-1',
        details: {},
      },
    ]);
  });

  it('passes the filters, asks for limit + 1 and links the next page with a cursor that keeps the window and the filters', async () => {
    const source = new StubSource();
    source.rows = [0, 1, 2, 3].map((i) => row(i));
    const service = new SecurityEventsService(source, clock);
    const since = new Date(NOW.getTime() - 15 * 60_000);
    const page = await service.page({ limit: '3', minutes: '15', kind: 'tunneling', severity: 'HIGH', client: '100.64.0.7' });
    expect(source.calls[0]).toEqual({ limit: 4, since, after: null, kind: 'tunneling', severity: 'HIGH', client: '100.64.0.7' });
    expect(page.entries).toHaveLength(3);
    const next = page.next;
    expect([...(next?.keys() ?? [])]).toEqual(['limit', 'kind', 'severity', 'client', 'cursor']);
    expect(next?.get('limit')).toBe('3');
    const cursor = decodeCursor(next?.get('cursor') ?? '');
    expect(cursor).toEqual({ at: source.rows[2]?.at_exact, eventId: source.rows[2]?.event_id, since: since.toISOString() });

    await service.page(Object.fromEntries(next?.entries() ?? []));
    expect(source.calls[1]).toEqual({ limit: 4, since, after: cursor, kind: 'tunneling', severity: 'HIGH', client: '100.64.0.7' });
  });

  const validCursor = encodeCursor({ at: '2024-05-01T00:00:00.000000Z', eventId: '00000000-0000-4000-8000-000000000000', since: null });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '1001' }, 'limit'],
    [{ limit: ['1', '2'] }, 'limit'],
    [{ minutes: '0' }, 'minutes'],
    [{ minutes: '44641' }, 'minutes'],
    [{ minutes: 'ten' }, 'minutes'],
    [{ kind: '' }, 'kind'],
    [{ kind: 'k'.repeat(65) }, 'kind'],
    [{ severity: 'high' }, 'severity'],
    [{ severity: 'SEVERE' }, 'severity'],
    [{ client: 'laptop' }, 'client'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
    [{ cursor: encodeCursor({ at: 'yesterday', eventId: '00000000-0000-4000-8000-000000000000', since: null }) }, 'cursor'],
    [{ cursor: validCursor, minutes: '5' }, 'minutes'],
    [{ domain: 'example.com' }, 'domain'],
  ])('400 for %j naming %s', async (query, name) => {
    const error = await apiError(new SecurityEventsService(new StubSource(), clock).page(query));
    expect([error.status, error.code]).toEqual([400, 'GHOSTDNS_API_INVALID_PARAMETER']);
    expect(error.message).toContain(`'${name}'`);
  });

  it('503 with a generic message when the database fails', async () => {
    const source = new StubSource();
    source.fail = true;
    const error = await apiError(new SecurityEventsService(source, clock).page({}));
    expect([error.status, error.code, error.message]).toEqual([503, 'GHOSTDNS_API_SECURITY_UNAVAILABLE', 'security events are unavailable']);
  });
});

describe('GET /api/v1/security/events (module on Fastify, stubbed pool)', () => {
  const calls: { text: string; values: unknown[] | undefined }[] = [];
  let rows: SecurityEventRow[] = [];
  /** Answers the security query with `rows`, everything else (the boot's reads) with nothing; one token exists. */
  const pool = {
    query: async (text: string, values?: unknown[]) => {
      if (text !== SECURITY_EVENTS_SQL) return { rows: [] };
      calls.push({ text, values });
      return { rows };
    },
    connect: async () => ({ query: async () => ({ rows: [{ n: '1' }] }), release: () => undefined }),
  };
  const database = { pool: pool as unknown as pg.Pool, engine: 'postgres', isHealthy: async () => true, close: async () => undefined } as unknown as Database;
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

  it('answers without a token: a bare array, and Link rel=next on its own path', async () => {
    rows = [0, 1, 2].map((i) => row(i));
    const response = await fetch(`${server.url}/api/v1/security/events?limit=2&kind=tunneling`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { event_id: string }[];
    expect(body.map((e) => e.event_id)).toEqual([rows[0]?.event_id, rows[1]?.event_id]);
    expect(response.headers.get('link')).toMatch(/^<\/api\/v1\/security\/events\?limit=2&kind=tunneling&cursor=[A-Za-z0-9_-]+>; rel="next"$/);
    expect(calls.at(-1)?.values).toEqual([3, null, null, null, 'tunneling', null, null]);
  });

  it('answers 400 naming the parameter, in the error body', async () => {
    const response = await fetch(`${server.url}/api/v1/security/events?severity=urgent`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'GHOSTDNS_API_INVALID_PARAMETER', message: "query parameter 'severity' must be one of LOW, MEDIUM, HIGH, CRITICAL" },
    });
  });
});

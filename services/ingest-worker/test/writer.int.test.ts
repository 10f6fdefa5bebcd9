import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@ghostdns/db';
import { IngestError } from '../src/errors.js';
import { QueryEventMapper } from '../src/mapper.js';
import type { DnsQueryRow } from '../src/row.js';
import { QueryEventWriter } from '../src/writer.js';
import { ENGINES, openTestDatabase } from './support/database.js';
import { device, QUERY_TIME_US, queryEvent } from './fixtures.js';

const mapper = new QueryEventMapper();

function rowsOf(events: Parameters<QueryEventMapper['mapBatch']>[0]): DnsQueryRow[] {
  const { rows, rejected } = mapper.mapBatch(events);
  expect(rejected).toEqual([]);
  return rows;
}

/** A batch covering the nullable columns, IPv6, flags, the cache/latency variants and both device sources. */
function mixedBatch(): DnsQueryRow[] {
  return rowsOf([
    queryEvent({ device: device() }),
    queryEvent({
      query_time_us: QUERY_TIME_US + 7,
      response_time_us: null,
      client_ip: 'fd7a:115c:a1e0::1234',
      transport: 'DOT',
      qname: 'laptop.tail1234.ts.net',
      qtype: 28,
      rcode: null,
      source: 'BIND_QUERYLOG',
      message_type: 'CLIENT_QUERY',
      cache_status: 'HIT',
      upstream: null,
      upstream_latency_us: null,
      query_wire: null,
      response_wire: null,
      flags: { qr: false, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false },
      device: device({ source: 'TAILSCALE', device_id: 'nTaiL7CNTRL', name: '' }),
    }),
    queryEvent({
      query_time_us: QUERY_TIME_US + 999_999,
      response_time_us: QUERY_TIME_US + 1_000_000 + 250_000,
      client_ip: '::ffff:192.0.2.10',
      qname: 'ads.tracker.example.co.uk',
      policy_action: 'BLOCKED',
      rcode: 3,
      cache_status: 'STALE',
      flags: { qr: true, aa: true, tc: true, rd: true, ra: true, ad: true, cd: true },
    }),
  ]);
}

const READ_BACK_SQL = `
SELECT to_char(queried_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS queried_at,
       event_id::text AS event_id, node_id, pop, source, message_type, host(client_ip) AS client_ip, client_port,
       transport, domain, apex_domain, qtype, qclass, flags, response_rcode, cached, cache_status,
       to_char(response_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS response_time,
       latency_us, answer_count, response_size, upstream, upstream_latency_us, policy_action, query_wire, response_wire,
       device_source, device_id, device_name
FROM dns_queries WHERE event_id = ANY($1::uuid[]) ORDER BY queried_at`;

async function readBack(db: Database, ids: string[]): Promise<DnsQueryRow[]> {
  const result = await db.pool.query<DnsQueryRow>(READ_BACK_SQL, [ids]);
  return result.rows;
}

describe.each(ENGINES)('QueryEventWriter on %s', (engine) => {
  let db: Database;
  let writer: QueryEventWriter;
  const written: string[] = [];

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    writer = new QueryEventWriter(db.pool);
  });

  afterAll(async () => {
    if (db === undefined) return;
    await db.pool.query('DELETE FROM dns_queries WHERE event_id = ANY($1::uuid[])', [written]);
    await db.close();
  });

  it(`is connected to ${engine}`, () => {
    expect(db.engine).toBe(engine);
  });

  it('writes a batch once: a replay inserts nothing', async () => {
    const rows = mixedBatch();
    written.push(...rows.map((r) => r.event_id));
    expect(await writer.write(rows)).toBe(3);
    expect(await writer.write(rows)).toBe(0);
    const count = await db.pool.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM dns_queries WHERE event_id = ANY($1::uuid[])',
      [rows.map((r) => r.event_id)],
    );
    expect(count.rows[0]?.n).toBe('3');
  });

  it('reads back every column as written', async () => {
    const rows = mixedBatch();
    written.push(...rows.map((r) => r.event_id));
    await writer.write(rows);
    expect(await readBack(db, rows.map((r) => r.event_id))).toEqual(rows);
  });

  it('stores the VPN device behind the client in the device columns, NULL without one', async () => {
    const rows = mixedBatch();
    written.push(...rows.map((r) => r.event_id));
    await writer.write(rows);
    const stored = await db.pool.query<{ device_source: string | null; device_id: string | null; device_name: string | null }>(
      'SELECT device_source, device_id, device_name FROM dns_queries WHERE event_id = ANY($1::uuid[]) ORDER BY queried_at',
      [rows.map((r) => r.event_id)],
    );
    expect(stored.rows).toEqual([
      { device_source: 'wireguard', device_id: device().device_id, device_name: 'laptop' },
      { device_source: 'tailscale', device_id: 'nTaiL7CNTRL', device_name: '' },
      { device_source: null, device_id: null, device_name: null },
    ]);
  });

  it('absorbs a duplicate inside one batch', async () => {
    const [row] = rowsOf([queryEvent()]);
    if (row === undefined) throw new Error('no row');
    written.push(row.event_id);
    expect(await writer.write([row, { ...row }])).toBe(1);
  });

  it('keeps the same event_id at another time as another row (the key is event_id + queried_at)', async () => {
    const event = queryEvent();
    const rows = rowsOf([event, { ...event, query_time_us: event.query_time_us + 1, response_time_us: null }]);
    written.push(event.event_id);
    expect(await writer.write(rows)).toBe(2);
  });

  it('writes a large batch in one statement', async () => {
    const rows = rowsOf(Array.from({ length: 2_000 }, (_, i) => queryEvent({ query_time_us: QUERY_TIME_US + i, response_time_us: QUERY_TIME_US + i + 500, qname: `h${i}.example.net` })));
    written.push(...rows.map((r) => r.event_id));
    expect(await writer.write(rows)).toBe(2_000);
  });

  it('is all-or-nothing: a row the database refuses rolls the batch back', async () => {
    const [good, bad] = rowsOf([queryEvent(), queryEvent()]);
    if (good === undefined || bad === undefined) throw new Error('no rows');
    written.push(good.event_id, bad.event_id);
    const error = await writer.write([good, { ...bad, client_ip: 'not-an-ip' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).code).toBe('GHOSTDNS_INGEST_DB_WRITE_FAILED');
    expect(await readBack(db, [good.event_id])).toEqual([]);
    // The connection went back to the pool in a usable state.
    expect(await writer.write([good])).toBe(1);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceEvent, PresenceSource, QueryEvent } from '@ghostdns/contracts';
import type { Database } from '@ghostdns/db';
import { IngestError } from '../src/errors.js';
import { QueryEventMapper } from '../src/mapper.js';
import { PresenceEventMapper } from '../src/presence-mapper.js';
import type { PresenceHistoryRow } from '../src/row.js';
import { PresenceHistoryWriter, QueryEventWriter } from '../src/writer.js';
import { ENGINES, openTestDatabase } from './support/database.js';
import { OBSERVED_AT_US, presenceEvent, queryEvent } from './fixtures.js';

const SECOND_US = 1_000_000;

function presenceRows(events: readonly PresenceEvent[]): PresenceHistoryRow[] {
  const { rows, rejected } = new PresenceEventMapper().mapBatch(events);
  expect(rejected).toEqual([]);
  return rows;
}

const READ_BACK_SQL = `
SELECT to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS observed_at,
       event_id::text AS event_id, node_id, source, device_id, name, domain, interface, online,
       ARRAY(SELECT host(a) FROM unnest(addresses) WITH ORDINALITY AS u(a, n) ORDER BY n) AS addresses,
       to_char(last_handshake AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_handshake
FROM presence_history WHERE event_id = ANY($1::uuid[]) ORDER BY observed_at`;

/**
 * For each device, the domains it queried while it was online: each query is
 * joined to the device's latest transition at or before it (the README's example).
 */
const QUERIED_WHILE_ONLINE_SQL = `
SELECT q.device_source, q.device_id, p.name, array_agg(q.domain ORDER BY q.queried_at) AS domains
FROM dns_queries q
CROSS JOIN LATERAL (
  SELECT h.online, h.name
  FROM presence_history h
  WHERE h.source = q.device_source AND h.device_id = q.device_id AND h.observed_at <= q.queried_at
  ORDER BY h.observed_at DESC
  LIMIT 1
) p
WHERE q.device_id = ANY($1::text[]) AND p.online
GROUP BY q.device_source, q.device_id, p.name
ORDER BY q.device_source, q.device_id`;

describe.each(ENGINES)('presence_history on %s', (engine) => {
  let db: Database;
  let writer: PresenceHistoryWriter;
  const presenceIds: string[] = [];
  const queryIds: string[] = [];

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    writer = new PresenceHistoryWriter(db.pool);
  });

  afterAll(async () => {
    if (db === undefined) return;
    await db.pool.query('DELETE FROM presence_history WHERE event_id = ANY($1::uuid[])', [presenceIds]);
    await db.pool.query('DELETE FROM dns_queries WHERE event_id = ANY($1::uuid[])', [queryIds]);
    await db.close();
  });

  function track<T extends { event_id: string }>(ids: string[], events: T[]): T[] {
    ids.push(...events.map((e) => e.event_id));
    return events;
  }

  it('writes transitions once: a redelivered batch inserts nothing', async () => {
    const rows = presenceRows(
      track(presenceIds, [presenceEvent(), presenceEvent({ type: 'DEVICE_OFFLINE', observed_at_us: OBSERVED_AT_US + SECOND_US })]),
    );
    const [first] = rows;
    if (first === undefined) throw new Error('no rows');
    expect(await writer.write(rows)).toBe(2);
    expect(await writer.write(rows)).toBe(0);
    expect(await writer.write([first, { ...first }])).toBe(0);
    const count = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM presence_history WHERE event_id = ANY($1::uuid[])', [
      rows.map((r) => r.event_id),
    ]);
    expect(count.rows[0]?.n).toBe('2');
  });

  it('reads back every column as written', async () => {
    const rows = presenceRows(
      track(presenceIds, [
        presenceEvent({ addresses: ['10.8.0.2/32', 'fd00:8::2/128', '10.8.0.0/24'], domain: 'home.example.net' }),
        presenceEvent({
          type: 'DEVICE_OFFLINE',
          source: 'TAILSCALE',
          device_id: 'nTaiL7CNTRL',
          name: '',
          interface: null,
          addresses: [],
          last_handshake_us: null,
          observed_at_us: OBSERVED_AT_US + 7,
        }),
      ]),
    );
    await writer.write(rows);
    expect(await db.pool.query<PresenceHistoryRow>(READ_BACK_SQL, [rows.map((r) => r.event_id)]).then((r) => r.rows)).toEqual(rows);
  });

  it('is all-or-nothing: a row the database refuses rolls the batch back', async () => {
    const [good, bad] = presenceRows(track(presenceIds, [presenceEvent(), presenceEvent()]));
    if (good === undefined || bad === undefined) throw new Error('no rows');
    const error = await writer.write([good, { ...bad, addresses: ['not-an-ip'] }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect(await db.pool.query<PresenceHistoryRow>(READ_BACK_SQL, [[good.event_id]]).then((r) => r.rows)).toEqual([]);
    expect(await writer.write([good])).toBe(1);
  });

  it('joins with dns_queries: the domains each device queried while it was online', async () => {
    const laptop = `laptop-${randomUUID()}`;
    const phone = `phone-${randomUUID()}`;
    const t0 = OBSERVED_AT_US + 3_600 * SECOND_US;
    const at = (seconds: number): number => t0 + seconds * SECOND_US;
    const transition = (source: PresenceSource, device_id: string, type: PresenceEvent['type'], seconds: number, name: string): PresenceEvent =>
      presenceEvent({ source, device_id, type, name, observed_at_us: at(seconds) });
    const query = (source: PresenceSource, device_id: string, qname: string, seconds: number): QueryEvent =>
      queryEvent({ qname, query_time_us: at(seconds), response_time_us: at(seconds) + 900, device: { source, device_id, name: 'ignored' } });

    await writer.write(
      presenceRows(
        track(presenceIds, [
          transition('WIREGUARD', laptop, 'DEVICE_ONLINE', 0, 'laptop'),
          transition('WIREGUARD', laptop, 'DEVICE_OFFLINE', 10, 'laptop'),
          transition('WIREGUARD', laptop, 'DEVICE_ONLINE', 30, 'laptop'),
          transition('TAILSCALE', phone, 'DEVICE_ONLINE', 5, 'phone'),
        ]),
      ),
    );
    const queries = track(queryIds, [
      query('WIREGUARD', laptop, 'before-any-presence.example', -5),
      query('WIREGUARD', laptop, 'while-online.example', 1),
      query('WIREGUARD', laptop, 'at-the-offline-instant.example', 10),
      query('WIREGUARD', laptop, 'while-offline.example', 20),
      query('WIREGUARD', laptop, 'back-online.example', 40),
      // The same device id under the other source is another device: no presence row of its own.
      query('TAILSCALE', laptop, 'other-source.example', 2),
      query('TAILSCALE', phone, 'phone-online.example', 6),
      queryEvent({ qname: 'no-device.example', query_time_us: at(2), response_time_us: at(2) + 900 }),
    ]);
    const { rows, rejected } = new QueryEventMapper().mapBatch(queries);
    expect(rejected).toEqual([]);
    await new QueryEventWriter(db.pool).write(rows);

    const result = await db.pool.query<{ device_source: string; device_id: string; name: string; domains: string[] }>(
      QUERIED_WHILE_ONLINE_SQL,
      [[laptop, phone]],
    );
    expect(result.rows).toEqual([
      { device_source: 'tailscale', device_id: phone, name: 'phone', domains: ['phone-online.example'] },
      { device_source: 'wireguard', device_id: laptop, name: 'laptop', domains: ['while-online.example', 'back-online.example'] },
    ]);
  });
});

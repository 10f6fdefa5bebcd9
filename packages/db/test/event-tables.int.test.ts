import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireComponent, timescalePoolMax } from '@ghostdns/testkit';
import { migrate, openDatabase, type Database } from '../src/index.js';
import { captureLogger, relationColumns } from './helpers.js';

// The event history tables: presence_history (migrations 070, 071) and security_events (080).
// Each has the same columns and indexes on both engines, is a hypertable with 7-day chunks on
// TimescaleDB and one plain table on PostgreSQL, and absorbs a redelivered event with its
// unique (event_id, <time>) key.

interface EventTable {
  readonly table: string;
  readonly time: string;
  readonly columns: Array<[string, string, 'YES' | 'NO']>;
  /** Inserts one row: $1 the time, $2 the event id, $3 a table-specific value. */
  readonly insert: string;
  readonly value: string;
  readonly indexes: Array<[string, string]>;
}

const TABLES: readonly EventTable[] = [
  {
    table: 'presence_history',
    time: 'observed_at',
    columns: [
      ['observed_at', 'timestamp with time zone', 'NO'],
      ['event_id', 'uuid', 'NO'],
      ['node_id', 'text', 'NO'],
      ['source', 'text', 'NO'],
      ['device_id', 'text', 'NO'],
      ['name', 'text', 'NO'],
      ['domain', 'text', 'YES'],
      ['interface', 'text', 'YES'],
      ['online', 'boolean', 'NO'],
      ['addresses', 'ARRAY', 'NO'],
      ['last_handshake', 'timestamp with time zone', 'YES'],
    ],
    insert: `INSERT INTO presence_history (observed_at, event_id, node_id, source, device_id, name, online, addresses)
VALUES ($1, $2, 'node-1', 'wireguard', $3, 'laptop', true, '{10.8.0.2}') ON CONFLICT (event_id, observed_at) DO NOTHING`,
    value: 'device-1',
    indexes: [
      ['presence_history_device_time_idx', '(source, device_id, observed_at DESC)'],
      ['presence_history_event_uidx', '(event_id, observed_at)'],
    ],
  },
  {
    table: 'security_events',
    time: 'detected_at',
    columns: [
      ['detected_at', 'timestamp with time zone', 'NO'],
      ['event_id', 'uuid', 'NO'],
      ['node_id', 'text', 'NO'],
      ['kind', 'text', 'NO'],
      ['severity', 'text', 'NO'],
      ['client_ip', 'inet', 'NO'],
      ['qname', 'text', 'YES'],
      ['details', 'jsonb', 'NO'],
    ],
    insert: `INSERT INTO security_events (detected_at, event_id, node_id, kind, severity, client_ip, qname, details)
VALUES ($1, $2, 'worker-1', 'tunneling', $3, '192.0.2.77', NULL, '{"apex":"example.net"}') ON CONFLICT (event_id, detected_at) DO NOTHING`,
    value: 'HIGH',
    indexes: [
      ['security_events_client_time_idx', '(client_ip, detected_at DESC)'],
      ['security_events_event_uidx', '(event_id, detected_at)'],
      ['security_events_time_idx', '(detected_at DESC)'],
    ],
  },
];

const ENGINES = [
  ['postgres', () => requireComponent('postgres'), () => 4],
  ['timescaledb', () => requireComponent('timescaledb'), () => timescalePoolMax()],
] as const;

describe.each(ENGINES)('event tables on %s', (engine, url, poolSize) => {
  let db: Database;
  const ids = new Map<string, string[]>();

  beforeAll(async () => {
    const logger = captureLogger();
    db = await openDatabase(url(), { logger, poolSize: poolSize() });
    await migrate(db, { logger });
  });

  afterAll(async () => {
    if (db === undefined) return;
    for (const [table, list] of ids) await db.pool.query(`DELETE FROM ${table} WHERE event_id = ANY($1::uuid[])`, [list]);
    await db.close();
  });

  describe.each(TABLES)('$table', ({ table, time, columns, insert, value, indexes }) => {
    it('has the agreed columns', async () => {
      const found = await relationColumns(db, table);
      expect(found.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual(columns);
    });

    it(`keeps one row per (event_id, ${time}): a redelivered event is absorbed`, async () => {
      const id = randomUUID();
      ids.set(table, [...(ids.get(table) ?? []), id]);
      const at = new Date('2024-05-01T12:05:00Z');
      const first = await db.pool.query(insert, [at, id, value]);
      const again = await db.pool.query(insert, [at, id, value]);
      expect([first.rowCount, again.rowCount]).toEqual([1, 0]);
    });

    it('has the same indexes on both engines', async () => {
      const found = await db.pool.query<{ indexname: string; indexdef: string }>(
        'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname',
        [table],
      );
      expect(found.rows.map((r) => [r.indexname, r.indexdef.replace(/^.* USING btree /, '')])).toEqual(indexes);
    });

    if (engine === 'timescaledb') {
      it(`is a hypertable on ${time} with 7-day chunks`, async () => {
        const dims = await db.pool.query<{ column_name: string; time_interval: { days?: number } }>(
          'SELECT column_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = $1',
          [table],
        );
        expect(dims.rows.map((d) => [d.column_name, d.time_interval.days])).toEqual([[time, 7]]);
      });
    } else {
      it('is one plain table (no partitions)', async () => {
        const kind = await db.pool.query<{ relkind: string }>('SELECT relkind FROM pg_class WHERE oid = $1::regclass', [table]);
        expect(kind.rows).toEqual([{ relkind: 'r' }]);
      });
    }
  });

  it('presence_history keeps addresses as inet[]', async () => {
    const udt = await db.pool.query<{ udt_name: string }>(
      "SELECT udt_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'presence_history' AND column_name = 'addresses'",
    );
    expect(udt.rows).toEqual([{ udt_name: '_inet' }]);
  });

  it('security_events refuses a severity the contract does not have', async () => {
    const table = TABLES[1];
    if (table === undefined) throw new Error('no security_events spec');
    await expect(db.pool.query(table.insert, [new Date(), randomUUID(), 'SEVERE'])).rejects.toThrow(/security_events_severity_chk/);
  });
});

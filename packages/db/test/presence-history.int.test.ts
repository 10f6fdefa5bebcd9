import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireComponent, timescalePoolMax } from '@ghostdns/testkit';
import { migrate, openDatabase, type Database } from '../src/index.js';
import { captureLogger, relationColumns } from './helpers.js';

// presence_history (migrations 070 and 071): the same table on both engines, a hypertable on
// TimescaleDB, and a unique key that absorbs a redelivered event.
const EXPECTED_COLUMNS: Array<[string, string, 'YES' | 'NO']> = [
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
];

const INSERT_SQL = `INSERT INTO presence_history (observed_at, event_id, node_id, source, device_id, name, online, addresses)
VALUES ($1, $2, 'node-1', 'wireguard', 'device-1', 'laptop', true, '{10.8.0.2}') ON CONFLICT (event_id, observed_at) DO NOTHING`;

const ENGINES = [
  ['postgres', () => requireComponent('postgres'), () => 4],
  ['timescaledb', () => requireComponent('timescaledb'), () => timescalePoolMax()],
] as const;

describe.each(ENGINES)('presence_history on %s', (engine, url, poolSize) => {
  let db: Database;
  const ids: string[] = [];

  beforeAll(async () => {
    const logger = captureLogger();
    db = await openDatabase(url(), { logger, poolSize: poolSize() });
    await migrate(db, { logger });
  });

  afterAll(async () => {
    if (db === undefined) return;
    await db.pool.query('DELETE FROM presence_history WHERE event_id = ANY($1::uuid[])', [ids]);
    await db.close();
  });

  it('has the agreed columns, addresses as inet[]', async () => {
    const columns = await relationColumns(db, 'presence_history');
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual(EXPECTED_COLUMNS);
    const udt = await db.pool.query<{ udt_name: string }>(
      "SELECT udt_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'presence_history' AND column_name = 'addresses'",
    );
    expect(udt.rows).toEqual([{ udt_name: '_inet' }]);
  });

  it('keeps one row per (event_id, observed_at): a redelivered event is absorbed', async () => {
    const id = randomUUID();
    ids.push(id);
    const at = new Date('2024-05-01T12:00:00Z');
    const first = await db.pool.query(INSERT_SQL, [at, id]);
    const again = await db.pool.query(INSERT_SQL, [at, id]);
    expect([first.rowCount, again.rowCount]).toEqual([1, 0]);
    const count = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM presence_history WHERE event_id = $1', [id]);
    expect(count.rows[0]?.n).toBe('1');
  });

  it('has the device index the join with dns_queries uses', async () => {
    const indexes = await db.pool.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'presence_history'");
    expect(indexes.rows.map((r) => r.indexname)).toEqual(expect.arrayContaining(['presence_history_event_uidx', 'presence_history_device_time_idx']));
  });

  if (engine === 'timescaledb') {
    it('is a hypertable on observed_at with 7-day chunks', async () => {
      const dims = await db.pool.query<{ column_name: string; time_interval: { days?: number } }>(
        "SELECT column_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'presence_history'",
      );
      expect(dims.rows).toHaveLength(1);
      expect(dims.rows[0]?.column_name).toBe('observed_at');
      expect(dims.rows[0]?.time_interval.days).toBe(7);
    });
  } else {
    it('is one plain table (no partitions)', async () => {
      const kind = await db.pool.query<{ relkind: string }>("SELECT relkind FROM pg_class WHERE oid = 'presence_history'::regclass");
      expect(kind.rows).toEqual([{ relkind: 'r' }]);
    });
  }
});

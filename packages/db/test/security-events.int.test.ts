import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireComponent, timescalePoolMax } from '@ghostdns/testkit';
import { migrate, openDatabase, type Database } from '../src/index.js';
import { captureLogger, relationColumns } from './helpers.js';

// security_events (migration 080): the same table and indexes on both engines, a hypertable with
// 7-day chunks on TimescaleDB, a plain table on PostgreSQL, and a unique key that absorbs a
// redelivered event.
const EXPECTED_COLUMNS: Array<[string, string, 'YES' | 'NO']> = [
  ['detected_at', 'timestamp with time zone', 'NO'],
  ['event_id', 'uuid', 'NO'],
  ['node_id', 'text', 'NO'],
  ['kind', 'text', 'NO'],
  ['severity', 'text', 'NO'],
  ['client_ip', 'inet', 'NO'],
  ['qname', 'text', 'YES'],
  ['details', 'jsonb', 'NO'],
];

const INSERT_SQL = `INSERT INTO security_events (detected_at, event_id, node_id, kind, severity, client_ip, qname, details)
VALUES ($1, $2, 'worker-1', 'tunneling', $3, '192.0.2.77', NULL, '{"apex":"example.net"}') ON CONFLICT (event_id, detected_at) DO NOTHING`;

const ENGINES = [
  ['postgres', () => requireComponent('postgres'), () => 4],
  ['timescaledb', () => requireComponent('timescaledb'), () => timescalePoolMax()],
] as const;

describe.each(ENGINES)('security_events on %s', (engine, url, poolSize) => {
  let db: Database;
  const ids: string[] = [];

  beforeAll(async () => {
    const logger = captureLogger();
    db = await openDatabase(url(), { logger, poolSize: poolSize() });
    await migrate(db, { logger });
  });

  afterAll(async () => {
    if (db === undefined) return;
    await db.pool.query('DELETE FROM security_events WHERE event_id = ANY($1::uuid[])', [ids]);
    await db.close();
  });

  it('has the agreed columns', async () => {
    const columns = await relationColumns(db, 'security_events');
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual(EXPECTED_COLUMNS);
  });

  it('keeps one row per (event_id, detected_at): a redelivered event is absorbed', async () => {
    const id = randomUUID();
    ids.push(id);
    const at = new Date('2024-05-01T12:05:00Z');
    const first = await db.pool.query(INSERT_SQL, [at, id, 'HIGH']);
    const again = await db.pool.query(INSERT_SQL, [at, id, 'HIGH']);
    expect([first.rowCount, again.rowCount]).toEqual([1, 0]);
  });

  it('refuses a severity the contract does not have', async () => {
    await expect(db.pool.query(INSERT_SQL, [new Date(), randomUUID(), 'SEVERE'])).rejects.toThrow(/security_events_severity_chk/);
  });

  it('has the same indexes on both engines: the key, newest first, per client newest first', async () => {
    const indexes = await db.pool.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'security_events' ORDER BY indexname",
    );
    expect(indexes.rows.map((r) => r.indexname)).toEqual([
      'security_events_client_time_idx',
      'security_events_event_uidx',
      'security_events_time_idx',
    ]);
    expect(indexes.rows.map((r) => r.indexdef.replace(/^.* USING btree /, ''))).toEqual([
      '(client_ip, detected_at DESC)',
      '(event_id, detected_at)',
      '(detected_at DESC)',
    ]);
  });

  if (engine === 'timescaledb') {
    it('is a hypertable on detected_at with 7-day chunks', async () => {
      const dims = await db.pool.query<{ column_name: string; time_interval: { days?: number } }>(
        "SELECT column_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'security_events'",
      );
      expect(dims.rows).toHaveLength(1);
      expect(dims.rows[0]?.column_name).toBe('detected_at');
      expect(dims.rows[0]?.time_interval.days).toBe(7);
    });
  } else {
    it('is one plain table (no partitions)', async () => {
      const kind = await db.pool.query<{ relkind: string }>("SELECT relkind FROM pg_class WHERE oid = 'security_events'::regclass");
      expect(kind.rows).toEqual([{ relkind: 'r' }]);
    });
  }
});

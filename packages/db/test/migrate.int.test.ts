import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbError, ensurePartitions, migrate, openDatabase, type Database } from '../src/index.js';
import { loadMigrations } from '../src/migrate.js';
import {
  INSERT_SQL,
  captureLogger,
  dnsQueriesColumns,
  freshPostgresDatabase,
  openCleanTimescale,
  sampleRow,
  type ColumnInfo,
} from './helpers.js';

const EXPECTED_COLUMNS: Array<[string, string, 'YES' | 'NO']> = [
  ['queried_at', 'timestamp with time zone', 'NO'],
  ['event_id', 'uuid', 'NO'],
  ['node_id', 'text', 'NO'],
  ['pop', 'text', 'NO'],
  ['source', 'text', 'NO'],
  ['message_type', 'text', 'NO'],
  ['client_ip', 'inet', 'NO'],
  ['client_port', 'integer', 'NO'],
  ['transport', 'text', 'NO'],
  ['domain', 'text', 'NO'],
  ['apex_domain', 'text', 'NO'],
  ['qtype', 'text', 'NO'],
  ['qclass', 'text', 'NO'],
  ['flags', 'text', 'NO'],
  ['response_rcode', 'text', 'YES'],
  ['cached', 'boolean', 'NO'],
  ['cache_status', 'text', 'NO'],
  ['response_time', 'timestamp with time zone', 'YES'],
  ['latency_us', 'integer', 'YES'],
  ['answer_count', 'integer', 'NO'],
  ['response_size', 'integer', 'NO'],
  ['upstream', 'text', 'YES'],
  ['upstream_latency_us', 'integer', 'YES'],
  ['policy_action', 'text', 'NO'],
  ['query_wire', 'bytea', 'YES'],
  ['response_wire', 'bytea', 'YES'],
  ['device_source', 'text', 'YES'],
  ['device_id', 'text', 'YES'],
  ['device_name', 'text', 'YES'],
];

/** [version, name, engine] of every migration this package ships, in order (the files are the truth). */
async function shipped(engine: 'postgres' | 'timescaledb'): Promise<[number, string, string][]> {
  return (await loadMigrations(engine)).map((m) => [m.version, m.name, engine]);
}

async function migrationRows(db: Database): Promise<Array<{ version: number; name: string; engine: string; applied_at: Date }>> {
  const res = await db.pool.query<{ version: number; name: string; engine: string; applied_at: Date }>(
    'SELECT version, name, engine, applied_at FROM schema_migrations ORDER BY version',
  );
  return res.rows;
}

async function indexNames(db: Database): Promise<string[]> {
  const res = await db.pool.query<{ indexname: string }>(
    "SELECT indexname FROM pg_indexes WHERE tablename = 'dns_queries' ORDER BY indexname",
  );
  return res.rows.map((r) => r.indexname);
}

describe('migrate on plain PostgreSQL (TEST_POSTGRES_URL)', () => {
  let drop: () => Promise<void>;
  let db: Database;
  const logger = captureLogger();

  beforeAll(async () => {
    const fresh = await freshPostgresDatabase();
    drop = () => fresh.drop();
    db = await openDatabase(fresh.url, { logger });
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('detects the postgres engine', () => {
    expect(db.engine).toBe('postgres');
  });

  it('applies every migration once; a second run is a no-op', async () => {
    await migrate(db, { logger });
    const first = await migrationRows(db);
    expect(first.map((r) => [r.version, r.name, r.engine])).toEqual(await shipped('postgres'));

    await migrate(db, { logger });
    expect(await migrationRows(db)).toEqual(first);
    expect(logger.entries.some((e) => e.message === 'database schema up to date')).toBe(true);
  });

  it('creates dns_queries with exactly the agreed columns and indexes', async () => {
    const cols = await dnsQueriesColumns(db);
    expect(cols.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual(EXPECTED_COLUMNS);
    expect(await indexNames(db)).toEqual(
      expect.arrayContaining(['dns_queries_client_time_idx', 'dns_queries_device_time_idx', 'dns_queries_domain_time_idx', 'dns_queries_event_uidx']),
    );
  });

  it('is a range-partitioned table with a DEFAULT partition and daily partitions ahead', async () => {
    const kind = await db.pool.query<{ relkind: string }>("SELECT relkind FROM pg_class WHERE relname = 'dns_queries'");
    expect(kind.rows[0]?.relkind).toBe('p');
    const parts = await db.pool.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'dns_queries'::regclass ORDER BY c.relname`,
    );
    const names = parts.rows.map((r) => r.name);
    expect(names).toContain('dns_queries_default');
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    expect(names).toContain(`dns_queries_p${today}`);
    // yesterday .. today + 7
    expect(names.filter((n) => n.startsWith('dns_queries_p')).length).toBeGreaterThanOrEqual(9);
  });

  it('keeps one row when the same event is inserted twice', async () => {
    const id = randomUUID();
    const at = new Date();
    const r1 = await db.pool.query(INSERT_SQL, sampleRow(id, at));
    const r2 = await db.pool.query(INSERT_SQL, sampleRow(id, at));
    expect([r1.rowCount, r2.rowCount]).toEqual([1, 0]);
    const n = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM dns_queries WHERE event_id = $1', [id]);
    expect(n.rows[0]?.n).toBe('1');
    const row = await db.pool.query<{ client_ip: string; query_wire: Buffer }>(
      'SELECT client_ip, query_wire FROM dns_queries WHERE event_id = $1',
      [id],
    );
    expect(row.rows[0]?.client_ip).toBe('192.0.2.10');
    expect(row.rows[0]?.query_wire.equals(Buffer.from([0xab, 0xcd]))).toBe(true);
  });

  it('ensurePartitions moves rows that landed in the DEFAULT partition into their new day', async () => {
    const far = new Date(Date.now() + 40 * 86_400_000);
    const id = randomUUID();
    await db.pool.query(INSERT_SQL, sampleRow(id, far));
    const where = async (): Promise<string | undefined> =>
      (await db.pool.query<{ part: string }>('SELECT tableoid::regclass::text AS part FROM dns_queries WHERE event_id = $1', [id]))
        .rows[0]?.part;
    expect(await where()).toBe('dns_queries_default');
    const created = await ensurePartitions(db, 45);
    expect(created).toBeGreaterThan(0);
    expect(await where()).toBe(`dns_queries_p${far.toISOString().slice(0, 10).replace(/-/g, '')}`);
    expect(await ensurePartitions(db, 45)).toBe(0);
  });
});

describe('migrate on TimescaleDB (TEST_TIMESCALE_URL)', () => {
  let db: Database;
  const logger = captureLogger();

  beforeAll(async () => {
    db = await openCleanTimescale(logger);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('detects the timescaledb engine', () => {
    expect(db.engine).toBe('timescaledb');
  });

  it('applies every migration once; a second run is a no-op', async () => {
    await migrate(db, { logger });
    const first = await migrationRows(db);
    expect(first.map((r) => [r.version, r.name, r.engine])).toEqual(await shipped('timescaledb'));
    await migrate(db, { logger });
    expect(await migrationRows(db)).toEqual(first);
  });

  it('makes dns_queries a hypertable on queried_at with 1-day chunks', async () => {
    const ht = await db.pool.query<{ hypertable_name: string }>(
      "SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_name = 'dns_queries'",
    );
    expect(ht.rowCount).toBe(1);
    const dim = await db.pool.query<{ column_name: string; time_interval: { days?: number } }>(
      "SELECT column_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'dns_queries'",
    );
    expect(dim.rows[0]?.column_name).toBe('queried_at');
    expect(dim.rows[0]?.time_interval.days).toBe(1);
  });

  it('creates the same indexes', async () => {
    expect(await indexNames(db)).toEqual(
      expect.arrayContaining(['dns_queries_client_time_idx', 'dns_queries_device_time_idx', 'dns_queries_domain_time_idx', 'dns_queries_event_uidx']),
    );
  });

  it('keeps one row when the same event is inserted twice', async () => {
    const id = randomUUID();
    const at = new Date();
    const r1 = await db.pool.query(INSERT_SQL, sampleRow(id, at));
    const r2 = await db.pool.query(INSERT_SQL, sampleRow(id, at));
    expect([r1.rowCount, r2.rowCount]).toEqual([1, 0]);
    const n = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM dns_queries WHERE event_id = $1', [id]);
    expect(n.rows[0]?.n).toBe('1');
  });

  it('ensurePartitions is a no-op on TimescaleDB', async () => {
    expect(await ensurePartitions(db)).toBe(0);
  });
});

describe('both engines', () => {
  it('yield the same dns_queries column names, types and nullability', async () => {
    const logger = captureLogger();
    const fresh = await freshPostgresDatabase();
    const pgDb = await openDatabase(fresh.url, { logger });
    const tsDb = await openCleanTimescale(logger);
    try {
      await migrate(pgDb, { logger });
      await migrate(tsDb, { logger });
      const a: ColumnInfo[] = await dnsQueriesColumns(pgDb);
      const b: ColumnInfo[] = await dnsQueriesColumns(tsDb);
      expect(a.length).toBe(EXPECTED_COLUMNS.length);
      expect(b).toEqual(a);
    } finally {
      await pgDb.close();
      await tsDb.close();
      await fresh.drop();
    }
  });
});

describe('migrate concurrency and rules (plain PostgreSQL)', () => {
  it('two pools migrating the same database at once apply each migration exactly once', async () => {
    const logger = captureLogger();
    const fresh = await freshPostgresDatabase();
    const a = await openDatabase(fresh.url, { logger, poolSize: 2 });
    const b = await openDatabase(fresh.url, { logger, poolSize: 2 });
    try {
      await Promise.all([migrate(a, { logger }), migrate(b, { logger }), migrate(a, { logger })]);
      const rows = await a.pool.query<{ version: number }>('SELECT version FROM schema_migrations');
      const versions = (await shipped('postgres')).map(([version]) => version);
      expect(rows.rows.map((r) => r.version).sort((x, y) => x - y)).toEqual(versions);
      expect(logger.entries.filter((e) => e.message === 'migration applied')).toHaveLength(versions.length);
    } finally {
      await a.close();
      await b.close();
      await fresh.drop();
    }
  });

  it('runs `-- ghostdns:no-transaction` files outside a transaction and rolls back a failing one', async () => {
    const logger = captureLogger();
    const dir = await mkdtemp(join(tmpdir(), 'ghostdns-migrations-'));
    const fresh = await freshPostgresDatabase();
    const db = await openDatabase(fresh.url, { logger });
    try {
      await writeFile(join(dir, '001_things.sql'), 'CREATE TABLE things (id int PRIMARY KEY, note text);\n');
      await writeFile(join(dir, '001_things.postgres.sql'), "CREATE TABLE pg_only (v text DEFAULT 'a;b');\n");
      // CREATE INDEX CONCURRENTLY fails inside a transaction block (like TimescaleDB continuous aggregates).
      await writeFile(
        join(dir, '002_things_index.sql'),
        '-- ghostdns:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS things_note_idx ON things (note);\n' +
          "DO $$ BEGIN RAISE NOTICE 'semi;colon'; END $$;\n",
      );
      await migrate(db, { logger, dir });
      const idx = await db.pool.query("SELECT 1 FROM pg_indexes WHERE indexname = 'things_note_idx'");
      expect(idx.rowCount).toBe(1);
      const pgOnly = await db.pool.query("SELECT to_regclass('pg_only') IS NOT NULL AS present");
      expect(pgOnly.rows[0]).toEqual({ present: true });

      await writeFile(join(dir, '003_broken.sql'), 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n');
      const err: unknown = await migrate(db, { logger, dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DbError);
      expect((err as DbError).code).toBe('GHOSTDNS_DB_MIGRATION_FAILED');
      const half = await db.pool.query("SELECT to_regclass('half_done') IS NULL AS absent");
      expect(half.rows[0]).toEqual({ absent: true });
      const versions = await db.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(versions.rows.map((r) => r.version)).toEqual([1, 2]);
    } finally {
      await db.close();
      await fresh.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('openDatabase', () => {
  it('fails with GHOSTDNS_DB_CONNECT and no password in the message when nothing answers', async () => {
    const logger = captureLogger();
    const err: unknown = await openDatabase('postgres://u:secret@127.0.0.1:1/x', { logger, connectTimeoutMs: 2_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).code).toBe('GHOSTDNS_DB_CONNECT');
    expect((err as DbError).message).not.toContain('secret');
  });

  it('isHealthy is true while open and false after close', async () => {
    const logger = captureLogger();
    const fresh = await freshPostgresDatabase();
    const db = await openDatabase(fresh.url, { logger });
    try {
      expect(await db.isHealthy()).toBe(true);
      await db.close();
      await db.close();
      expect(await db.isHealthy()).toBe(false);
    } finally {
      await fresh.drop();
    }
  });
});

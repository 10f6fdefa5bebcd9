import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Database, DbEngine } from './database.js';
import { DbError, describeError } from './errors.js';
import type { DbLogger } from './logger.js';
import { splitSqlStatements } from './sql-split.js';

/** The directory holding NNN_name[.engine].sql files. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** First line that makes a migration file run outside a transaction, statement by statement. */
export const NO_TRANSACTION_MARKER = '-- ghostdns:no-transaction';

/** pg_advisory_lock key: the ASCII bytes of "ghostdns" as a bigint. */
export const MIGRATION_LOCK_KEY = '7450482130541092467';

/** How many days of daily partitions migrate() creates ahead on plain PostgreSQL. */
export const DEFAULT_PARTITION_DAYS_AHEAD = 7;

export interface MigrationFile {
  readonly file: string;
  readonly sql: string;
  readonly transactional: boolean;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Files to run for this engine: the engine-specific one first, then the common one. */
  readonly files: readonly MigrationFile[];
}

export interface MigrateOptions {
  logger: DbLogger;
  /** Defaults to packages/db/migrations. */
  dir?: string;
  /** How long to wait for another process holding the migration lock (default 120 000 ms). */
  lockTimeoutMs?: number;
  /** Days of partitions created ahead on plain PostgreSQL (default 7). */
  partitionDaysAhead?: number;
}

const FILE_RE = /^(\d{3})_([a-z0-9_]+?)(?:\.(timescaledb|postgres))?\.sql$/;

interface ParsedName {
  version: number;
  name: string;
  engine: DbEngine | null;
}

function parseFileName(file: string): ParsedName | null {
  const m = FILE_RE.exec(file);
  if (!m) return null;
  const [, version, name, engine] = m;
  if (version === undefined || name === undefined) return null;
  return { version: Number(version), name, engine: engine === 'timescaledb' || engine === 'postgres' ? engine : null };
}

/** Reads and validates the migration directory; returns the migrations for `engine`, ordered by version. */
export async function loadMigrations(engine: DbEngine, dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  } catch (err) {
    throw new DbError('GHOSTDNS_DB_MIGRATION_FILES', `cannot read the migrations directory ${dir}`, { cause: err });
  }
  const byVersion = new Map<number, { name: string; common?: string; timescaledb?: string; postgres?: string }>();
  for (const file of entries) {
    const parsed = parseFileName(file);
    if (!parsed) {
      throw new DbError(
        'GHOSTDNS_DB_MIGRATION_FILES',
        `migration file ${file} does not match NNN_name.sql, NNN_name.timescaledb.sql or NNN_name.postgres.sql`,
      );
    }
    const slot = byVersion.get(parsed.version) ?? { name: parsed.name };
    if (slot.name !== parsed.name) {
      throw new DbError(
        'GHOSTDNS_DB_MIGRATION_FILES',
        `migration version ${String(parsed.version).padStart(3, '0')} has two names: ${slot.name} and ${parsed.name}`,
      );
    }
    slot[parsed.engine ?? 'common'] = file;
    byVersion.set(parsed.version, slot);
  }
  const migrations: Migration[] = [];
  for (const version of [...byVersion.keys()].sort((a, b) => a - b)) {
    const slot = byVersion.get(version);
    if (!slot) continue;
    const names = [slot[engine], slot.common].filter((f): f is string => f !== undefined);
    const files: MigrationFile[] = [];
    for (const file of names) {
      const sql = await readFile(`${dir.replace(/\/$/, '')}/${file}`, 'utf8');
      const firstLine = sql.split('\n', 1)[0]?.trim() ?? '';
      files.push({ file, sql, transactional: firstLine !== NO_TRANSACTION_MARKER });
    }
    migrations.push({ version, name: slot.name, files });
  }
  return migrations;
}

/**
 * Applies every migration not yet recorded in schema_migrations, in version
 * order, under a session advisory lock (so services migrating at once are
 * safe), each version in one transaction unless one of its files starts with
 * `-- ghostdns:no-transaction`. On plain PostgreSQL it then creates the
 * daily partitions ahead. Running it again is a no-op.
 */
export async function migrate(db: Database, opts: MigrateOptions): Promise<void> {
  const { logger } = opts;
  const migrations = await loadMigrations(db.engine, opts.dir ?? MIGRATIONS_DIR);
  let client: pg.PoolClient;
  try {
    client = await db.pool.connect();
  } catch (err) {
    throw new DbError('GHOSTDNS_DB_CONNECT', `cannot get a connection to migrate: ${describeError(err)}`, { cause: err });
  }
  let broken: Error | undefined;
  try {
    await acquireLock(client, opts.lockTimeoutMs ?? 120_000);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        engine     text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const applied = await client.query<{ version: number; name: string; engine: string }>(
        'SELECT version, name, engine FROM schema_migrations ORDER BY version',
      );
      const done = new Map(applied.rows.map((r) => [r.version, r]));
      for (const row of applied.rows) {
        if (row.engine !== db.engine) {
          throw new DbError(
            'GHOSTDNS_DB_ENGINE_MISMATCH',
            `migration ${row.version} was applied for engine ${row.engine} but this database is now ${db.engine}`,
          );
        }
        if (!migrations.some((m) => m.version === row.version)) {
          logger.warn('database has a migration this code does not know (newer deployment?)', {
            version: row.version,
            name: row.name,
          });
        }
      }
      let count = 0;
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        const started = Date.now();
        await applyMigration(client, m, db.engine);
        count++;
        logger.info('migration applied', { version: m.version, name: m.name, engine: db.engine, ms: Date.now() - started });
      }
      if (db.engine === 'postgres') {
        // Only when the migrations created it (a custom `dir` may not).
        const fn = await client.query<{ present: boolean }>(
          "SELECT to_regprocedure('ghostdns_ensure_partitions(integer)') IS NOT NULL AS present",
        );
        if (fn.rows[0]?.present === true) {
          await client.query('SELECT ghostdns_ensure_partitions($1::int)', [
            opts.partitionDaysAhead ?? DEFAULT_PARTITION_DAYS_AHEAD,
          ]);
        }
      }
      logger.info(count === 0 ? 'database schema up to date' : 'database migrated', {
        engine: db.engine,
        applied: count,
        latest: migrations.at(-1)?.version ?? 0,
      });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]).catch((err: unknown) => {
        broken = err instanceof Error ? err : new Error(String(err));
      });
    }
  } catch (err) {
    broken = err instanceof Error ? err : new Error(String(err));
    if (err instanceof DbError) throw err;
    throw new DbError('GHOSTDNS_DB_MIGRATION_FAILED', `migration failed: ${describeError(err)}`, { cause: err });
  } finally {
    // A client in an unknown state (failed unlock, failed migration) is destroyed, not reused.
    client.release(broken);
  }
}

async function acquireLock(client: pg.PoolClient, timeoutMs: number): Promise<void> {
  // lock_timeout bounds the wait on the advisory lock; reset before running migrations.
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
  } catch (err) {
    throw new DbError(
      'GHOSTDNS_DB_MIGRATION_LOCK',
      `could not take the migration lock within ${timeoutMs} ms (another process is migrating?): ${describeError(err)}`,
      { cause: err },
    );
  } finally {
    await client.query('RESET lock_timeout');
  }
}

async function applyMigration(client: pg.PoolClient, m: Migration, engine: DbEngine): Promise<void> {
  const record = async (): Promise<void> => {
    await client.query('INSERT INTO schema_migrations (version, name, engine) VALUES ($1, $2, $3)', [
      m.version,
      m.name,
      engine,
    ]);
  };
  const label = `${String(m.version).padStart(3, '0')}_${m.name}`;
  if (m.files.every((f) => f.transactional)) {
    try {
      await client.query('BEGIN');
      for (const f of m.files) await client.query(f.sql);
      await record();
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new DbError('GHOSTDNS_DB_MIGRATION_FAILED', `migration ${label} failed: ${describeError(err)}`, {
        cause: err,
      });
    }
    return;
  }
  // At least one file cannot run in a transaction: each transactional file in
  // its own transaction, the others statement by statement. Such migrations
  // must be written to be re-runnable (IF NOT EXISTS), since a crash halfway
  // leaves them partly applied and unrecorded.
  for (const f of m.files) {
    try {
      if (f.transactional) {
        await client.query('BEGIN');
        await client.query(f.sql);
        await client.query('COMMIT');
      } else {
        for (const stmt of splitSqlStatements(f.sql)) await client.query(stmt);
      }
    } catch (err) {
      if (f.transactional) await client.query('ROLLBACK').catch(() => undefined);
      throw new DbError('GHOSTDNS_DB_MIGRATION_FAILED', `migration ${label} (${f.file}) failed: ${describeError(err)}`, {
        cause: err,
      });
    }
  }
  await record();
}

/**
 * Creates the daily dns_queries partitions for today and the next `daysAhead`
 * days on plain PostgreSQL (rows that landed in the DEFAULT partition are
 * moved into their new partition). A no-op on TimescaleDB, whose hypertable
 * creates chunks itself. Meant to be scheduled daily by a service.
 */
export async function ensurePartitions(db: Database, daysAhead: number = DEFAULT_PARTITION_DAYS_AHEAD): Promise<number> {
  if (db.engine !== 'postgres') return 0;
  try {
    const res = await db.pool.query<{ created: number }>('SELECT ghostdns_ensure_partitions($1::int) AS created', [daysAhead]);
    return res.rows[0]?.created ?? 0;
  } catch (err) {
    throw new DbError('GHOSTDNS_DB_QUERY', `ensuring dns_queries partitions failed: ${describeError(err)}`, { cause: err });
  }
}

import { once } from 'node:events';
import pg from 'pg';
import { DbError, describeError, redactUrl } from './errors.js';
import type { DbLogger } from './logger.js';

export type DbEngine = 'timescaledb' | 'postgres';

export interface Database {
  readonly pool: pg.Pool;
  /** TimescaleDB when the extension is installed in the database, plain PostgreSQL otherwise. */
  readonly engine: DbEngine;
  /** true when a trivial query answers within the health timeout; never throws. */
  isHealthy(): Promise<boolean>;
  /** Ends the pool. Idempotent. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  logger: DbLogger;
  /** Maximum pool clients (default 10). Use 1 against the PGlite stand-in (TEST_TIMESCALE_POOL_MAX). */
  poolSize?: number;
  /** Connect timeout per client in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Deadline for isHealthy() in ms (default 2 000). */
  healthTimeoutMs?: number;
}

const DEFAULT_POOL_SIZE = 10;

/**
 * Opens a pool, proves it can connect, and detects the engine: it tries
 * `CREATE EXTENSION IF NOT EXISTS timescaledb` (a failure only means the
 * extension is not available) and then looks in pg_extension.
 */
export async function openDatabase(url: string, opts: OpenDatabaseOptions): Promise<Database> {
  const { logger } = opts;
  const safeUrl = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    application_name: 'ghostdns',
  });
  // An idle client losing its connection emits 'error' on the pool; without a
  // listener that would crash the process. Log it; the pool replaces the client.
  pool.on('error', (err) => {
    logger.error('database pool client error', { url: safeUrl, error: describeError(err) });
  });

  let engine: DbEngine;
  try {
    engine = await detectEngine(pool, logger);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new DbError('GHOSTDNS_DB_CONNECT', `cannot connect to the database at ${safeUrl}: ${describeError(err)}`, {
      cause: err,
    });
  }
  logger.info('database connected', { url: safeUrl, engine, poolSize: opts.poolSize ?? DEFAULT_POOL_SIZE });

  const healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
  let closed: Promise<void> | undefined;

  return {
    pool,
    engine,
    async isHealthy(): Promise<boolean> {
      if (closed) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), healthTimeoutMs);
        timer.unref();
      });
      const probe = pool.query('SELECT 1').then(
        () => true,
        (err: unknown) => {
          logger.warn('database health probe failed', { error: describeError(err) });
          return false;
        },
      );
      try {
        return await Promise.race([probe, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close(): Promise<void> {
      closed ??= endPool(pool).catch((err: unknown) => {
        logger.warn('error while closing the database pool', { error: describeError(err) });
      });
      return closed;
    },
  };
}

/** Bound on waiting for the server to close the pool's connections after pool.end(). */
const CONNECTIONS_END_TIMEOUT_MS = 2_000;

/**
 * pool.end() resolves once its clients are told to end, not once their
 * connections are closed: a server stopped right after (the embedded
 * PostgreSQL at shutdown) would still find them and end them with 57P01.
 * So the close also waits for every removed client's 'end' (bounded).
 */
async function endPool(pool: pg.Pool): Promise<void> {
  const ended: Promise<unknown>[] = [];
  const onRemove = (client: pg.PoolClient): void => {
    ended.push(once(client, 'end'));
  };
  pool.on('remove', onRemove);
  try {
    await pool.end();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CONNECTIONS_END_TIMEOUT_MS)));
    await Promise.race([Promise.allSettled(ended), bound]);
    clearTimeout(timer);
  } finally {
    pool.off('remove', onRemove);
  }
}

async function detectEngine(pool: pg.Pool, logger: DbLogger): Promise<DbEngine> {
  await pool.query('SELECT 1');
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
  } catch (err) {
    logger.debug('timescaledb extension not available; using plain PostgreSQL', { error: describeError(err) });
  }
  const res = await pool.query<{ present: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS present",
  );
  return res.rows[0]?.present === true ? 'timescaledb' : 'postgres';
}

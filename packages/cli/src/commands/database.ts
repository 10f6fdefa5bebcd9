import type { GhostConfig } from '@ghostdns/config';
import type { Database } from '@ghostdns/db';
import type { Logger } from '@ghostdns/observability';

/** The database a command works on, and how to let go of it. */
export interface CommandDatabase {
  readonly db: Database;
  /** Where it is, without credentials: for messages. */
  readonly description: string;
  readonly close: () => Promise<void>;
}

export interface OpenCommandDatabaseOptions {
  poolSize: number;
  /** Run the migrations first (a command may be the first thing to touch a new database). */
  migrate: boolean;
  /** Where warnings and errors go; null: nowhere (a command printing its own output). Info and debug never go anywhere. */
  logger: Logger | null;
}

/**
 * The database `ghostdns start` would use: database.url, or the embedded
 * PostgreSQL under data.dir (started for the command and stopped by close()).
 * Loaded lazily so commands that need no database never import pg.
 */
export async function openCommandDatabase(config: GhostConfig, options: OpenCommandDatabaseOptions): Promise<CommandDatabase> {
  const { migrate, openDatabase, redactUrl, startEmbeddedPostgres } = await import('@ghostdns/db');
  const quiet = (): undefined => undefined;
  const { logger } = options;
  const dbLogger = {
    info: quiet,
    debug: quiet,
    warn: (message: string, fields?: Record<string, unknown>) => logger?.warn(fields ?? {}, message),
    error: (message: string, fields?: Record<string, unknown>) => logger?.error(fields ?? {}, message),
  };
  const embedded = config.database.url === undefined ? await startEmbeddedPostgres({ dataDir: config.data.dir, logger: dbLogger }) : null;
  const url = config.database.url ?? embedded?.url ?? '';
  let db: Database | null = null;
  const close = async (): Promise<void> => {
    await db?.close();
    await embedded?.stop();
  };
  try {
    db = await openDatabase(url, { logger: dbLogger, poolSize: options.poolSize });
    if (options.migrate) await migrate(db, { logger: dbLogger });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    db,
    description: embedded === null ? redactUrl(url) : `the embedded PostgreSQL under ${config.data.dir}`,
    close,
  };
}

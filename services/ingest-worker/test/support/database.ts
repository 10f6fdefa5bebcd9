import { migrate, openDatabase, type Database } from '@ghostdns/db';
import { requireComponent, timescalePoolMax } from '@ghostdns/testkit';

export type Engine = 'postgres' | 'timescaledb';

export const ENGINES: readonly Engine[] = ['postgres', 'timescaledb'];

export const silentDbLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

/**
 * Opens and migrates the engine the harness exports (fails when it is
 * missing). The TimescaleDB stand-in (PGlite behind pglite-socket) serves one
 * session: pool size from TEST_TIMESCALE_POOL_MAX (testkit's timescalePoolMax()).
 */
export async function openTestDatabase(engine: Engine): Promise<Database> {
  const url = requireComponent(engine);
  const poolSize = engine === 'timescaledb' ? timescalePoolMax() : 4;
  const db = await openDatabase(url, { logger: silentDbLogger, poolSize });
  await migrate(db, { logger: silentDbLogger });
  return db;
}

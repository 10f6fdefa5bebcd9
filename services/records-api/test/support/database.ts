import { migrate, openDatabase, type Database } from '@ghostdns/db';
import { requireComponent, timescalePoolMax } from '@ghostdns/testkit';

export type Engine = 'postgres' | 'timescaledb';

export const ENGINES: readonly Engine[] = ['postgres', 'timescaledb'];

const silentDbLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

/** Opens and migrates the engine the harness exports (the test fails when it is missing). */
export async function openTestDatabase(engine: Engine): Promise<Database> {
  const url = requireComponent(engine);
  const db = await openDatabase(url, { logger: silentDbLogger, poolSize: engine === 'timescaledb' ? timescalePoolMax() : 4 });
  await migrate(db, { logger: silentDbLogger });
  return db;
}

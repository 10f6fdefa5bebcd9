import { createRequire } from 'node:module';

// testkit depends on `pg` but not on `@types/pg`; this is the small, typed
// slice of the pg API the harness uses, loaded through require.

export interface PgClientLike {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  escapeIdentifier(name: string): string;
}

interface PgModuleLike {
  Client: new (config: { connectionString: string; connectionTimeoutMillis?: number }) => PgClientLike;
}

const pg = createRequire(import.meta.url)('pg') as PgModuleLike;

/** A pg client whose 'error' events are swallowed (failures surface through the awaited calls). */
export function newPgClient(connectionString: string, connectionTimeoutMillis = 5_000): PgClientLike {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis });
  client.on('error', () => undefined);
  return client;
}

import type pg from 'pg';

/** Runs `fn` on one pooled connection inside BEGIN … COMMIT; rolls back when it throws. */
export async function inTransaction<T>(pool: Pick<pg.Pool, 'connect'>, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // The original error matters to the caller, not a failed ROLLBACK on a broken connection.
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

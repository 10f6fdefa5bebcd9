import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { requireComponent } from '../src/index.js';

// The TimescaleDB stand-in must behave like a server to several pools at once:
// parameterised queries and transactions from different connections may not
// interleave inside the one PGlite session.
describe('TimescaleDB stand-in with concurrent clients', () => {
  const url = requireComponent('timescaledb');
  const pools = [new pg.Pool({ connectionString: url, max: 4 }), new pg.Pool({ connectionString: url, max: 4 })];

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  it('answers interleaved parameterised queries from two pools correctly', async () => {
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        (pools[i % 2]).query<{ n: number; s: string }>('SELECT $1::int + 1 AS n, $2::text AS s', [i, `q${i}`]),
      ),
    );
    expect(results.map((r) => r.rows[0])).toEqual(Array.from({ length: 80 }, (_, i) => ({ n: i + 1, s: `q${i}` })));
  });

  it('keeps concurrent transactions whole, and rolls back a failed one', async () => {
    await pools[0]?.query('CREATE TABLE IF NOT EXISTS mux_probe (id int PRIMARY KEY, owner text NOT NULL)');
    await pools[0]?.query('TRUNCATE mux_probe');
    const txn = async (pool: pg.Pool, owner: string, ids: number[], fail: boolean): Promise<void> => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        for (const id of ids) await client.query('INSERT INTO mux_probe (id, owner) VALUES ($1, $2)', [id, owner]);
        if (fail) await client.query('SELECT 1/0');
        await client.query('COMMIT');
      } catch {
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    };
    await Promise.all([
      txn(pools[0], 'a', [1, 2, 3, 4, 5], false),
      txn(pools[1], 'b', [6, 7, 8, 9, 10], true),
      txn(pools[1], 'c', [11, 12, 13], false),
    ]);
    const rows = await pools[1]?.query<{ owner: string; n: string }>('SELECT owner, count(*) AS n FROM mux_probe GROUP BY owner ORDER BY owner');
    expect(rows?.rows).toEqual([{ owner: 'a', n: '5' }, { owner: 'c', n: '3' }]);
    await pools[0]?.query('DROP TABLE mux_probe');
  });
});

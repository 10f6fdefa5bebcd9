import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/index.js';
import { captureLogger } from './helpers.js';

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres', () => {
  let dataDir: string | undefined;
  let running: EmbeddedPostgres | undefined;

  afterAll(async () => {
    await running?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps data across stop and start, and survives a stale postmaster.pid', async () => {
    const logger = captureLogger();
    dataDir = await mkdtemp(join(tmpdir(), 'ghostdns-embedded-'));

    running = await startEmbeddedPostgres({ dataDir, logger });
    expect(new URL(running.url).hostname).toBe('127.0.0.1');
    expect(new URL(running.url).pathname).toBe('/ghostdns');
    await withClient(running.url, async (c) => {
      await c.query('CREATE TABLE kept (id int PRIMARY KEY, note text)');
      await c.query("INSERT INTO kept VALUES (1, 'survives restarts')");
      const v = await c.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Number(v.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(170000);
    });
    await running.stop();
    running = undefined;

    // A crash leaves postmaster.pid behind; here it names a live process that is not postgres (this one).
    const pidFile = join(dataDir, 'pg', 'postmaster.pid');
    await writeFile(pidFile, `${process.pid}\n${join(dataDir, 'pg')}\n`);
    await chmod(pidFile, 0o600);

    running = await startEmbeddedPostgres({ dataDir, logger });
    const rows = await withClient(running.url, (c) => c.query<{ note: string }>('SELECT note FROM kept WHERE id = 1'));
    expect(rows.rows).toEqual([{ note: 'survives restarts' }]);
    expect(logger.entries.filter((e) => e.message === 'initialising embedded PostgreSQL cluster')).toHaveLength(1);
    await running.stop();
    running = undefined;
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { openDatabase } from '@ghostdns/db';
import { createScratchDatabase, requireComponent, scratchDir } from '@ghostdns/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../services/resolver-edge/test/fixtures/querylog');
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function importFiles(
  env: Record<string, string>,
  files: string[],
  source = 'bind-querylog',
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['import', source, ...files], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

describe('ghostdns import bind-querylog (integration, real PostgreSQL)', { timeout: 120_000 }, () => {
  it('loads a gzip + plain rotated set oldest first, reports skipped lines, and is idempotent', async () => {
    const db = await createScratchDatabase(requireComponent('postgres'));
    cleanups.push(() => db.drop());
    const scratch = scratchDir();
    cleanups.push(() => scratch.remove());
    const real = readFileSync(path.join(fixtures, 'bind-9.18-seed-channel.queries.log'), 'utf8').split('\n').filter(Boolean);
    // Oldest: .2.gz (40 lines), then .1 (40 lines + 2 bad), newest: queries.log (24 lines).
    const oldest = path.join(scratch.dir, 'queries.log.2.gz');
    const middle = path.join(scratch.dir, 'queries.log.1');
    const newest = path.join(scratch.dir, 'queries.log');
    writeFileSync(oldest, gzipSync(`${real.slice(0, 40).join('\n')}\n`));
    writeFileSync(middle, `${real.slice(40, 60).join('\n')}\nnot a log line\n${real.slice(60, 80).join('\n')}\n23-Nov-2026 13:46:41.574 client @0x1 127.0.0.1#5 (a): query: a IN\n`);
    writeFileSync(newest, `${real.slice(80).join('\n')}\n`);
    const errors = path.join(scratch.dir, 'query-errors.log');
    writeFileSync(errors, readFileSync(path.join(fixtures, 'bind-9.18-seed-channel.query-errors.log')));
    const env = { DATABASE_URL: db.url, GHOSTDNS_DATA_DIR: scratch.dir, GHOSTDNS_NODE_ID: 'import-node', GHOSTDNS_TAP_BIND_TIMEZONE: 'UTC' };

    const first = await importFiles(env, [newest, errors, middle, oldest]);
    expect(first.code, first.stderr).toBe(0);
    // The 4 root-name queries (`. IN NS`) are rows like any other (domain '.').
    expect(first.stdout).toContain('events: 104, new rows: 104 (already stored: 0)');
    expect(first.stdout).not.toContain('refused by');
    expect(first.stdout).toContain('skipped: 2');
    expect(first.stdout).toMatch(/bad_timestamp: 1 \(e\.g\. .*queries\.log\.1:21\)/);
    expect(first.stdout).toMatch(/truncated: 1 \(e\.g\. .*queries\.log\.1:42\)/);

    const second = await importFiles(env, [oldest, middle, newest, errors]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('events: 104, new rows: 0 (already stored: 104)');

    const quiet = (): undefined => undefined;
    const database = await openDatabase(db.url, { logger: { info: quiet, warn: quiet, error: quiet, debug: quiet }, poolSize: 1 });
    cleanups.push(() => database.close());
    const rows = await database.pool.query<{ n: string; refused: string; servfail: string; unknown: string }>(
      `SELECT count(*) AS n,
              count(*) FILTER (WHERE response_rcode = 'REFUSED') AS refused,
              count(*) FILTER (WHERE response_rcode = 'SERVFAIL') AS servfail,
              count(*) FILTER (WHERE response_rcode IS NULL) AS unknown
         FROM dns_queries WHERE node_id = 'import-node' AND source = 'BIND_QUERYLOG'`,
    );
    // 4 REFUSED and 18 SERVFAIL lines in query-errors; the other 82 queries have no rcode in the log.
    expect(rows.rows[0]).toMatchObject({ n: '104', refused: '4', servfail: '18', unknown: '82' });
  });

  it('names a missing file and exits 1', async () => {
    const result = await importFiles({ DATABASE_URL: 'postgres://127.0.0.1:1/none' }, ['/nonexistent/queries.log']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('/nonexistent/queries.log');
  });
});

describe('ghostdns import dnstap (integration, real PostgreSQL)', { timeout: 120_000 }, () => {
  it('loads captures of real resolvers (plain and gzip) and is idempotent', async () => {
    const db = await createScratchDatabase(requireComponent('postgres'));
    cleanups.push(() => db.drop());
    const scratch = scratchDir();
    cleanups.push(() => scratch.remove());
    const captures = path.resolve(fixtures, '../dnstap');
    const unbound = path.join(captures, 'unbound-1.17.fstrm');
    const bindGz = path.join(scratch.dir, 'bind-9.18.fstrm.gz');
    writeFileSync(bindGz, gzipSync(readFileSync(path.join(captures, 'bind-9.18.fstrm'))));
    const env = { DATABASE_URL: db.url, GHOSTDNS_DATA_DIR: scratch.dir, GHOSTDNS_NODE_ID: 'dnstap-import' };

    const first = await importFiles(env, [unbound, bindGz], 'dnstap');
    expect(first.code, first.stderr).toBe(0);
    const stored = /events: (\d+), new rows: (\d+) \(already stored: 0\)/.exec(first.stdout);
    expect(stored, first.stdout).not.toBeNull();
    const newRows = Number(stored?.[2]);
    expect(newRows).toBeGreaterThan(0);

    const second = await importFiles(env, [unbound, bindGz], 'dnstap');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`new rows: 0 (already stored: ${newRows})`);

    const quiet = (): undefined => undefined;
    const database = await openDatabase(db.url, { logger: { info: quiet, warn: quiet, error: quiet, debug: quiet }, poolSize: 1 });
    cleanups.push(() => database.close());
    const rows = await database.pool.query<{ n: string; nodes: string }>(
      `SELECT count(*) AS n, count(DISTINCT node_id) AS nodes FROM dns_queries WHERE source = 'DNSTAP'`,
    );
    expect(Number(rows.rows[0]?.n)).toBe(newRows);
    // Each capture names its resolver in the dnstap identity field.
    expect(Number(rows.rows[0]?.nodes)).toBe(2);
  });
});

import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANALYTICS_RELATIONS,
  DEFAULT_ANALYTICS_SETTINGS,
  applyRetention,
  configureAnalyticsPolicies,
  migrate,
  openDatabase,
  refreshRollups,
  type Database,
} from '../src/index.js';
import { INSERT_SQL, captureLogger, freshPostgresDatabase, openCleanTimescale, relationColumns, sampleRow, type ColumnInfo } from './helpers.js';

// The seed's (shared/seeds/dns-analytics-bind9-foundation.md) SQL, verbatim.
const SEED_NODES_INSERT = `INSERT INTO dns_nodes VALUES
(DEFAULT, 'home-dns1', '192.168.238.128', 'Home Lab LAN1', '192.168.238.0/24', TRUE, now()),
(DEFAULT, 'home-dns2', '10.10.10.250',    'Home Lab LAN2', '10.10.10.0/24',    TRUE, now());`;
const SEED_COMBINED_TOP_DOMAINS = readFileSync(new URL('./fixtures/seed-combined-top-domains.sql', import.meta.url), 'utf8');

/** Two clients, two nodes, one NXDOMAIN, spread over two hours of today. */
async function insertSample(db: Database): Promise<void> {
  const hourStart = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const rows = [0, 1, 2, 3].map((i) => {
    const row = sampleRow(randomUUID(), new Date(hourStart.getTime() - (i % 2) * 3_600_000 + i * 1000));
    row[2] = `node-${i % 2}`;
    row[6] = i < 2 ? '192.0.2.10' : '192.0.2.11';
    if (i === 3) row[14] = 'NXDOMAIN';
    return row;
  });
  for (const row of rows) await db.pool.query(INSERT_SQL, row);
}

describe.each(['postgres', 'timescaledb'] as const)('analytics store on %s', (engine) => {
  const logger = captureLogger();
  let db: Database;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (engine === 'postgres') {
      const fresh = await freshPostgresDatabase();
      drop = () => fresh.drop();
      db = await openDatabase(fresh.url, { logger });
    } else {
      db = await openCleanTimescale(logger);
    }
    await migrate(db, { logger });
    await configureAnalyticsPolicies(db, { rawRetentionDays: 31, hourlyRetentionDays: 365, compressAfterDays: 3 });
    await insertSample(db);
    await refreshRollups(db);
  });

  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('aggregates every row into every rollup', async () => {
    const totals = await db.pool.query<Record<string, string>>(`SELECT
      (SELECT sum(queries) FROM dns_node_stats_1m)::text AS minute,
      (SELECT sum(nxdomain_count) FROM dns_node_stats_1m)::text AS nx,
      (SELECT sum(hit_count) FROM dns_domain_stats_1h)::text AS domain,
      (SELECT sum(hit_count) FROM dns_client_stats_1h)::text AS client,
      (SELECT sum(hit_count) FROM dns_daily_stats)::text AS daily,
      (SELECT sum(unique_clients) FROM dns_daily_stats)::text AS clients`);
    expect(totals.rows[0]).toEqual({ minute: '4', nx: '1', domain: '4', client: '4', daily: '4', clients: '2' });
  });

  it("runs the seed's dns_nodes insert and combined top domains query unchanged", async () => {
    await db.pool.query(SEED_NODES_INSERT);
    // The seed's second server, a foreign table there, is a local table of the same shape here.
    await db.pool.query('CREATE TABLE IF NOT EXISTS dns2_daily_stats AS SELECT * FROM dns_daily_stats WITH NO DATA');
    const top = await db.pool.query<{ apex_domain: string; total_queries: string }>(SEED_COMBINED_TOP_DOMAINS);
    expect(top.rows).toEqual([expect.objectContaining({ apex_domain: 'example.com', total_queries: '4' })]);
    await db.pool.query('DROP TABLE dns2_daily_stats');
  });

  it('keeps what retention must keep', async () => {
    expect(await applyRetention(db, DEFAULT_ANALYTICS_SETTINGS)).toBe(0);
    const rows = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM dns_queries');
    expect(rows.rows[0]?.n).toBe('4');
  });

  if (engine === 'timescaledb') {
    it('has the configured retention and compression policies', async () => {
      const jobs = await db.pool.query<{ hypertable_name: string; proc_name: string; config: Record<string, string> }>(
        `SELECT hypertable_name, proc_name, config FROM timescaledb_information.jobs
          WHERE proc_name IN ('policy_retention', 'policy_compression') ORDER BY 1, 2`,
      );
      const raw = jobs.rows.filter((j) => j.hypertable_name === 'dns_queries');
      expect(raw.map((j) => [j.proc_name, j.config.drop_after ?? j.config.compress_after])).toEqual([
        ['policy_compression', '3 days'],
        ['policy_retention', '31 days'],
      ]);
    });
  }
});

describe('both engines', () => {
  it('expose the same analytics relations with the same columns', async () => {
    const logger = captureLogger();
    const fresh = await freshPostgresDatabase();
    const pgDb = await openDatabase(fresh.url, { logger });
    const tsDb = await openCleanTimescale(logger);
    try {
      await migrate(pgDb, { logger });
      await migrate(tsDb, { logger });
      for (const relation of ANALYTICS_RELATIONS) {
        const a: ColumnInfo[] = await relationColumns(pgDb, relation);
        const b: ColumnInfo[] = await relationColumns(tsDb, relation);
        expect(a.length, relation).toBeGreaterThan(0);
        expect(b.map(({ column_name, data_type }) => ({ column_name, data_type })), relation).toEqual(
          a.map(({ column_name, data_type }) => ({ column_name, data_type })),
        );
      }
      expect((await relationColumns(pgDb, 'dns_daily_stats')).map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
        'stat_date date', 'domain text', 'apex_domain text', 'qtype character varying', 'hit_count bigint',
        'unique_clients integer', 'nxdomain_count bigint', 'servfail_count bigint',
        'first_seen timestamp with time zone', 'last_seen timestamp with time zone',
      ]);
    } finally {
      await pgDb.close();
      await tsDb.close();
      await fresh.drop();
    }
  });
});

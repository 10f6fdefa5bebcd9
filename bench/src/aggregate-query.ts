import { readFileSync } from 'node:fs';
import pg from 'pg';
import { migrate, openDatabase, refreshRollups, type Database, type DbLogger } from '@ghostdns/db';
import { createScratchDatabase, requireComponent } from '@ghostdns/testkit';
import type { Benchmark, BenchmarkResult } from './report.js';

// "Top domains over 7 days" from the hourly rollup vs from raw dns_queries, and the seed's
// daily-stats top query, on a store holding a week of generated queries (issue 5, 6(c); goal:
// aggregate queries under 50 ms at 10 million rows). PostgreSQL gets a scratch database at the
// full size; the TimescaleDB stand-in (PGlite in one WebAssembly session) only a size it can
// fill in reasonable time, so its figures show the query shapes work there, not its speed.

const POSTGRES_ROWS = Number(process.env.BENCH_AGG_ROWS ?? 10_000_000);
const TIMESCALE_ROWS = Number(process.env.BENCH_AGG_TIMESCALE_ROWS ?? 200_000);
const RUNS = 5;
// The machine's two cores; the stand-in runs one statement at a time whatever it is sent.
const FILL_CONNECTIONS = 2;
const GOAL_MS = 50;
const DOMAINS = 50_000;
const APEXES = 2_000;
const CLIENTS = 5_000;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

type Engine = 'postgres' | 'timescaledb';

const silentLogger: DbLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

const TOP_DOMAINS_FROM_HOURLY = `SELECT domain, sum(hit_count)::bigint AS hits FROM dns_domain_stats_1h
WHERE bucket >= $1 GROUP BY domain ORDER BY hits DESC, domain LIMIT 50`;
// The daily rollup from the start of the week's first day: no rows precede the week, so it
// covers the same rows.
const TOP_DOMAINS_FROM_DAILY = `SELECT domain, sum(hit_count)::bigint AS hits FROM dns_daily_stats_1d
WHERE bucket >= date_trunc('day', $1::timestamptz, 'UTC') GROUP BY domain ORDER BY hits DESC, domain LIMIT 50`;
const TOP_DOMAINS_FROM_RAW = `SELECT domain, count(*)::bigint AS hits FROM dns_queries
WHERE queried_at >= $1 GROUP BY domain ORDER BY hits DESC, domain LIMIT 50`;
// The seed's (shared/seeds/dns-analytics-bind9-foundation.md) "combined top domains" SQL,
// verbatim; its second network (dns2_daily_stats, a postgres_fdw table there) is an empty table here.
const SEED_COMBINED_TOP_DOMAINS = readFileSync(new URL('../../packages/db/test/fixtures/seed-combined-top-domains.sql', import.meta.url), 'utf8');

/**
 * Rows $2..$3 of a week starting at $1, $4 microseconds apart, in time order (as ingestion
 * writes them). Domain rank d is log-uniform on [1, DOMAINS), i.e. P(d) ∝ 1/d (Zipf, s = 1);
 * domain d belongs to apex d mod APEXES, so apex popularity is Zipf-like too. Clients are
 * skewed (a few busy devices); 70 % A / 25 % AAAA / 5 % HTTPS, 95 % NOERROR / 4 % NXDOMAIN /
 * 1 % SERVFAIL, 70 % cache hits, 3 % blocked, four nodes in two PoPs.
 */
const FILL_SQL = `INSERT INTO dns_queries (queried_at, event_id, node_id, pop, source, message_type, client_ip, client_port,
  transport, domain, apex_domain, qtype, qclass, flags, response_rcode, cached, cache_status, response_time, latency_us,
  answer_count, response_size, upstream, upstream_latency_us, policy_action, query_wire, response_wire)
SELECT t, gen_random_uuid(), 'edge-' || (i % 4), CASE WHEN i % 4 < 2 THEN 'ams1' ELSE 'fra1' END, 'RESOLVER_EDGE', 'CLIENT_RESPONSE',
  '10.64.0.0'::inet + c, 1024 + (i % 60000)::int, 'UDP',
  'd' || d || '.apex' || (d % ${APEXES}) || '.example', 'apex' || (d % ${APEXES}) || '.example',
  CASE WHEN q < 0.70 THEN 'A' WHEN q < 0.95 THEN 'AAAA' ELSE 'HTTPS' END, 'IN', 'qr rd ra',
  CASE WHEN r < 0.95 THEN 'NOERROR' WHEN r < 0.99 THEN 'NXDOMAIN' ELSE 'SERVFAIL' END,
  hit, CASE WHEN hit THEN 'HIT' ELSE 'MISS' END, t + lat * INTERVAL '1 microsecond', lat, 1, 96,
  CASE WHEN hit THEN NULL ELSE '9.9.9.9:53' END, CASE WHEN hit THEN NULL ELSE lat - 100 END,
  CASE WHEN b < 0.03 THEN 'BLOCKED' ELSE 'PASS' END, NULL, NULL
FROM (
  SELECT i, $1::timestamptz + (i * $4::bigint) * INTERVAL '1 microsecond' AS t,
         floor(exp(random() * ln(${DOMAINS})))::int AS d,
         floor(${CLIENTS} * random() ^ 2)::int AS c,
         random() AS q, random() AS r, random() < 0.7 AS hit, random() AS b,
         (200 + floor(random() * 20000))::int AS lat
  FROM generate_series($2::bigint, $3::bigint) AS i
) generated`;

interface Store {
  db: Database;
  url: string;
  drop(): Promise<void>;
}

/** A migrated, empty store: a scratch database on PostgreSQL, the stand-in's only database reset on TimescaleDB. */
async function openEmptyStore(engine: Engine, env: Record<string, string>): Promise<Store> {
  if (engine === 'postgres') {
    const scratch = await createScratchDatabase(env.TEST_POSTGRES_URL ?? requireComponent('postgres'));
    const db = await openDatabase(scratch.url, { logger: silentLogger, poolSize: FILL_CONNECTIONS });
    await migrate(db, { logger: silentLogger });
    return {
      db,
      url: scratch.url,
      drop: async () => {
        await db.close();
        await scratch.drop();
      },
    };
  }
  const url = env.TEST_TIMESCALE_URL ?? requireComponent('timescaledb');
  const db = await openDatabase(url, { logger: silentLogger, poolSize: 1 });
  // The stand-in cannot host a second database: earlier benchmarks' rows are dropped (CASCADE
  // takes the continuous aggregates and the dns_daily_stats view along) and migrate recreates all.
  await db.pool.query(
    'DROP TABLE IF EXISTS dns2_daily_stats; DROP TABLE IF EXISTS dns_queries CASCADE; DROP TABLE IF EXISTS schema_migrations; ' +
      'DROP TABLE IF EXISTS dns_nodes; DROP FUNCTION IF EXISTS ghostdns_ensure_partitions(int)',
  );
  await migrate(db, { logger: silentLogger });
  return { db, url, drop: () => db.close() };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function partitionName(day: Date): string {
  return `dns_queries_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/**
 * Fills a week ending now with `rows` rows, seven INSERT … SELECT of a day's worth each (each
 * lands in one or two partitions or chunks), and returns the wall seconds. On PostgreSQL the
 * daily partitions of the past week are created first, as ghostdns_ensure_partitions would have
 * on those days (migrate only creates yesterday onwards; older rows would pile into DEFAULT).
 */
async function fill(db: Database, rows: number, weekStart: Date): Promise<number> {
  const started = process.hrtime.bigint();
  const spanUs = BigInt(Date.now() - weekStart.getTime()) * 1000n;
  const stepUs = spanUs / BigInt(rows);
  if (db.engine === 'postgres') {
    for (let day = Math.floor(weekStart.getTime() / DAY_MS) * DAY_MS; day <= Date.now(); day += DAY_MS) {
      await db.pool.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(new Date(day))} PARTITION OF dns_queries FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + DAY_MS).toISOString()}')`,
      );
    }
  }
  const perStatement = Math.ceil(rows / 7);
  const ranges: [number, number][] = [];
  for (let lo = 0; lo < rows; lo += perStatement) ranges.push([lo, Math.min(rows, lo + perStatement) - 1]);
  // FILL_CONNECTIONS statements at a time: they write mostly different daily partitions.
  const insertNext = async (): Promise<void> => {
    for (let range = ranges.shift(); range !== undefined; range = ranges.shift()) {
      await db.pool.query(FILL_SQL, [weekStart.toISOString(), range[0], range[1], stepUs.toString()]);
    }
  };
  await Promise.all(Array.from({ length: db.engine === 'postgres' ? FILL_CONNECTIONS : 1 }, insertNext));
  return seconds(started);
}

/** Brings the rollups up to date: the worker's refresh on PostgreSQL, a full refresh of each continuous aggregate (daily last: it reads the hourly one) on TimescaleDB. */
async function refreshAll(db: Database): Promise<number> {
  const started = process.hrtime.bigint();
  if (db.engine === 'postgres') {
    await refreshRollups(db);
  } else {
    for (const view of ['dns_node_stats_1m', 'dns_domain_stats_1h', 'dns_client_stats_1h', 'dns_daily_stats_1d']) {
      await db.pool.query(`CALL refresh_continuous_aggregate('${view}', NULL, NULL)`);
    }
  }
  return seconds(started);
}

interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  result: pg.QueryResult;
}

/** One warm-up, then the median of RUNS runs on one connection. */
async function time(client: pg.Client, sql: string, params: unknown[]): Promise<Timing> {
  let result = await client.query(sql, params);
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    result = await client.query(sql, params);
    runs.push(seconds(started) * 1000);
  }
  runs.sort((a, b) => a - b);
  return { medianMs: runs[Math.floor(RUNS / 2)] ?? NaN, minMs: runs[0] ?? NaN, maxMs: runs[RUNS - 1] ?? NaN, result };
}

async function count(client: pg.Client, relation: string): Promise<number> {
  return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${relation}`)).rows[0]?.n ?? 0);
}

function hitsColumn(result: pg.QueryResult): string {
  return result.rows.map((row: Record<string, unknown>) => String(row.hits)).join(',');
}

const ms = (n: number): number => Number(n.toFixed(n < 10 ? 2 : 1));

async function runOnce(engine: Engine, rows: number, env: Record<string, string>): Promise<BenchmarkResult> {
  const store = await openEmptyStore(engine, env);
  const client = new pg.Client({ connectionString: store.url });
  try {
    // The week starts on an hour boundary so the hourly rollup and the raw table cover exactly the same rows.
    const weekStart = new Date(Math.floor((Date.now() - 7 * DAY_MS) / HOUR_MS) * HOUR_MS + HOUR_MS);
    const fillSeconds = await fill(store.db, rows, weekStart);
    const refreshSeconds = await refreshAll(store.db);
    // What autovacuum would have done by now: planner statistics for the fresh tables.
    const analyzeStarted = process.hrtime.bigint();
    await store.db.pool.query('ANALYZE');
    const analyzeSeconds = seconds(analyzeStarted);
    await store.db.pool.query('CREATE TABLE IF NOT EXISTS dns2_daily_stats AS SELECT * FROM dns_daily_stats WITH NO DATA');

    await client.connect();
    const stored = await count(client, 'dns_queries');
    if (stored !== rows) throw new Error(`${engine}: filled ${stored} rows, expected ${rows}`);
    const hourlyRows = await count(client, 'dns_domain_stats_1h');
    const dailyRows = await count(client, 'dns_daily_stats_1d');
    const hourly = await time(client, TOP_DOMAINS_FROM_HOURLY, [weekStart.toISOString()]);
    const daily = await time(client, TOP_DOMAINS_FROM_DAILY, [weekStart.toISOString()]);
    const raw = await time(client, TOP_DOMAINS_FROM_RAW, [weekStart.toISOString()]);
    const seed = await time(client, SEED_COMBINED_TOP_DOMAINS, []);
    // Same answer from both sources, or the comparison means nothing.
    for (const [relation, rollup] of [['dns_domain_stats_1h', hourly], ['dns_daily_stats_1d', daily]] as const) {
      if (hitsColumn(rollup.result) !== hitsColumn(raw.result)) throw new Error(`${engine}: top domains differ between ${relation} and dns_queries`);
    }
    const line = (query: string, source: string, t: Timing): (string | number)[] => [
      engine, query, source, ms(t.medianMs), `${ms(t.minMs)}–${ms(t.maxMs)}`,
      t === raw ? '1x' : `${(raw.medianMs / t.medianMs).toFixed(1)}x`, t.medianMs < GOAL_MS ? 'yes' : 'no',
    ];
    return {
      columns: COLUMNS,
      rows: [
        line('top 50 domains, 7 days', `dns_domain_stats_1h (${hourlyRows.toLocaleString('en-US')} rows)`, hourly),
        line('top 50 domains, 7 days', `dns_daily_stats_1d (${dailyRows.toLocaleString('en-US')} rows)`, daily),
        line('top 50 domains, 7 days', `dns_queries (${rows.toLocaleString('en-US')} rows)`, raw),
        line("seed's combined top 50 apexes, 7 days", `dns_daily_stats (${dailyRows.toLocaleString('en-US')} rows)`, seed),
      ],
      notes: [
        `${engine}: filled ${rows.toLocaleString('en-US')} rows in ${fillSeconds.toFixed(1)} s (${Math.round(rows / fillSeconds).toLocaleString('en-US')} rows/s, 7 INSERT … SELECT, ${engine === 'postgres' ? FILL_CONNECTIONS : 1} at a time), ` +
          `rollups refreshed in ${refreshSeconds.toFixed(1)} s (${engine === 'postgres' ? 'ghostdns_refresh_rollups(): every hour of the week' : 'refresh_continuous_aggregate on all four'}), ANALYZE ${analyzeSeconds.toFixed(1)} s.`,
      ],
    };
  } finally {
    await client.end().catch(() => undefined);
    await store.drop();
  }
}

const COLUMNS = ['engine', 'query', 'from (rows)', 'median ms', 'min–max ms', 'raw / this', `< ${GOAL_MS} ms`];

export const aggregateQueryBenchmark: Benchmark = {
  title: 'Top domains over 7 days: rollup vs raw table',
  async run(env): Promise<BenchmarkResult> {
    const postgres = await runOnce('postgres', POSTGRES_ROWS, env);
    const timescale = await runOnce('timescaledb', TIMESCALE_ROWS, env);
    return {
      columns: COLUMNS,
      rows: [...postgres.rows, ...timescale.rows],
      notes: [
        `Median of ${RUNS} runs after one warm-up, one connection, server defaults. Data: one week ending now, in time order; ` +
          `Zipf (s = 1) domain popularity over ${DOMAINS.toLocaleString('en-US')} domains under ${APEXES.toLocaleString('en-US')} apexes, ` +
          `${CLIENTS.toLocaleString('en-US')} skewed clients, A/AAAA/HTTPS 70/25/5. Raw, hourly and daily return the same top 50 (checked).`,
        `TimescaleDB is the PGlite stand-in (one WebAssembly session behind a socket) at ${TIMESCALE_ROWS.toLocaleString('en-US')} rows ` +
          `(BENCH_AGG_TIMESCALE_ROWS): it shows the queries run on continuous aggregates, not TimescaleDB's speed. PostgreSQL 15 at ` +
          `${POSTGRES_ROWS.toLocaleString('en-US')} rows (BENCH_AGG_ROWS).`,
        ...(postgres.notes ?? []),
        ...(timescale.notes ?? []),
      ],
    };
  },
};

import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Benchmark, BenchmarkResult } from './report.js';
import { APEXES, CLIENTS, DOMAINS, seconds, weekStore, type Engine } from './week-store.js';

// "Top domains over 7 days" from the hourly rollup vs from raw dns_queries, and the seed's
// daily-stats top query, on a store holding a week of generated queries (issue 5, 6(c); goal:
// aggregate queries under 50 ms at 10 million rows). PostgreSQL gets a scratch database at the
// full size; the TimescaleDB stand-in (PGlite in one WebAssembly session) only a size it can
// fill in reasonable time, so its figures show the query shapes work there, not its speed.

export const POSTGRES_ROWS = Number(process.env.BENCH_AGG_ROWS ?? 10_000_000);
const TIMESCALE_ROWS = Number(process.env.BENCH_AGG_TIMESCALE_ROWS ?? 200_000);
const RUNS = 5;
const GOAL_MS = 50;

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
  const store = await weekStore(engine, rows, env);
  const { weekStart } = store;
  const client = new pg.Client({ connectionString: store.url });
  try {
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
      notes: [store.note],
    };
  } finally {
    await client.end().catch(() => undefined);
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

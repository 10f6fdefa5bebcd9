import { migrate, openDatabase, refreshRollups, type Database, type DbLogger } from '@ghostdns/db';
import { createScratchDatabase, requireComponent } from '@ghostdns/testkit';

// A store holding one week of generated queries ending now, with its rollups refreshed and
// ANALYZEd: what the aggregate-query and API-load benchmarks measure against. Filling ten
// million rows takes minutes, so one store per engine and size is made per `pnpm bench` run and
// shared (dropWeekStores() at the end).

// The machine's two cores; the stand-in runs one statement at a time whatever it is sent.
const FILL_CONNECTIONS = 2;
export const DOMAINS = 50_000;
export const APEXES = 2_000;
export const CLIENTS = 5_000;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export type Engine = 'postgres' | 'timescaledb';

const silentLogger: DbLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

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

export function seconds(since: bigint): number {
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


export interface WeekStore {
  readonly engine: Engine;
  readonly db: Database;
  readonly url: string;
  readonly rows: number;
  /** First hour of the week: the hourly rollup and the raw table cover exactly the same rows from here. */
  readonly weekStart: Date;
  /** How it was made, for the benchmarks' notes. */
  readonly note: string;
}

interface Dropper {
  drop: () => Promise<void>;
}

const stores = new Map<string, { store: Promise<WeekStore>; dropper: Dropper }>();

async function makeWeekStore(engine: Engine, rows: number, env: Record<string, string>, dropper: Dropper): Promise<WeekStore> {
  const store = await openEmptyStore(engine, env);
  dropper.drop = () => store.drop();
  // The week starts on an hour boundary so the hourly rollup and the raw table cover exactly the same rows.
  const weekStart = new Date(Math.floor((Date.now() - 7 * DAY_MS) / HOUR_MS) * HOUR_MS + HOUR_MS);
  const fillSeconds = await fill(store.db, rows, weekStart);
  const refreshSeconds = await refreshAll(store.db);
  // What autovacuum would have done by now: planner statistics for the fresh tables.
  const analyzeStarted = process.hrtime.bigint();
  await store.db.pool.query('ANALYZE');
  const analyzeSeconds = seconds(analyzeStarted);
  const note =
    `${engine}: filled ${rows.toLocaleString('en-US')} rows in ${fillSeconds.toFixed(1)} s (${Math.round(rows / fillSeconds).toLocaleString('en-US')} rows/s, 7 INSERT … SELECT, ${engine === 'postgres' ? FILL_CONNECTIONS : 1} at a time), ` +
    `rollups refreshed in ${refreshSeconds.toFixed(1)} s (${engine === 'postgres' ? 'ghostdns_refresh_rollups(): every hour of the week' : 'refresh_continuous_aggregate on all four'}), ANALYZE ${analyzeSeconds.toFixed(1)} s.`;
  return { engine, db: store.db, url: store.url, rows, weekStart, note };
}

/** The week store of this engine and size, filled on first use. */
export function weekStore(engine: Engine, rows: number, env: Record<string, string>): Promise<WeekStore> {
  const key = `${engine}/${rows}`;
  const existing = stores.get(key);
  if (existing !== undefined) return existing.store;
  const dropper: Dropper = { drop: async () => undefined };
  const store = makeWeekStore(engine, rows, env, dropper);
  stores.set(key, { store, dropper });
  return store;
}

/** Drops every week store made in this run. */
export async function dropWeekStores(): Promise<void> {
  for (const { store, dropper } of stores.values()) {
    await store.catch(() => undefined);
    await dropper.drop();
  }
  stores.clear();
}

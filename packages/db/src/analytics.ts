import type { Database } from './database.js';
import { DbError, describeError } from './errors.js';

/** How long each analytics tier is kept, and when raw chunks are compressed (TimescaleDB). */
export interface AnalyticsSettings {
  /** dns_queries and dns_node_stats_1m, in days. */
  readonly rawRetentionDays: number;
  /** dns_domain_stats_1h and dns_client_stats_1h, in days. dns_daily_stats is kept. */
  readonly hourlyRetentionDays: number;
  /** Age after which raw TimescaleDB chunks are compressed, in days (ignored on PostgreSQL). */
  readonly compressAfterDays: number;
}

/** The defaults of migration 002 (raw 30 days, hourly 400 days, compress after 7 days). */
export const DEFAULT_ANALYTICS_SETTINGS: AnalyticsSettings = Object.freeze({
  rawRetentionDays: 30,
  hourlyRetentionDays: 400,
  compressAfterDays: 7,
});

/** Relations every reader (records-api, Grafana, GhostScale) may query on both engines. */
export const ANALYTICS_RELATIONS = [
  'dns_node_stats_1m',
  'dns_domain_stats_1h',
  'dns_client_stats_1h',
  'dns_daily_stats_1d',
  'dns_daily_stats',
  'dns_nodes',
] as const;

function validate(settings: AnalyticsSettings): void {
  for (const [key, value] of Object.entries(settings)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new DbError('GHOSTDNS_DB_QUERY', `analytics setting ${key} must be a whole number of days >= 1, got ${String(value)}`);
    }
  }
}

async function run(db: Database, what: string, sql: string, params: unknown[]): Promise<number> {
  try {
    const res = await db.pool.query<{ n: number | null }>(sql, params);
    return res.rows[0]?.n ?? 0;
  } catch (err) {
    throw new DbError('GHOSTDNS_DB_QUERY', `${what} failed: ${describeError(err)}`, { cause: err });
  }
}

/**
 * TimescaleDB: replaces the retention and compression policies of migration 002 with
 * `settings` (idempotent; run at start). PostgreSQL: nothing to store — retention is applied
 * by applyRetention(), which takes the settings each time.
 */
export async function configureAnalyticsPolicies(db: Database, settings: AnalyticsSettings): Promise<void> {
  validate(settings);
  if (db.engine !== 'timescaledb') return;
  const policies: [relation: string, kind: 'retention' | 'compression', days: number][] = [
    ['dns_queries', 'retention', settings.rawRetentionDays],
    ['dns_node_stats_1m', 'retention', settings.rawRetentionDays],
    ['dns_domain_stats_1h', 'retention', settings.hourlyRetentionDays],
    ['dns_client_stats_1h', 'retention', settings.hourlyRetentionDays],
    ['dns_queries', 'compression', settings.compressAfterDays],
  ];
  for (const [relation, kind, days] of policies) {
    const sql =
      kind === 'retention'
        ? `SELECT remove_retention_policy($1::regclass, if_exists => true),
                  add_retention_policy($1::regclass, drop_after => make_interval(days => $2::int)) AS n`
        : `SELECT remove_compression_policy($1::regclass, if_exists => true),
                  add_compression_policy($1::regclass, compress_after => make_interval(days => $2::int)) AS n`;
    await run(db, `setting the ${kind} policy of ${relation}`, sql, [relation, days]);
  }
}

/**
 * PostgreSQL: folds the hours invalidated since the last call into the rollup tables
 * (ghostdns_refresh_rollups) and returns how many hours it recomputed. TimescaleDB: 0, its
 * continuous aggregates refresh themselves and aggregate the newest data in real time.
 */
export async function refreshRollups(db: Database): Promise<number> {
  if (db.engine !== 'postgres') return 0;
  return run(db, 'refreshing the analytics rollups', 'SELECT ghostdns_refresh_rollups() AS n', []);
}

/**
 * PostgreSQL: drops raw partitions and rollup rows past their retention and returns how many
 * partitions it dropped. TimescaleDB: 0, its retention policies do this.
 */
export async function applyRetention(db: Database, settings: AnalyticsSettings): Promise<number> {
  validate(settings);
  if (db.engine !== 'postgres') return 0;
  return run(db, 'applying analytics retention', 'SELECT ghostdns_apply_retention($1::int, $2::int) AS n', [
    settings.rawRetentionDays,
    settings.hourlyRetentionDays,
  ]);
}

export { openDatabase } from './database.js';
export type { Database, DbEngine, OpenDatabaseOptions } from './database.js';
export {
  migrate,
  ensurePartitions,
  loadMigrations,
  MIGRATIONS_DIR,
  NO_TRANSACTION_MARKER,
  MIGRATION_LOCK_KEY,
  DEFAULT_PARTITION_DAYS_AHEAD,
} from './migrate.js';
export type { Migration, MigrationFile, MigrateOptions } from './migrate.js';
export { startEmbeddedPostgres } from './embedded.js';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded.js';
export { DbError, redactUrl } from './errors.js';
export type { DbErrorCode } from './errors.js';
export type { DbLogger, DbLogFn } from './logger.js';
export { splitSqlStatements } from './sql-split.js';
export {
  configureAnalyticsPolicies,
  refreshRollups,
  applyRetention,
  DEFAULT_ANALYTICS_SETTINGS,
  ANALYTICS_RELATIONS,
} from './analytics.js';
export type { AnalyticsSettings } from './analytics.js';
export type { DnsQueryRow } from './dns-queries.js';

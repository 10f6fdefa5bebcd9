import type { EventBus } from '@ghostdns/bus';
import { ConfigError, maskUrl, type GhostConfig } from '@ghostdns/config';
import type { Database, DbLogger } from '@ghostdns/db';
import type { Logger, MetricsRegistry } from '@ghostdns/observability';
import { createMemoryKeyValueStore } from './kv/memory.js';
import { createMetricsSources } from './metrics-sources.js';
import type { KeyValueStore } from './kv/types.js';
import { createReadinessRegistry, type ReadinessReporter } from './readiness.js';
import type { RuntimeMode, ServiceRuntime } from './types.js';

export interface RuntimeParts {
  mode: RuntimeMode;
  config: GhostConfig;
  logger: Logger;
  metrics: MetricsRegistry;
  bus: EventBus;
  database: Database | undefined;
  /** The key-value store; default an in-memory one (DEFAULT_MEMORY_STORE_ENTRIES), for tests. The caller closes it. */
  store?: KeyValueStore;
  /** Who needs the database, for the error when there is none. */
  owner: string;
}

/** Entries held by the in-memory key-value store the runtime builds. */
export const DEFAULT_MEMORY_STORE_ENTRIES = 100_000;

/** Assembles the ServiceRuntime handed to Nest, with bus/database/redis readiness probes registered. */
export function assembleRuntime(parts: RuntimeParts): ServiceRuntime & { readonly readiness: ReadinessReporter } {
  const readiness = createReadinessRegistry({
    onProbeError: (name, error) => parts.logger.warn({ probe: name, err: error }, 'readiness probe failed'),
  });
  readiness.register('bus', () => parts.bus.isHealthy());
  const database = parts.database;
  if (database !== undefined) readiness.register('database', () => database.isHealthy());
  const store = parts.store ?? createMemoryKeyValueStore({ maxEntries: DEFAULT_MEMORY_STORE_ENTRIES });
  if (store.kind === 'redis') readiness.register('redis', () => store.isHealthy());
  return Object.freeze({
    mode: parts.mode,
    config: parts.config,
    logger: parts.logger,
    metrics: parts.metrics,
    metricsSources: createMetricsSources(),
    bus: parts.bus,
    readiness,
    store,
    requireDatabase(): Database {
      if (database === undefined) {
        throw ConfigError.missing('database.url', 'DATABASE_URL', `${parts.owner} needs PostgreSQL`);
      }
      return database;
    },
  });
}

/** Where a URL points, without credentials: `postgres://ghost:****@db:5432/ghost`. */
export function where(url: string): string {
  return maskUrl(url);
}

/** @ghostdns/db logs message-first (`info(message, fields)`); pino is fields-first. */
export function toDbLogger(logger: Logger): DbLogger {
  return {
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    debug: (message, fields) => logger.debug(fields ?? {}, message),
  };
}

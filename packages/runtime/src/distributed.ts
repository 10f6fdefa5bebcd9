import type { DynamicModule, Type } from '@nestjs/common';
import type { EventBus } from '@ghostdns/bus';
import { ConfigError, loadConfig, type GhostConfig } from '@ghostdns/config';
import { migrate, openDatabase, type Database } from '@ghostdns/db';
import { createLogger, createMetricsRegistry, type Logger } from '@ghostdns/observability';
import { createKafkaBusFromConfig } from './kafka.js';
import { createHttpApp, listenHttp } from './app.js';
import { assembleRuntime, DEFAULT_MEMORY_STORE_ENTRIES, toDbLogger, where } from './compose.js';
import { errorMessage } from './errors.js';
import { createMemoryKeyValueStore } from './kv/memory.js';
import { createRedisKeyValueStore } from './kv/redis.js';
import type { KeyValueStore } from './kv/types.js';
import { installSignalHandlers, Lifecycle } from './lifecycle.js';
import type { ServiceName, ServiceRuntime } from './types.js';

export interface RunDistributedServiceOptions {
  name: ServiceName;
  module: Type | DynamicModule;
  /** Defaults to loadConfig() (GHOSTDNS_CONFIG file + environment). */
  config?: GhostConfig;
  /** Install SIGTERM/SIGINT handlers that shut down and exit. Default true. */
  handleSignals?: boolean;
  /** On a boot failure log it, close what was opened and exit (2: config, 1: other). Default true; tests pass false to get the error. */
  exitOnFailure?: boolean;
}

export interface RunningService {
  readonly runtime: ServiceRuntime;
  /** http://host:port actually bound (http.listen may say port 0). */
  readonly httpUrl: string;
  /** Graceful shutdown: Nest app, then bus, then key-value store, then database. Idempotent. */
  close(): Promise<void>;
}

/**
 * Boots one service in distributed mode: config, logger, metrics, codec,
 * KafkaBus, database (when database.url is set: open + migrate), a Nest app on
 * Fastify with RuntimeModule and the service module, listening on http.listen.
 */
export async function runDistributedService(options: RunDistributedServiceOptions): Promise<RunningService> {
  const exitOnFailure = options.exitOnFailure ?? true;
  let config: GhostConfig;
  try {
    config = options.config ?? loadConfig();
  } catch (error) {
    if (!exitOnFailure) throw error;
    process.stderr.write(`${options.name}: ${errorMessage(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }

  const logger = createLogger({ level: config.log.level, name: options.name });
  const lifecycle = new Lifecycle(logger);
  try {
    const running = await boot(options, config, logger, lifecycle);
    if (options.handleSignals ?? true) {
      installSignalHandlers({ logger, shutdown: () => lifecycle.close() });
    }
    return running;
  } catch (error) {
    logger.error({ err: error }, `${options.name} failed to start: ${errorMessage(error)}`);
    await lifecycle.close();
    if (!exitOnFailure) throw error;
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
}

async function boot(
  options: RunDistributedServiceOptions,
  config: GhostConfig,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<RunningService> {
  const metrics = createMetricsRegistry({ defaultLabels: { service: options.name, node: config.node.id } });

  if (config.kafka.brokers.length === 0) {
    throw ConfigError.missing('kafka.brokers', 'KAFKA_BROKERS', `${options.name} runs distributed on Kafka`);
  }
  const bus: EventBus = await createKafkaBusFromConfig(config, { clientIdSuffix: options.name, logger, metrics });
  logger.info(
    { schemaRegistry: config.schemaRegistry.url === undefined ? 'builtin' : where(config.schemaRegistry.url) },
    'schemas ready',
  );
  lifecycle.add({ name: 'bus', phase: 'bus', close: () => bus.close() });
  await bus.connect();
  logger.info({ brokers: config.kafka.brokers }, 'connected to Kafka');

  let database: Database | undefined;
  if (config.database.url !== undefined) {
    const db = await openDatabase(config.database.url, { logger: toDbLogger(logger.child({ component: 'db' })) });
    database = db;
    lifecycle.add({ name: 'database', phase: 'database', close: () => db.close() });
    await migrate(db, { logger: toDbLogger(logger.child({ component: 'db' })) });
    logger.info({ database: where(config.database.url) }, 'database ready');
  } else {
    logger.info('no database.url: services that need PostgreSQL will refuse to start (set DATABASE_URL)');
  }

  let store: KeyValueStore;
  if (config.redis.url !== undefined) {
    // Not awaited: Redis connects (and reconnects) in the background; readiness probe 'redis' reports it.
    const redis = createRedisKeyValueStore({ url: config.redis.url, logger: logger.child({ component: 'redis' }) });
    store = redis;
    lifecycle.add({ name: 'redis', phase: 'store', close: () => redis.close() });
    logger.info({ redis: where(config.redis.url) }, 'key-value store on Redis');
  } else {
    const memory = createMemoryKeyValueStore({ maxEntries: DEFAULT_MEMORY_STORE_ENTRIES });
    store = memory;
    lifecycle.add({ name: 'memory-store', phase: 'store', close: () => memory.close() });
    logger.warn('no redis.url: the key-value store is in this process only; replicas will not share it (set REDIS_URL)');
  }

  const runtime = assembleRuntime({ mode: 'distributed', config, logger, metrics, bus, database, store, owner: options.name });
  const app = await createHttpApp(runtime, [options.module]);
  lifecycle.add({ name: 'http', phase: 'http', close: () => app.close() });
  lifecycle.add({ name: 'readiness', phase: 'readiness', close: () => runtime.readiness.markShuttingDown() });
  const httpUrl = await listenHttp(app, config.http.listen);
  logger.info({ http: httpUrl, mode: 'distributed' }, `${options.name} listening on ${httpUrl}`);

  return {
    runtime,
    httpUrl,
    close: async () => {
      await lifecycle.close();
    },
  };
}

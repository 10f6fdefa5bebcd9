import type { DynamicModule, Type } from '@nestjs/common';
import { createInProcessBus } from '@ghostdns/bus';
import type { GhostConfig } from '@ghostdns/config';
import { migrate, openDatabase, startEmbeddedPostgres } from '@ghostdns/db';
import { createBusMetrics, createLogger, createMetricsRegistry, type Logger } from '@ghostdns/observability';
import { createHttpApp, listenHttp } from './app.js';
import { assembleRuntime, DEFAULT_MEMORY_STORE_ENTRIES, toDbLogger, where } from './compose.js';
import { errorMessage } from './errors.js';
import { createMemoryKeyValueStore } from './kv/memory.js';
import { Lifecycle } from './lifecycle.js';
import type { ServiceRuntime } from './types.js';

export interface StartStandaloneOptions {
  /** Every service module to host in the one Nest app. */
  modules: readonly (Type | DynamicModule)[];
  config: GhostConfig;
  /** Defaults to a pino logger named "ghostdns" at config.log.level. */
  logger?: Logger;
}

export interface StandaloneHandle {
  /** http://host:port actually bound. */
  readonly httpUrl: string;
  readonly runtime: ServiceRuntime;
  /** Where the data lives: an external database (masked URL) or the embedded one. */
  readonly database: { readonly kind: 'external'; readonly where: string } | { readonly kind: 'embedded'; readonly dataDir: string };
  /** Closes Nest (and so every service), the bus, the key-value store, the database and the embedded PostgreSQL, in that order. Idempotent. */
  close(): Promise<void>;
}

/**
 * All services in one process: in-process bus, in-memory key-value store,
 * database.url or an embedded PostgreSQL under data.dir, migrations, one Nest app on http.listen.
 * Installs no signal handlers (the caller decides; see installSignalHandlers).
 */
export async function startStandalone(options: StartStandaloneOptions): Promise<StandaloneHandle> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.log.level, name: 'ghostdns' });
  const lifecycle = new Lifecycle(logger);
  try {
    const metrics = createMetricsRegistry({ defaultLabels: { node: config.node.id } });
    const bus = createInProcessBus({ logger: logger.child({ component: 'bus' }), metrics: createBusMetrics(metrics) });
    lifecycle.add({ name: 'bus', phase: 'bus', close: () => bus.close() });
    await bus.connect();

    let url: string;
    let database: StandaloneHandle['database'];
    if (config.database.url === undefined) {
      logger.info({ dataDir: config.data.dir }, 'no database.url: starting embedded PostgreSQL');
      const embedded = await startEmbeddedPostgres({
        dataDir: config.data.dir,
        logger: toDbLogger(logger.child({ component: 'embedded-postgres' })),
      });
      lifecycle.add({ name: 'embedded-postgres', phase: 'embedded-postgres', close: () => embedded.stop() });
      url = embedded.url;
      database = { kind: 'embedded', dataDir: config.data.dir };
    } else {
      url = config.database.url;
      database = { kind: 'external', where: where(url) };
    }
    const dbLogger = toDbLogger(logger.child({ component: 'db' }));
    const db = await openDatabase(url, { logger: dbLogger });
    lifecycle.add({ name: 'database', phase: 'database', close: () => db.close() });
    await migrate(db, { logger: dbLogger });
    logger.info({ database: where(url) }, 'database ready');

    const store = createMemoryKeyValueStore({ maxEntries: DEFAULT_MEMORY_STORE_ENTRIES });
    lifecycle.add({ name: 'memory-store', phase: 'store', close: () => store.close() });
    if (config.redis.url !== undefined) logger.info('standalone: redis.url is not used; the key-value store is in memory');

    const runtime = assembleRuntime({ mode: 'standalone', config, logger, metrics, bus, database: db, store, owner: 'standalone' });
    const app = await createHttpApp(runtime, options.modules);
    lifecycle.add({ name: 'http', phase: 'http', close: () => app.close() });
    lifecycle.add({ name: 'readiness', phase: 'readiness', close: () => runtime.readiness.markShuttingDown() });
    const httpUrl = await listenHttp(app, config.http.listen);
    logger.info({ http: httpUrl, dns: config.dns.listen, mode: 'standalone' }, `GhostDNS standalone listening on ${httpUrl}`);

    return {
      httpUrl,
      runtime,
      database,
      close: async () => {
        await lifecycle.close();
      },
    };
  } catch (error) {
    logger.error({ err: error }, `standalone start failed: ${errorMessage(error)}`);
    await lifecycle.close();
    throw error;
  }
}

import { createInProcessBus } from '@ghostdns/bus';
import { parseConfig, type GhostConfigInput } from '@ghostdns/config';
import type { Database } from '@ghostdns/db';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { assembleRuntime, type ServiceRuntime } from '@ghostdns/runtime';

/** A ServiceRuntime for tests (packages/runtime's assembleRuntime): silent logger, fresh registry, in-process bus. */
export function testRuntime(database: Database | undefined, config: GhostConfigInput = {}): ServiceRuntime {
  const logger = createLogger({ level: 'fatal', name: 'records-api-test' });
  return assembleRuntime({
    mode: 'standalone',
    config: parseConfig(config, 'test'),
    logger,
    metrics: createMetricsRegistry({ processMetrics: false }),
    bus: createInProcessBus({ logger }),
    database,
    owner: 'records-api',
  });
}

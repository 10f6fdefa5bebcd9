import { createInProcessBus } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import type { Database } from '@ghostdns/db';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { assembleRuntime, type ReadinessReporter, type ServiceRuntime } from '@ghostdns/runtime';

/** A ServiceRuntime for tests (packages/runtime's assembleRuntime): silent logger, fresh registry, in-process bus. */
export function testRuntime(database: Database | undefined): ServiceRuntime & { readonly readiness: ReadinessReporter } {
  const logger = createLogger({ level: 'fatal', name: 'ingest-worker-test' });
  return assembleRuntime({
    mode: 'standalone',
    // The fixtures' events are from 2024: keep them clear of the maintainer's retention round.
    config: parseConfig({ analytics: { rawRetentionDays: 36_500, hourlyRetentionDays: 36_500 } }, 'test'),
    logger,
    metrics: createMetricsRegistry({ processMetrics: false }),
    bus: createInProcessBus({ logger, retry: { initialMs: 10, maxMs: 50 } }),
    database,
    owner: 'ingest-worker',
  });
}

/** Polls `check` until it returns true or the deadline passes (no fixed sleeps). */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

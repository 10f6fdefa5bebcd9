// A ServiceRuntime for service tests: in-process bus, memory store, a logger
// that captures its lines, and the registered readiness probes by name.
import { createInProcessBus, silentLogger, type EventBus } from '@ghostdns/bus';
import { parseConfig, type GhostConfigInput } from '@ghostdns/config';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { createMemoryKeyValueStore } from './kv/index.js';
import { createMetricsSources } from './metrics-sources.js';
import type { ReadinessProbe, RuntimeMode, ServiceRuntime } from './types.js';

export interface TestRuntime extends ServiceRuntime {
  readonly probes: Map<string, ReadinessProbe>;
  /** Every log line written, as pino JSON. */
  readonly lines: string[];
}

export interface TestRuntimeOptions {
  bus?: EventBus;
  mode?: RuntimeMode;
}

export function createTestRuntime(config: GhostConfigInput = {}, options: TestRuntimeOptions = {}): TestRuntime {
  const lines: string[] = [];
  const probes = new Map<string, ReadinessProbe>();
  return {
    mode: options.mode ?? 'standalone',
    config: parseConfig(config),
    logger: createLogger({ level: 'info', name: 'test', destination: { write: (line: string) => lines.push(line) } }),
    metrics: createMetricsRegistry({ processMetrics: false }),
    metricsSources: createMetricsSources(),
    bus: options.bus ?? createInProcessBus({ logger: silentLogger }),
    store: createMemoryKeyValueStore({ maxEntries: 10_000 }),
    readiness: { register: (name, probe) => void probes.set(name, probe) },
    requireDatabase: () => {
      throw new Error('no database in this test');
    },
    probes,
    lines,
  };
}

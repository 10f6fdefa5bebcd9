import type { EventBus } from '@ghostdns/bus';
import type { GhostConfig } from '@ghostdns/config';
import type { Database } from '@ghostdns/db';
import type { Logger, MetricsRegistry } from '@ghostdns/observability';
import type { KeyValueStore } from './kv/types.js';
import type { MetricsSources } from './metrics-sources.js';

export type RuntimeMode = 'standalone' | 'distributed';
export type ServiceName = 'resolver-edge' | 'ingest-worker' | 'presence-service' | 'records-api' | 'events-gateway';

/** A readiness probe: /readyz is 200 only while every registered probe says true. */
export type ReadinessProbe = () => boolean | Promise<boolean>;

export interface ReadinessRegistry {
  register(name: string, probe: ReadinessProbe): void;
}

/**
 * Everything a service gets from its host process, built once at boot and
 * provided to Nest under the RUNTIME token. Services never construct I/O
 * clients themselves.
 */
export interface ServiceRuntime {
  readonly mode: RuntimeMode;
  readonly config: GhostConfig;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Text appended to /metrics from outside `metrics` (other processes). */
  readonly metricsSources: MetricsSources;
  readonly bus: EventBus;
  readonly readiness: ReadinessRegistry;
  /**
   * Shared key-value store with expiry: Redis when distributed with redis.url
   * (shared by every replica), else in-process memory (not shared). Calls on an
   * unreachable Redis reject at once: treat a failed get as a miss.
   */
  readonly store: KeyValueStore;
  /** The database, or a ConfigError naming DATABASE_URL when none is configured. */
  requireDatabase(): Database;
}

/** Nest injection token for ServiceRuntime. */
export const RUNTIME = Symbol.for('ghostdns.runtime');

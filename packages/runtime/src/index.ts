import 'reflect-metadata';

export { RUNTIME, type ReadinessProbe, type ReadinessRegistry, type RuntimeMode, type ServiceName, type ServiceRuntime } from './types.js';
export { RuntimeError, type RuntimeErrorCode } from './errors.js';
export {
  createReadinessRegistry,
  isReadinessReporter,
  type ProbeFailure,
  type ProbeResult,
  type ReadinessRegistryOptions,
  type ReadinessReport,
  type ReadinessReporter,
} from './readiness.js';
export { READINESS } from './tokens.js';
export { HealthController, type ReadyzBody, type ReplyLike } from './health.controller.js';
export { MetricsController } from './metrics.controller.js';
export { GhostExceptionFilter, toErrorResponse, type ErrorBody, type ErrorResponse } from './exception.filter.js';
export { RuntimeModule } from './runtime.module.js';
export { createHttpApp, listenHttp } from './app.js';
export { assembleRuntime, DEFAULT_MEMORY_STORE_ENTRIES, type RuntimeParts } from './compose.js';
export {
  createMemoryKeyValueStore,
  createRedisKeyValueStore,
  type KeyValueStore,
  type MemoryKeyValueStoreOptions,
  type RedisKeyValueStoreOptions,
} from './kv/index.js';
export { CLOSE_ORDER, installSignalHandlers, Lifecycle, type ClosePhase, type CloseStep, type SignalOptions } from './lifecycle.js';
export { runDistributedService, type RunDistributedServiceOptions, type RunningService } from './distributed.js';
export { startStandalone, type StandaloneHandle, type StartStandaloneOptions } from './standalone.js';
export { createKafkaBusFromConfig, type KafkaBusFromConfigOptions } from './kafka.js';
export { createMetricsSources, type MetricsSources } from './metrics-sources.js';

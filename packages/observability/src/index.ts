export { createLogger, REDACTED_PATHS, type CreateLoggerOptions, type Logger, type LogLevel } from './logger.js';
export {
  counter,
  createMetricsRegistry,
  gauge,
  histogram,
  type CreateMetricsRegistryOptions,
  type HistogramOptions,
  type MetricsRegistry,
} from './metrics.js';
export { createNestLogger } from './nest-logger.js';
export { createBusMetrics, type BusMetricsCounters } from './bus-metrics.js';

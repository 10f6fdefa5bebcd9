import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/** A Prometheus registry (prom-client). Services register their metrics on the one the runtime gives them. */
export type MetricsRegistry = Registry;

export interface CreateMetricsRegistryOptions {
  /** Labels added to every metric (e.g. { node: 'ghostdns-1' }). */
  defaultLabels?: Record<string, string>;
  /** Collect process metrics (CPU, memory, event loop lag, ...). Default true. */
  processMetrics?: boolean;
}

export function createMetricsRegistry(options: CreateMetricsRegistryOptions = {}): MetricsRegistry {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/*
 * Get-or-create: several instances of a service may share one registry (tests,
 * or more than one module on the standalone runtime). The second reuses the
 * metric the first registered instead of registering the name twice (which
 * prom-client refuses). A name taken by a metric of another type still throws.
 * The metric is always registered on `registry` (any `registers` is ignored).
 */

/** The counter named `config.name` on `registry`, registered by the first caller and reused after. */
export function counter<T extends string>(registry: Registry, config: Omit<CounterConfiguration<T>, 'registers'>): Counter<T> {
  const existing = registry.getSingleMetric<T>(config.name);
  return existing instanceof Counter ? existing : new Counter({ ...config, registers: [registry] });
}

/** The gauge named `config.name` on `registry`, registered by the first caller and reused after. */
export function gauge<T extends string>(registry: Registry, config: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T> {
  const existing = registry.getSingleMetric<T>(config.name);
  return existing instanceof Gauge ? existing : new Gauge({ ...config, registers: [registry] });
}

/** Histogram configuration whose buckets may be a readonly (shared, `as const`) list; it is copied. */
export type HistogramOptions<T extends string> = Omit<HistogramConfiguration<T>, 'registers' | 'buckets'> & {
  buckets?: readonly number[];
};

/** The histogram named `config.name` on `registry`, registered by the first caller and reused after. */
export function histogram<T extends string>(registry: Registry, config: HistogramOptions<T>): Histogram<T> {
  const existing = registry.getSingleMetric<T>(config.name);
  if (existing instanceof Histogram) return existing;
  const { buckets, ...rest } = config;
  return new Histogram({ ...rest, ...(buckets ? { buckets: [...buckets] } : {}), registers: [registry] });
}

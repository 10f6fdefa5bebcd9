/**
 * Further Prometheus text appended to /metrics after the runtime registry:
 * metrics that live in other processes (the resolver's cluster workers,
 * aggregated by prom-client's AggregatorRegistry). A source must not expose a
 * metric family the registry also has (duplicate families are invalid text).
 */
export interface MetricsSources {
  add(name: string, source: () => Promise<string>): void;
  /** Every source's text; a failing source is left out and reported through onError. */
  collect(onError: (name: string, err: unknown) => void): Promise<string[]>;
}

export function createMetricsSources(): MetricsSources {
  const sources = new Map<string, () => Promise<string>>();
  return {
    add: (name, source) => void sources.set(name, source),
    collect: async (onError) => {
      const texts = await Promise.all(
        [...sources].map(async ([name, source]) => {
          try {
            return await source();
          } catch (err) {
            onError(name, err);
            return '';
          }
        }),
      );
      return texts.filter((t) => t !== '');
    },
  };
}

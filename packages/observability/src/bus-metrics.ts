import { Counter, Gauge } from 'prom-client';
import type { MetricsRegistry } from './metrics.js';

/**
 * Counters matching @ghostdns/bus's BusMetrics port (structurally; this package
 * does not depend on the bus). The runtime passes the result to the bus.
 */
export interface BusMetricsCounters {
  published(topic: string, count: number): void;
  publishFailed(topic: string): void;
  consumed(topic: string, groupId: string, count: number): void;
  handlerFailed(topic: string, groupId: string): void;
  undecodable(topic: string, groupId: string): void;
  deadLettered(topic: string, groupId: string): void;
  consumerLag(topic: string, groupId: string, partition: number, lag: number): void;
}

/** prom-client counters ghostdns_bus_* on the given registry. Call once per registry. */
export function createBusMetrics(registry: MetricsRegistry): BusMetricsCounters {
  const published = new Counter({
    name: 'ghostdns_bus_published_messages_total',
    help: 'Messages published to the bus',
    labelNames: ['topic'],
    registers: [registry],
  });
  const publishFailed = new Counter({
    name: 'ghostdns_bus_publish_failures_total',
    help: 'Failed publish calls',
    labelNames: ['topic'],
    registers: [registry],
  });
  const consumed = new Counter({
    name: 'ghostdns_bus_consumed_messages_total',
    help: 'Messages handed to subscribers',
    labelNames: ['topic', 'group'],
    registers: [registry],
  });
  const handlerFailed = new Counter({
    name: 'ghostdns_bus_handler_failures_total',
    help: 'Batches whose handler rejected (redelivered)',
    labelNames: ['topic', 'group'],
    registers: [registry],
  });
  const undecodable = new Counter({
    name: 'ghostdns_bus_undecodable_messages_total',
    help: 'Messages that could not be decoded',
    labelNames: ['topic', 'group'],
    registers: [registry],
  });
  const deadLettered = new Counter({
    name: 'ghostdns_bus_dead_lettered_messages_total',
    help: 'Messages sent to a dead-letter topic',
    labelNames: ['topic', 'group'],
    registers: [registry],
  });
  const consumerLag = new Gauge({
    name: 'ghostdns_bus_consumer_lag_messages',
    help: 'Messages of a partition not yet consumed by the group, as of its last committed batch',
    labelNames: ['topic', 'group', 'partition'],
    registers: [registry],
  });
  return {
    consumerLag: (topic, group, partition, lag) => consumerLag.set({ topic, group, partition: String(partition) }, lag),
    published: (topic, count) => published.inc({ topic }, count),
    publishFailed: (topic) => publishFailed.inc({ topic }),
    consumed: (topic, group, count) => consumed.inc({ topic, group }, count),
    handlerFailed: (topic, group) => handlerFailed.inc({ topic, group }),
    undecodable: (topic, group) => undecodable.inc({ topic, group }),
    deadLettered: (topic, group) => deadLettered.inc({ topic, group }),
  };
}

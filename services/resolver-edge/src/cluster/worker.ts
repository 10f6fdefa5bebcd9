// Entry point of one resolver worker (dns.workers > 1, forked by primary.ts).
// It builds its bus as runDistributedService does (createKafkaBusFromConfig),
// plus the shared Redis store when the cache is shared, and runs a whole
// ResolverEdge. Its UDP bind goes through the primary, which shares one socket
// among all workers. Its Prometheus registry is served, summed over workers, by the primary.
import 'reflect-metadata';
import path from 'node:path';
import { AggregatorRegistry } from 'prom-client';
import type { EventBus } from '@ghostdns/bus';
import { parseConfig, type GhostConfig, type GhostConfigInput } from '@ghostdns/config';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { createKafkaBusFromConfig, createRedisKeyValueStore, type KeyValueStore } from '@ghostdns/runtime';
import { createPrometheusResolverMetrics } from '../prometheus-metrics.js';
import { ResolverEdge } from '../resolver-edge.js';
import { WORKER_CONFIG_ENV, WORKER_INDEX_ENV, type WorkerMessage } from './primary.js';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

type ConfigJson = GhostConfigInput & { dns?: Record<string, unknown>; dot?: Record<string, unknown>; doh?: Record<string, unknown> };

/**
 * The stream listeners (TCP, DoT, DoH) bind with exclusive: true, which in a
 * cluster worker means a socket of its own rather than the primary's shared
 * one: only worker 1 runs them, every worker shares the UDP socket.
 */
function streamListenersOnlyInFirst(input: ConfigJson, index: number): GhostConfigInput {
  if (index <= 1) return input;
  const out: ConfigJson = { ...input, dns: { ...input.dns, tcp: false } };
  if (input.dot) {
    out.dot = { ...input.dot };
    delete out.dot.listen;
  }
  if (input.doh) {
    out.doh = { ...input.doh };
    delete out.doh.listen;
  }
  return out;
}

async function main(): Promise<void> {
  const raw = process.env[WORKER_CONFIG_ENV];
  if (raw === undefined) throw new Error(`${WORKER_CONFIG_ENV} is not set: this entry point is started by the resolver's primary`);
  const index = Number(process.env[WORKER_INDEX_ENV] ?? '0');
  const config: GhostConfig = parseConfig(streamListenersOnlyInFirst(JSON.parse(raw) as ConfigJson, index), 'resolver primary');
  const logger = createLogger({ level: config.log.level, name: `resolver-edge-w${index}` });
  // No worker label and no process metrics: the primary serves the workers' figures summed
  // (prom-client's AggregatorRegistry) next to its own process metrics.
  const metrics = createMetricsRegistry({ defaultLabels: { service: 'resolver-edge', node: config.node.id }, processMetrics: false });
  // Its constructor installs this worker's reply to the primary's metric requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics]);

  const bus: EventBus = await createKafkaBusFromConfig(config, { clientIdSuffix: `resolver-edge-w${index}`, logger, metrics });
  await bus.connect();
  const store: KeyValueStore | null = config.cache.shared && config.redis.url !== undefined
    ? createRedisKeyValueStore({ url: config.redis.url, logger: logger.child({ component: 'redis' }) })
    : null;

  const edge = new ResolverEdge({
    config,
    publisher: bus,
    bus,
    metrics: createPrometheusResolverMetrics(metrics),
    logger: logger.child({ component: 'resolver-edge' }),
    // One spool per worker: segments are append-only files owned by one writer.
    spoolDir: `${config.spool.dir ?? path.join(config.data.dir, 'spool')}-worker-${index}`,
    eventThread: { clientIdSuffix: `resolver-edge-w${index}-events` },
    ...(store ? { store } : {}),
  });
  const addresses = await edge.start();
  send({ type: 'ghostdns-resolver-listening', udp: addresses.udp, tcp: addresses.tcp });

  let stopping = false;
  const stop = async (drainTimeoutMs: number, flushTimeoutMs: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await edge.stop({ drainTimeoutMs, flushTimeoutMs });
    await bus.close();
    await store?.close();
    process.exit(0);
  };
  process.on('message', (msg: unknown) => {
    const m = msg as Partial<WorkerMessage> | null;
    if (m?.type === 'ghostdns-resolver-stop' && 'drainTimeoutMs' in m && 'flushTimeoutMs' in m) {
      void stop(m.drainTimeoutMs ?? 5_000, m.flushTimeoutMs ?? 5_000);
    } else if (m?.type === 'ghostdns-resolver-reload') {
      edge.reload().catch((err: unknown) => logger.error({ err }, 'reload failed'));
    }
  });
  // SIGTERM/SIGINT reach the whole process group: the primary decides when workers stop.
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  // The primary is gone: stop on our own.
  process.on('disconnect', () => void stop(5_000, 5_000));
}

main().catch((err: unknown) => {
  send({ type: 'ghostdns-resolver-failed', message: err instanceof Error ? err.message : String(err) });
  process.stderr.write(`resolver worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

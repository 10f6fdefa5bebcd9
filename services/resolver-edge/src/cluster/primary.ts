// dns.workers > 1: node:cluster workers, each a whole resolver (UDP fast path,
// full pipeline, TCP, its own event producer publishing to Kafka). Node 20's
// dgram has no SO_REUSEPORT, but a UDP socket bound in a cluster worker is a
// handle the primary creates once and shares, so every worker reads the same
// socket and the kernel hands each datagram to one of them. TCP/DoT/DoH run in
// worker 1 only (their listeners bind exclusively; see worker.ts).
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry } from 'prom-client';
import type { GhostConfig } from '@ghostdns/config';
import type { SocketAddress } from '../dns/address.js';
import { ResolverEdgeError } from '../errors.js';
import { silentLogger, type EdgeLogger } from '../metrics.js';

/** The primary → worker environment variable carrying the parsed configuration (JSON). */
export const WORKER_CONFIG_ENV = 'GHOSTDNS_RESOLVER_WORKER_CONFIG';
export const WORKER_INDEX_ENV = 'GHOSTDNS_RESOLVER_WORKER_INDEX';

/** Messages between the primary and its workers (IPC). */
export type WorkerMessage =
  | { type: 'ghostdns-resolver-listening'; udp: SocketAddress; tcp: SocketAddress | null }
  | { type: 'ghostdns-resolver-failed'; message: string }
  | { type: 'ghostdns-resolver-stop'; drainTimeoutMs: number; flushTimeoutMs: number }
  | { type: 'ghostdns-resolver-reload' };

function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type.startsWith('ghostdns-resolver-');
}

export interface WorkerPoolOptions {
  config: GhostConfig;
  workers: number;
  logger?: EdgeLogger;
  /** The worker entry point; default ./worker.ts next to this file. */
  exec?: string;
  /** Bound on waiting for every worker to listen. */
  startTimeoutMs?: number;
}

export interface WorkerPool {
  readonly addresses: { udp: SocketAddress; tcp: SocketAddress | null };
  readonly listening: boolean;
  /** Prometheus text of every worker's registry, summed across workers (prom-client's AggregatorRegistry). */
  metrics(): Promise<string>;
  /** SIGHUP: every worker reloads its pipeline. */
  reload(): void;
  /** Asks every worker to drain and flush, waits for them to exit (killing what is left after the bounds). */
  stop(drainTimeoutMs: number, flushTimeoutMs: number): Promise<void>;
}

/** True when this process should fork resolver workers instead of listening itself. */
export function shouldRunWorkers(config: GhostConfig): boolean {
  return config.dns.workers > 1 && cluster.isPrimary;
}

/**
 * Forks `workers` resolver processes and resolves once all of them listen.
 * A worker that dies afterwards is replaced (the socket stays open in the
 * primary, so the others keep answering meanwhile).
 */
export async function startWorkerPool(options: WorkerPoolOptions): Promise<WorkerPool> {
  const logger = options.logger ?? silentLogger;
  const { config } = options;
  if (config.kafka.brokers.length === 0) {
    // Workers publish their events themselves; an in-process bus cannot be shared across processes.
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_WORKERS_NEED_KAFKA', 'dns.workers > 1 needs kafka.brokers (each worker publishes its own events)');
  }
  cluster.setupPrimary({
    exec: options.exec ?? fileURLToPath(new URL('./worker.ts', import.meta.url)),
    // The primary's flags (tsx loader, --cpu-prof, ...) apply to the workers too.
    execArgv: process.execArgv,
    silent: false,
  });
  const env = { [WORKER_CONFIG_ENV]: JSON.stringify(config) };
  // Its constructor installs the primary's listener for the workers' metric replies.
  const aggregator = new AggregatorRegistry();
  const workers = new Map<number, Worker>();
  let stopping = false;
  let addresses: { udp: SocketAddress; tcp: SocketAddress | null } | null = null;
  let listeningCount = 0;

  const fork = (index: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const worker = cluster.fork({ ...env, [WORKER_INDEX_ENV]: String(index) });
      workers.set(index, worker);
      let up = false;
      worker.on('message', (msg: unknown) => {
        if (!isWorkerMessage(msg)) return;
        if (msg.type === 'ghostdns-resolver-listening') {
          up = true;
          listeningCount++;
          addresses ??= { udp: msg.udp, tcp: msg.tcp };
          resolve();
        } else if (msg.type === 'ghostdns-resolver-failed') {
          reject(new ResolverEdgeError('GHOSTDNS_RESOLVER_WORKER_FAILED', `resolver worker ${index} failed to start: ${msg.message}`));
        }
      });
      worker.on('exit', (code, signal) => {
        if (up) listeningCount--;
        if (!up) {
          reject(new ResolverEdgeError('GHOSTDNS_RESOLVER_WORKER_FAILED', `resolver worker ${index} exited (${String(code ?? signal)}) before listening`));
          return;
        }
        if (stopping) return;
        logger.error({ worker: index, code, signal }, 'resolver worker died; starting a new one');
        fork(index).catch((err: unknown) => logger.error({ err, worker: index }, 'could not replace resolver worker'));
      });
    });

  const all = Promise.all(Array.from({ length: options.workers }, (_, i) => fork(i + 1)));
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      all,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ResolverEdgeError('GHOSTDNS_RESOLVER_WORKER_FAILED', `resolver workers not listening after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    stopping = true;
    for (const w of workers.values()) w.process.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  logger.info({ workers: options.workers }, 'resolver workers listening');

  return {
    get addresses() {
      if (addresses === null) throw new ResolverEdgeError('GHOSTDNS_RESOLVER_NOT_STARTED', 'resolver workers not started');
      return addresses;
    },
    get listening() {
      return !stopping && listeningCount === options.workers;
    },
    metrics: () => aggregator.clusterMetrics(),
    reload() {
      const msg: WorkerMessage = { type: 'ghostdns-resolver-reload' };
      for (const w of workers.values()) if (!w.isDead()) w.send(msg);
    },
    async stop(drainTimeoutMs, flushTimeoutMs) {
      stopping = true;
      const exits = [...workers.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const kill = setTimeout(() => w.process.kill('SIGKILL'), drainTimeoutMs + flushTimeoutMs + 2_000);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            const stop: WorkerMessage = { type: 'ghostdns-resolver-stop', drainTimeoutMs, flushTimeoutMs };
            try {
              w.send(stop);
            } catch {
              w.process.kill('SIGTERM');
            }
          }),
      );
      await Promise.all(exits);
    },
  };
}

import { join } from 'node:path';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { shouldRunWorkers } from './cluster/primary.js';
import { DeviceIdentityIndex } from './device-identity.js';
import { noopResolverMetrics, type EdgeLogger } from './metrics.js';
import { createPrometheusResolverMetrics } from './prometheus-metrics.js';
import { ResolverEdge, type ResolverEdgeAddresses } from './resolver-edge.js';
import { ResolverTaps, tapsConfigured } from './taps/resolver-taps.js';

/** Bound on waiting for in-flight queries at shutdown. */
const DRAIN_TIMEOUT_MS = 5_000;
/** Bound on publishing the queued query events at shutdown (what is left goes to the spool). */
const FLUSH_TIMEOUT_MS = 5_000;

/** Something that can be reloaded (ResolverEdge; a stub in tests). */
export interface Reloadable {
  reload(): Promise<void>;
}

/** Where a signal handler is installed; `process` in production. */
export interface SignalSource {
  on(signal: 'SIGHUP', listener: () => void): unknown;
  off(signal: 'SIGHUP', listener: () => void): unknown;
}

/**
 * SIGHUP → target.reload(), as named/unbound do: every pipeline stage re-reads
 * its files and lists while the listeners keep answering with the old ones. A
 * failed reload is logged and the old configuration stays. Signals arriving
 * during a reload are coalesced into one more reload after it. Returns the
 * uninstaller; `settled()` resolves when no reload is running or queued.
 */
export function reloadOnSighup(
  target: Reloadable,
  logger: EdgeLogger,
  signals: SignalSource = process,
): { uninstall(): void; settled(): Promise<void> } {
  let running: Promise<void> | null = null;
  let again = false;
  const runOnce = async (): Promise<void> => {
    do {
      again = false;
      const started = Date.now();
      logger.info({}, 'SIGHUP: reloading configuration');
      try {
        await target.reload();
        logger.info({ ms: Date.now() - started }, 'SIGHUP: reload complete');
      } catch (err) {
        logger.error({ err, code: 'GHOSTDNS_RESOLVER_RELOAD_FAILED' }, 'SIGHUP: reload failed; keeping the previous configuration');
      }
    } while (again);
  };
  const onSighup = (): void => {
    if (running !== null) {
      again = true;
      return;
    }
    running = runOnce().finally(() => {
      running = null;
    });
  };
  signals.on('SIGHUP', onSighup);
  return {
    uninstall: () => {
      signals.off('SIGHUP', onSighup);
    },
    settled: async () => {
      while (running !== null) await running;
    },
  };
}

/**
 * Nest lifecycle around the plain-TypeScript ResolverEdge: listen on
 * bootstrap, reload on SIGHUP, drain on shutdown, readiness 'resolver-edge'
 * while listening. Events spool to spool.dir (default <data.dir>/spool)
 * while the bus is unreachable.
 */
@Injectable()
export class ResolverEdgeService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly edge: ResolverEdge;
  private readonly taps: ResolverTaps | null;
  private readonly logger: EdgeLogger;
  private sighup: { uninstall(): void; settled(): Promise<void> } | null = null;

  constructor(@Inject(RUNTIME) runtime: ServiceRuntime) {
    const { config } = runtime;
    const workers = shouldRunWorkers(config);
    const spoolDir = config.spool.dir ?? join(config.data.dir, 'spool');
    const metrics = workers ? noopResolverMetrics : createPrometheusResolverMetrics(runtime.metrics);
    this.logger = runtime.logger.child({ component: 'resolver-edge' });
    // One per process: the pipeline's presence events feed it, our events and the taps' read it.
    const devices = new DeviceIdentityIndex();
    this.edge = new ResolverEdge({
      config,
      publisher: runtime.bus,
      bus: runtime.bus,
      // A cluster primary answers nothing: the coredns_* families come from its workers
      // (metricsSources below); registering them here too would duplicate them.
      metrics,
      logger: this.logger,
      spoolDir,
      store: runtime.store,
      // On Kafka, events are built and published on a thread of their own with its own
      // producer. The in-process bus (standalone) keeps them here: its consumers live here.
      eventThread: runtime.bus.kind === 'kafka' ? { clientIdSuffix: 'resolver-edge-events' } : null,
      devices,
    });
    runtime.readiness.register('resolver-edge', () => this.edge.listening);
    if (workers) runtime.metricsSources.add('resolver-edge-workers', () => this.edge.workerMetrics());
    this.taps = tapsConfigured(config)
      ? new ResolverTaps({
          config,
          publisher: runtime.bus,
          spoolDir: `${spoolDir}-taps`,
          stateDir: join(config.data.dir, 'taps'),
          registry: runtime.metrics,
          sinkMetrics: metrics,
          devices,
          logger: runtime.logger.child({ component: 'taps' }),
        })
      : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.edge.start();
    await this.taps?.start();
    this.sighup = reloadOnSighup(this.edge, this.logger);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.sighup?.uninstall();
    // A reload in progress finishes before the stages are stopped under it.
    await this.sighup?.settled();
    this.sighup = null;
    await this.edge.stop({ drainTimeoutMs: DRAIN_TIMEOUT_MS, flushTimeoutMs: FLUSH_TIMEOUT_MS });
    await this.taps?.stop(FLUSH_TIMEOUT_MS);
  }

  /** The bound UDP/TCP addresses (the real port when configured with port 0). */
  addresses(): ResolverEdgeAddresses {
    return this.edge.addresses();
  }
}

import {
  applyRetention,
  configureAnalyticsPolicies,
  ensurePartitions,
  refreshRollups,
  type AnalyticsSettings,
  type Database,
} from '@ghostdns/db';
import type { IngestLogger, IngestMetrics, MaintenanceTask } from './ports.js';

export interface AnalyticsMaintainerOptions {
  settings: AnalyticsSettings;
  /** Seconds between rollup refreshes (PostgreSQL). */
  rollupIntervalSeconds: number;
  /** Milliseconds between partition and retention rounds (PostgreSQL). Default one hour. */
  housekeepingIntervalMs?: number;
}

const HOUR_MS = 3_600_000;

/**
 * Keeps the analytics store current next to the consumer. TimescaleDB: applies the configured
 * retention and compression policies once; its background jobs do the rest. PostgreSQL, which
 * has no jobs: folds invalidated hours into the rollups every rollupIntervalSeconds, and every
 * hour creates the daily partitions ahead and drops what is past retention. A failed round is
 * logged, counted and retried on the next one; it never touches the consumer.
 */
export class AnalyticsMaintainer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastHousekeeping = 0;

  constructor(
    private readonly db: Database,
    private readonly options: AnalyticsMaintainerOptions,
    private readonly metrics: IngestMetrics,
    private readonly logger: IngestLogger,
  ) {}

  async start(): Promise<void> {
    await this.attempt('policies', () => configureAnalyticsPolicies(this.db, this.options.settings));
    if (this.db.engine === 'postgres') this.schedule(0);
  }

  /** Stops the loop and waits for a round in flight, so the pool can close after it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One PostgreSQL round: rollups always, partitions and retention when the hour is up. */
  async runOnce(now: number = Date.now()): Promise<void> {
    await this.attempt('rollups', async () => {
      const started = process.hrtime.bigint();
      const hours = await refreshRollups(this.db);
      this.metrics.rollupRefreshed?.(Number(process.hrtime.bigint() - started) / 1e9, hours);
    });
    if (now - this.lastHousekeeping < (this.options.housekeepingIntervalMs ?? HOUR_MS)) return;
    this.lastHousekeeping = now;
    await this.attempt('partitions', async () => {
      await ensurePartitions(this.db);
    });
    await this.attempt('retention', async () => {
      const dropped = await applyRetention(this.db, this.options.settings);
      if (dropped > 0) this.logger.info({ dropped }, 'dropped dns_queries partitions past retention');
    });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runOnce().finally(() => {
        this.running = null;
        this.schedule(this.options.rollupIntervalSeconds * 1000);
      });
    }, delayMs);
    // The consumer keeps the process alive; this loop must not hold it at shutdown.
    this.timer.unref();
  }

  private async attempt(task: MaintenanceTask, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.metrics.maintenanceFailed?.(task);
      this.logger.warn({ task, engine: this.db.engine, err: error }, 'analytics maintenance failed; retrying next round');
    }
  }
}

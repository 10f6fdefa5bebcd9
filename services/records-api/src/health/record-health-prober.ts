// The probe loop: every interval, every probed value of every record, a bounded
// number at a time; the names whose answerable values changed are handed to
// `republish`, which publishes them under the name's lock (RecordsService), so a
// verdict never overtakes a write of the same name.
import type { RecordsStore } from '../records/records.repository.js';
import type { HealthProbe } from './http-probe.js';
import type { ProbeTarget, RecordHealth } from './record-health.js';

/** Probes in flight at once: a slow instance must not stall the others. */
const CONCURRENCY = 16;

export interface HealthProberLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface HealthProberInstruments {
  probe(ok: boolean): void;
  unhealthy(count: number): void;
}

export interface RecordHealthProberOptions {
  readonly store: Pick<RecordsStore, 'all'>;
  readonly health: RecordHealth;
  readonly probe: HealthProbe;
  /** Publishes the current answerable values of these names. */
  readonly republish: (names: readonly string[]) => Promise<void>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly logger: HealthProberLogger;
  readonly instruments: HealthProberInstruments;
}

export class RecordHealthProber {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Names whose verdicts the resolvers have not been sent yet (a failed publish is retried next round). */
  private readonly pending = new Set<string>();

  constructor(private readonly options: RecordHealthProberOptions) {}

  /** One round; resolves when every probe answered and the changed names were republished. Never rejects. */
  async runOnce(): Promise<void> {
    const { store, health, probe, timeoutMs, logger, instruments } = this.options;
    let targets: ProbeTarget[];
    try {
      targets = health.targets(await store.all());
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'health checks skipped: records are unavailable');
      return;
    }
    health.retain(targets);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < targets.length; i = next++) {
        const target = targets[i];
        if (target === undefined) continue;
        const ok = await probe.check(target.url, timeoutMs);
        instruments.probe(ok);
        if (health.observe(target, ok)) {
          this.pending.add(target.name);
          logger.info({ name: target.name, value: target.value, url: target.url, healthy: ok }, ok ? 'value healthy again: answered' : 'value unhealthy: withheld');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, targets.length) }, worker));
    instruments.unhealthy(targets.filter((t) => health.health(t.recordId, t.value) === 'unhealthy').length);
    if (this.pending.size === 0) return;
    const names = [...this.pending];
    try {
      await this.options.republish(names);
      for (const name of names) this.pending.delete(name);
    } catch (err) {
      logger.warn({ names, err: err instanceof Error ? err.message : String(err) }, 'health change not published; retried next round');
    }
  }

  start(): void {
    if (this.timer !== null) return;
    const tick = (): void => {
      this.running = this.runOnce().finally(() => {
        this.running = null;
        if (this.timer !== null) this.timer = setTimeout(tick, this.options.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}

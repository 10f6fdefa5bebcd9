import type { ObservationSink, PresenceSource } from './presence-source.js';

/** pino-compatible subset the poller logs through. */
export interface PollerLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PollerMetrics {
  polled(sourceId: string, outcome: 'ok' | 'error', peers: number): void;
}

export const noopPollerMetrics: PollerMetrics = { polled: () => undefined };

/** How one source's poll went: its peer count, or why it failed (its previous state is kept). */
export type PollRoundResult =
  | { readonly sourceId: string; readonly ok: true; readonly peers: number }
  | { readonly sourceId: string; readonly ok: false; readonly peers: 0; readonly error: unknown };

/**
 * Polls every source each interval. Rounds never overlap: the next one is
 * scheduled when the previous one (polls and sink) has finished. A failing
 * source is logged and counted; it neither stops the loop nor the others.
 */
export class PresencePoller {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<PollRoundResult[]> | null = null;
  private running = false;
  private lastRoundAt: number | null = null;

  constructor(
    private readonly sources: readonly PresenceSource[],
    private readonly sink: ObservationSink,
    private readonly intervalMs: number,
    private readonly logger: PollerLogger,
    private readonly metrics: PollerMetrics = noopPollerMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  /** Epoch ms at which the last round finished, null before the first. */
  get lastRoundFinishedAt(): number | null {
    return this.lastRoundAt;
  }

  /** Starts the loop with an immediate first round. No-op without sources or when already running. */
  start(): void {
    if (this.running || this.sources.length === 0) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight !== null) await this.inFlight;
  }

  /** One round over every source; resolves when the sink has seen every successful poll. */
  async pollOnce(): Promise<PollRoundResult[]> {
    const results = await Promise.all(this.sources.map((source) => this.pollSource(source)));
    this.lastRoundAt = this.now();
    return results;
  }

  private async pollSource(source: PresenceSource): Promise<PollRoundResult> {
    try {
      const peers = await source.poll();
      await this.sink.observe(source.id, peers);
      this.metrics.polled(source.id, 'ok', peers.length);
      return { sourceId: source.id, ok: true, peers: peers.length };
    } catch (err) {
      this.metrics.polled(source.id, 'error', 0);
      this.logger.warn({ source: source.id, err }, 'presence: poll failed; keeping the previous state');
      return { sourceId: source.id, ok: false, peers: 0, error: err };
    }
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      const round = this.pollOnce();
      this.inFlight = round;
      void round.finally(() => {
        this.inFlight = null;
        if (this.running) this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }
}

import type { Logger } from '@ghostdns/observability';
import { errorMessage } from './errors.js';

/** Shutdown phases, closed in this order whatever the order of acquisition. */
export const CLOSE_ORDER = ['readiness', 'http', 'bus', 'store', 'database', 'embedded-postgres', 'other'] as const;
export type ClosePhase = (typeof CLOSE_ORDER)[number];

export interface CloseStep {
  name: string;
  /** Default 'other' (closed last). */
  phase?: ClosePhase;
  close(): Promise<void> | void;
}

/**
 * Closes resources phase by phase: readiness goes 503, the Nest app closes
 * (services stop, HTTP server closes), then the bus, the key-value store, the database and the
 * embedded PostgreSQL; within a phase, reverse order of registration. Every
 * step runs even if one fails; close() runs once, however often it is called.
 */
export class Lifecycle {
  private readonly steps: CloseStep[] = [];
  private closing: Promise<boolean> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Registers a resource; later registrations close first. */
  add(step: CloseStep): void {
    this.steps.push(step);
  }

  /** Resolves true when every step closed cleanly. */
  close(): Promise<boolean> {
    this.closing ??= this.runSteps();
    return this.closing;
  }

  private async runSteps(): Promise<boolean> {
    let clean = true;
    const rank = (step: CloseStep): number => CLOSE_ORDER.indexOf(step.phase ?? 'other');
    const ordered = [...this.steps].reverse().sort((a, b) => rank(a) - rank(b));
    for (const step of ordered) {
      try {
        await step.close();
        this.logger.debug({ step: step.name }, 'closed');
      } catch (error) {
        clean = false;
        this.logger.error({ step: step.name, err: error }, `closing ${step.name} failed: ${errorMessage(error)}`);
      }
    }
    return clean;
  }
}

export interface SignalOptions {
  logger: Logger;
  /** Runs on the first SIGTERM/SIGINT; resolves true when shutdown was clean. */
  shutdown: () => Promise<boolean>;
  /** Longest a shutdown may take before the process is forced out. Default 20 s. */
  timeoutMs?: number;
}

/**
 * SIGTERM/SIGINT: graceful shutdown, then exit 0 (1 if a step failed). A
 * second signal or the timeout forces exit 1. Returns a function that removes
 * the handlers.
 */
export function installSignalHandlers(options: SignalOptions): () => void {
  let firstAt = 0;
  const handler = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (firstAt !== 0) {
      // Under tsx a terminal's Ctrl-C arrives twice (process group + relay): only a later one forces.
      if (now - firstAt < 1_000) return;
      options.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstAt = now;
    options.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs ?? 20_000 }, 'shutdown timed out: exiting');
      process.exit(1);
    }, options.timeoutMs ?? 20_000);
    timer.unref();
    options.shutdown().then(
      (clean) => {
        clearTimeout(timer);
        options.logger.info(clean ? 'stopped' : 'stopped with errors');
        process.exit(clean ? 0 : 1);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

export interface BackoffOptions {
  /** First delay after a failed handler, ms. Default 200. */
  initialMs?: number;
  /** Cap of the exponential delay, ms. Default 30 000. */
  maxMs?: number;
}

export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = Math.max(1, options.initialMs ?? 200);
  const max = Math.max(initial, options.maxMs ?? 30_000);
  const exp = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
  // Full jitter on the upper half keeps many consumers of one failing sink
  // (e.g. the database) from retrying in lockstep.
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/** Resolves after ms, or early (without throwing) when the signal aborts. Leaves no timer behind. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

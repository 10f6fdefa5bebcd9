import { createServer } from 'node:net';
import { TestkitError, describeError } from './errors.js';

export interface WaitForOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Delay between polls (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("3 rows in dns_queries"). */
  description: string;
}

/**
 * Polls `condition` until it returns a truthy value (which is returned) or
 * the deadline passes. A throwing condition counts as "not yet"; its last
 * error is named in the timeout error. Use this instead of sleeps.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, opts: WaitForOptions): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new TestkitError(
        'GHOSTDNS_TESTKIT_TIMEOUT',
        `timed out after ${timeoutMs} ms waiting for ${opts.description}` +
          (lastError === undefined ? '' : ` (last error: ${describeError(lastError)})`),
        { cause: lastError },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (prefer binding port 0 where you can). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

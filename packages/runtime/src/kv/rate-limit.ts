export interface RateLimitedReporterOptions {
  /** At most one report per this many ms; the rest are counted. */
  intervalMs: number;
  /** Called for a report that goes through, with how many were held back since the last one. */
  emit: (error: unknown, context: string, suppressed: number) => void;
  /** Clock in ms (tests). Default Date.now. */
  now?: () => number;
}

/** Lets one error through per interval and counts the others, so a dead backend cannot flood the log. */
export function createRateLimitedReporter(options: RateLimitedReporterOptions): (error: unknown, context: string) => void {
  const now = options.now ?? Date.now;
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error, context) => {
    const at = now();
    if (at - last < options.intervalMs) {
      suppressed++;
      return;
    }
    last = at;
    const held = suppressed;
    suppressed = 0;
    options.emit(error, context, held);
  };
}

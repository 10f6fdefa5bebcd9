// Sliding-window counts in O(1) per event and constant memory, estimated from two fixed buckets
// of the window's width (the current one and the one before), the previous bucket weighted by how
// much of it the sliding window still covers. Exact counting would keep a timestamp per event;
// plain fixed windows would split a burst that straddles a bucket edge in two and miss it.
// Times are in milliseconds and only move forward: estimate() at a time also advances the window
// to it, and an event older than the current bucket counts in the current one.

/** How much of the previous bucket a window ending at `atMs` still covers (1 at the bucket start, 0 at its end). */
function previousWeight(atMs: number, bucket: number, widthMs: number): number {
  const into = (atMs - bucket * widthMs) / widthMs;
  return into <= 0 ? 1 : into >= 1 ? 0 : 1 - into;
}

/** Events in the last `widthMs`. */
export class SlidingCount {
  private bucket = Number.NEGATIVE_INFINITY;
  private current = 0;
  private previous = 0;

  constructor(private readonly widthMs: number) {}

  add(atMs: number): void {
    this.roll(atMs);
    this.current++;
  }

  estimate(atMs: number): number {
    this.roll(atMs);
    return this.previous * previousWeight(atMs, this.bucket, this.widthMs) + this.current;
  }

  private roll(atMs: number): void {
    const bucket = Math.floor(atMs / this.widthMs);
    if (bucket <= this.bucket) return;
    this.previous = bucket === this.bucket + 1 ? this.current : 0;
    this.current = 0;
    this.bucket = bucket;
  }
}

/**
 * Distinct values (name hashes) in the last `widthMs`, each bucket holding at most `cap` of them:
 * a detector fires once its threshold is reached, so more would only cost memory.
 */
export class SlidingDistinct {
  private bucket = Number.NEGATIVE_INFINITY;
  private current = new Set<number>();
  private previous = new Set<number>();
  /** Values of the previous bucket not seen again in the current one (the union's other part). */
  private carried = 0;

  constructor(
    private readonly widthMs: number,
    private readonly cap: number,
  ) {}

  /** True when the value is new to the current bucket (and was kept). */
  add(atMs: number, value: number): boolean {
    this.roll(atMs);
    if (this.current.has(value) || this.current.size >= this.cap) return false;
    this.current.add(value);
    if (this.previous.has(value)) this.carried--;
    return true;
  }

  estimate(atMs: number): number {
    this.roll(atMs);
    return this.carried * previousWeight(atMs, this.bucket, this.widthMs) + this.current.size;
  }

  private roll(atMs: number): void {
    const bucket = Math.floor(atMs / this.widthMs);
    if (bucket <= this.bucket) return;
    // The two sets swap roles instead of being reallocated.
    const emptied = this.previous;
    emptied.clear();
    if (bucket === this.bucket + 1) {
      this.previous = this.current;
      this.carried = this.previous.size;
    } else {
      this.current.clear();
      this.previous = this.current;
      this.carried = 0;
    }
    this.current = emptied;
    this.bucket = bucket;
  }
}

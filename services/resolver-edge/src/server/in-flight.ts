/** Tracks in-flight work so shutdown can wait for it, with a deadline. */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.pending.size;
  }

  track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined).finally(() => {
      this.pending.delete(p);
      if (this.pending.size === 0) {
        const ws = this.waiters;
        this.waiters = [];
        for (const w of ws) w();
      }
    });
    this.pending.add(p);
  }

  /** Resolves true once nothing is pending, false if the deadline passed first. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.pending.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

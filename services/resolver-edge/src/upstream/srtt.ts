// Upstream choice by smoothed round-trip time, in the manner of BIND's ADB and
// Unbound's infra cache: every upstream keeps an SRTT; the fastest is asked
// first, the others follow in SRTT order as failover. SRTTs age towards zero
// while an upstream is not used (BIND ages by ~2 % per second), and a small
// share of queries go to a slower upstream first, so one that recovered from
// an outage is measured again and can win back its place.

export interface SrttOptions {
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
  /** Uniform [0, 1); injectable for tests. */
  random?: () => number;
  /** Share of queries sent first to an upstream other than the fastest. */
  exploreProbability?: number;
  /** Factor an SRTT is multiplied by per second without a new sample. */
  decayPerSecond?: number;
  /** Weight of a new sample (BIND: 0.3). */
  sampleWeight?: number;
  /** Initial SRTTs are drawn from [0, initialSpreadMs) so first choices spread out. */
  initialSpreadMs?: number;
}

interface Entry {
  srttMs: number;
  updatedAt: number;
}

export class SrttSelector {
  private readonly entries: Entry[];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly explore: number;
  private readonly decayPerMs: number;
  private readonly weight: number;

  constructor(count: number, options: SrttOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.explore = options.exploreProbability ?? 0.05;
    this.decayPerMs = Math.pow(options.decayPerSecond ?? 0.98, 1 / 1000);
    this.weight = options.sampleWeight ?? 0.3;
    const spread = options.initialSpreadMs ?? 2;
    const t = this.now();
    this.entries = Array.from({ length: count }, () => ({ srttMs: this.random() * spread, updatedAt: t }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The SRTT as of now, aged since its last sample. */
  srtt(index: number): number {
    const e = this.entries[index];
    if (e === undefined) return Infinity;
    const elapsed = this.now() - e.updatedAt;
    return elapsed > 0 ? e.srttMs * Math.pow(this.decayPerMs, elapsed) : e.srttMs;
  }

  /** Upstream indexes in the order to try them. */
  order(): number[] {
    const n = this.entries.length;
    const idx = Array.from({ length: n }, (_, i) => i);
    if (n <= 1) return idx;
    const srtts = idx.map((i) => this.srtt(i));
    idx.sort((a, b) => (srtts[a] ?? 0) - (srtts[b] ?? 0));
    if (this.random() < this.explore) {
      // Any of the slower ones moves to the front; the rest keep SRTT order.
      const pick = 1 + Math.min(n - 2, Math.floor(this.random() * (n - 1)));
      const [chosen] = idx.splice(pick, 1);
      if (chosen !== undefined) idx.unshift(chosen);
    }
    return idx;
  }

  /** An answer arrived after `rttMs`. */
  sample(index: number, rttMs: number): void {
    const e = this.entries[index];
    if (e === undefined) return;
    const current = this.srtt(index);
    e.srttMs = current * (1 - this.weight) + rttMs * this.weight;
    e.updatedAt = this.now();
  }

  /** No usable answer (timeout, error, REFUSED): counts as a sample of `penaltyMs`. */
  penalize(index: number, penaltyMs: number): void {
    this.sample(index, penaltyMs);
  }
}

// Stale-while-revalidate for the rollup reads behind the dashboard endpoints (stats, top-N,
// audit, device activity): GhostScale and Grafana poll the same windows again and again, and
// at 10 million stored queries one such read costs hundreds of milliseconds of database time.
// A result younger than `freshMs` is served as is; an older one (up to `maxStaleMs`) is served
// while one background read replaces it; beyond that, or for a key never read, the caller waits
// for the read, and concurrent callers share it. So answers lag the rollups by about freshMs,
// and a burst of requests costs one read per key and interval, not one per request.

export interface ResultCacheOptions {
  readonly freshMs: number;
  readonly maxStaleMs: number;
  /** Keys kept (least recently used dropped first): windows and limits are client-chosen. */
  readonly maxEntries: number;
  readonly now?: () => number;
  /** A failed background read keeps the old value; this hears about it. */
  readonly onRefreshError?: (key: string, error: unknown) => void;
}

interface Entry {
  value: unknown;
  at: number;
  refreshing: boolean;
}

export class ResultCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly now: () => number;

  constructor(private readonly options: ResultCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The value of `key`: cached, or read by `read` (whose rejection reaches the caller only when nothing servable is cached). */
  async get<T>(key: string, read: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    const now = this.now();
    if (entry !== undefined && now - entry.at <= this.options.maxStaleMs) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      if (now - entry.at > this.options.freshMs && !entry.refreshing) {
        entry.refreshing = true;
        this.load(key, read).then(
          () => undefined,
          (error: unknown) => {
            entry.refreshing = false;
            this.options.onRefreshError?.(key, error);
          },
        );
      }
      return entry.value as T;
    }
    return (await this.load(key, read)) as T;
  }

  private load(key: string, read: () => Promise<unknown>): Promise<unknown> {
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending;
    const started = this.now();
    const loading = read()
      .then((value) => {
        this.entries.delete(key);
        this.entries.set(key, { value, at: started, refreshing: false });
        while (this.entries.size > this.options.maxEntries) {
          const oldest = this.entries.keys().next().value;
          if (oldest === undefined) break;
          this.entries.delete(oldest);
        }
        return value;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, loading);
    return loading;
  }
}

import type { ResultCache } from '../cache/result-cache.js';
import { ApiError } from '../errors.js';
import type { QueryStatsRow } from './stats.repository.js';
import { parseStatsWindow, type StatsWindow } from './window.js';

/**
 * GET /api/v1/stats. GhostScale reads these field names verbatim
 * (seed: ghostdns-ghostscale-integration.md) — never rename them.
 */
export interface StatsResponse {
  queries_total: number;
  tailscale_queries: number;
  /** cached / total in 0..1; 0 when the window holds no query. */
  cache_hit_rate: number;
  blocked_queries: number;
  /** Mean answer latency in milliseconds; 0 when no query in the window has one. */
  average_latency: number;
  window: { from: string; to: string };
}

export interface StatsSource {
  queryStats(window: StatsWindow): Promise<QueryStatsRow>;
}

export type Clock = () => Date;

export class StatsService {
  constructor(
    private readonly source: StatsSource,
    private readonly clock: Clock = () => new Date(),
    /** Rolling windows ("the last N minutes") through it: dashboards poll them; null reads every time. */
    private readonly cache: ResultCache | null = null,
  ) {}

  /** Validates the query string, then aggregates. Throws ApiError only. */
  async getStats(query: Record<string, unknown>): Promise<StatsResponse> {
    const requested = parseStatsWindow(query, this.clock());
    const read = async (): Promise<{ window: StatsWindow; row: QueryStatsRow }> => {
      // A rolling window ends when the read runs, not when the request that started it came in.
      const window = query['from'] === undefined ? parseStatsWindow(query, this.clock()) : requested;
      return { window, row: await this.source.queryStats(window) };
    };
    const key = query['from'] === undefined ? `stats|last|${requested.to.getTime() - requested.from.getTime()}` : null;
    let window: StatsWindow;
    let row: QueryStatsRow;
    try {
      ({ window, row } = this.cache === null || key === null ? await read() : await this.cache.get(key, read));
    } catch (error) {
      throw new ApiError('GHOSTDNS_API_STATS_UNAVAILABLE', 503, 'query statistics are unavailable', { cause: error });
    }
    return {
      queries_total: row.total,
      tailscale_queries: row.tailscale,
      cache_hit_rate: row.total === 0 ? 0 : row.cached / row.total,
      blocked_queries: row.blocked,
      average_latency: row.avgLatencyUs === null ? 0 : Math.round(row.avgLatencyUs) / 1000,
      window: { from: window.from.toISOString(), to: window.to.toISOString() },
    };
  }
}

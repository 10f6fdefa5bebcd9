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
  ) {}

  /** Validates the query string, then aggregates. Throws ApiError only. */
  async getStats(query: Record<string, unknown>): Promise<StatsResponse> {
    const window = parseStatsWindow(query, this.clock());
    let row: QueryStatsRow;
    try {
      row = await this.source.queryStats(window);
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

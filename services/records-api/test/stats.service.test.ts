import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors.js';
import type { QueryStatsRow } from '../src/stats/stats.repository.js';
import { StatsService, type StatsSource } from '../src/stats/stats.service.js';
import type { StatsWindow } from '../src/stats/window.js';

const NOW = new Date('2024-05-01T12:00:00.000Z');

class StubSource implements StatsSource {
  readonly windows: StatsWindow[] = [];
  constructor(private readonly result: QueryStatsRow | Error) {}
  async queryStats(window: StatsWindow): Promise<QueryStatsRow> {
    this.windows.push(window);
    if (this.result instanceof Error) throw this.result;
    return this.result;
  }
}

describe('StatsService', () => {
  it('returns exactly the GhostScale fields plus the window', async () => {
    const source = new StubSource({ total: 8, tailscale: 3, cached: 2, blocked: 1, avgLatencyUs: 1_234.5678 });
    const stats = await new StatsService(source, () => NOW).getStats({ minutes: '60' });
    expect(stats).toStrictEqual({
      queries_total: 8,
      tailscale_queries: 3,
      cache_hit_rate: 0.25,
      blocked_queries: 1,
      average_latency: 1.235,
      window: { from: '2024-05-01T11:00:00.000Z', to: '2024-05-01T12:00:00.000Z' },
    });
    expect(source.windows).toEqual([{ from: new Date('2024-05-01T11:00:00.000Z'), to: NOW }]);
  });

  it('reports zeros for an empty window', async () => {
    const source = new StubSource({ total: 0, tailscale: 0, cached: 0, blocked: 0, avgLatencyUs: null });
    const stats = await new StatsService(source, () => NOW).getStats({});
    expect(stats).toMatchObject({ queries_total: 0, cache_hit_rate: 0, average_latency: 0 });
  });

  it('reports 0 latency when no row in the window has one', async () => {
    const source = new StubSource({ total: 4, tailscale: 0, cached: 4, blocked: 0, avgLatencyUs: null });
    const stats = await new StatsService(source, () => NOW).getStats({});
    expect(stats.average_latency).toBe(0);
    expect(stats.cache_hit_rate).toBe(1);
  });

  it('rejects bad parameters before touching the repository', async () => {
    const source = new StubSource({ total: 0, tailscale: 0, cached: 0, blocked: 0, avgLatencyUs: null });
    await expect(new StatsService(source, () => NOW).getStats({ minutes: 'x' })).rejects.toMatchObject({
      status: 400,
      code: 'GHOSTDNS_API_INVALID_PARAMETER',
    });
    expect(source.windows).toHaveLength(0);
  });

  it('turns a repository failure into a 503 without leaking the cause', async () => {
    const source = new StubSource(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2'));
    const error = await new StatsService(source, () => NOW).getStats({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 503, code: 'GHOSTDNS_API_STATS_UNAVAILABLE', message: 'query statistics are unavailable' });
  });
});

describe('StatsService with a result cache', () => {
  it('reads a rolling window once per freshness interval; an explicit window bypasses the cache', async () => {
    const { ResultCache } = await import('../src/cache/result-cache.js');
    let now = NOW.getTime();
    const source = new StubSource({ total: 8, tailscale: 3, cached: 2, blocked: 1, avgLatencyUs: null });
    const cache = new ResultCache({ freshMs: 5000, maxStaleMs: 60_000, maxEntries: 8, now: () => now });
    const service = new StatsService(source, () => new Date(now), cache);
    await service.getStats({ minutes: '60' });
    now += 1000;
    const second = await service.getStats({ minutes: '60' });
    // The cached answer says which window it counted.
    expect(second.window).toEqual({ from: '2024-05-01T11:00:00.000Z', to: '2024-05-01T12:00:00.000Z' });
    await service.getStats({ minutes: '30' });
    await service.getStats({ from: '2024-05-01T00:00:00Z', to: '2024-05-01T06:00:00Z' });
    await service.getStats({ from: '2024-05-01T00:00:00Z', to: '2024-05-01T06:00:00Z' });
    expect(source.windows.map((w) => w.to.getTime() - w.from.getTime())).toEqual([3_600_000, 1_800_000, 21_600_000, 21_600_000]);
  });
});

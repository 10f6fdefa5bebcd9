// Unit: the stale-while-revalidate cache of the dashboard reads, on a hand-driven clock.
import { describe, expect, it } from 'vitest';
import { ResultCache } from '../src/cache/result-cache.js';

function setup(maxEntries = 10) {
  let now = 0;
  const errors: string[] = [];
  const cache = new ResultCache({ freshMs: 1000, maxStaleMs: 10_000, maxEntries, now: () => now, onRefreshError: (key) => void errors.push(key) });
  let reads = 0;
  let fail = false;
  const read = async (): Promise<number> => {
    reads++;
    if (fail) throw new Error('db down');
    return reads;
  };
  return {
    cache, errors, read,
    advance: (ms: number) => void (now += ms),
    reads: () => reads,
    failReads: (value: boolean) => void (fail = value),
  };
}

/** Lets a background read settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ResultCache', () => {
  it('serves a fresh value without reading again', async () => {
    const t = setup();
    expect(await t.cache.get('k', t.read)).toBe(1);
    t.advance(999);
    expect(await t.cache.get('k', t.read)).toBe(1);
    expect(t.reads()).toBe(1);
  });

  it('serves a stale value at once and replaces it with one background read', async () => {
    const t = setup();
    await t.cache.get('k', t.read);
    t.advance(1500);
    expect(await Promise.all([t.cache.get('k', t.read), t.cache.get('k', t.read)])).toEqual([1, 1]);
    await settle();
    expect(t.reads()).toBe(2);
    expect(await t.cache.get('k', t.read)).toBe(2);
  });

  it('reads while the caller waits beyond maxStale, and shares one read between concurrent callers', async () => {
    const t = setup();
    await t.cache.get('k', t.read);
    t.advance(10_001);
    expect(await Promise.all([t.cache.get('k', t.read), t.cache.get('k', t.read)])).toEqual([2, 2]);
    expect(t.reads()).toBe(2);
  });

  it('keeps the old value when a background read fails, and reports it', async () => {
    const t = setup();
    await t.cache.get('k', t.read);
    t.advance(1500);
    t.failReads(true);
    expect(await t.cache.get('k', t.read)).toBe(1);
    await settle();
    expect(t.errors).toEqual(['k']);
    t.failReads(false);
    expect(await t.cache.get('k', t.read)).toBe(1);
    await settle();
    expect(await t.cache.get('k', t.read)).toBe(3);
  });

  it('rejects a caller with nothing servable when the read fails, and caches nothing', async () => {
    const t = setup();
    t.failReads(true);
    await expect(t.cache.get('k', t.read)).rejects.toThrow('db down');
    t.failReads(false);
    expect(await t.cache.get('k', t.read)).toBe(2);
  });

  it('drops the least recently used key beyond maxEntries', async () => {
    const t = setup(2);
    await t.cache.get('a', t.read);
    await t.cache.get('b', t.read);
    await t.cache.get('a', t.read);
    await t.cache.get('c', t.read);
    expect(t.reads()).toBe(3);
    await t.cache.get('a', t.read);
    expect(t.reads()).toBe(3);
    await t.cache.get('b', t.read);
    expect(t.reads()).toBe(4);
  });
});

describe('CachedAnalyticsSource', () => {
  it('keys a rolling window by the hour it ends in: one read per hour, a new one when the hour turns', async () => {
    const { CachedAnalyticsSource } = await import('../src/analytics/cached-analytics-source.js');
    let reads = 0;
    const source = {
      topDomains: async () => [{ domain: `read-${++reads}` }],
    } as unknown as ConstructorParameters<typeof CachedAnalyticsSource>[0];
    let now = Date.parse('2024-05-01T12:10:00Z');
    const cached = new CachedAnalyticsSource(source, new ResultCache({ freshMs: 3_600_000, maxStaleMs: 3_600_000, maxEntries: 8, now: () => now }));
    const window = (to: number) => ({ from: new Date(Date.parse('2024-04-30T12:00:00Z')), to: new Date(to) });
    await cached.topDomains(window(now), 10);
    now = Date.parse('2024-05-01T12:59:59Z');
    await cached.topDomains(window(now), 10);
    expect(reads).toBe(1);
    await cached.topDomains(window(Date.parse('2024-05-01T13:00:01Z')), 10);
    expect(reads).toBe(2);
  });
});

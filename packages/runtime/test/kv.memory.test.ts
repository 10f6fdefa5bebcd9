import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../src/errors.js';
import { createMemoryKeyValueStore } from '../src/kv/memory.js';
import { createRateLimitedReporter } from '../src/kv/rate-limit.js';
import { reconnectDelay } from '../src/kv/redis.js';
import { describeKeyValueStoreContract } from './kv-contract.js';

describeKeyValueStoreContract('memory', async () => createMemoryKeyValueStore({ maxEntries: 1000 }));

describe('createMemoryKeyValueStore', () => {
  it('evicts the oldest insertion beyond maxEntries', async () => {
    const store = createMemoryKeyValueStore({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) await store.set(key, Buffer.from(key), 60_000);
    await store.set('a', Buffer.from('A'), 60_000); // re-inserted: now the newest
    await store.set('d', Buffer.from('d'), 60_000); // evicts b
    await store.set('e', Buffer.from('e'), 60_000); // evicts c
    const values = await store.getMany(['a', 'b', 'c', 'd', 'e']);
    expect(values.map((v) => v?.toString() ?? null)).toEqual(['A', null, null, 'd', 'e']);
    await store.close();
  });

  it('expires on read by its clock, without timers', async () => {
    let now = 1_000;
    const store = createMemoryKeyValueStore({ maxEntries: 10, now: () => now });
    await store.set('k', Buffer.from('v'), 100);
    now = 1_099;
    expect((await store.get('k'))?.toString()).toBe('v');
    now = 1_100;
    expect(await store.get('k')).toBeNull();
    await store.close();
  });

  it('refuses a maxEntries that is not a positive integer', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      let thrown: unknown;
      try {
        createMemoryKeyValueStore({ maxEntries });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(RuntimeError);
      expect(thrown).toMatchObject({ code: 'GHOSTDNS_RUNTIME_KV_INVALID_ARGUMENT' });
    }
  });
});

describe('createRateLimitedReporter', () => {
  it('lets one report through per interval and counts the rest', () => {
    let now = 0;
    const emitted: [string, number][] = [];
    const report = createRateLimitedReporter({ intervalMs: 1000, now: () => now, emit: (_e, context, suppressed) => emitted.push([context, suppressed]) });
    report(new Error('x'), 'one');
    report(new Error('x'), 'two');
    now = 999;
    report(new Error('x'), 'three');
    now = 1000;
    report(new Error('x'), 'four');
    report(new Error('x'), 'five');
    now = 5000;
    report(new Error('x'), 'six');
    expect(emitted).toEqual([
      ['one', 0],
      ['four', 2],
      ['six', 1],
    ]);
  });
});

describe('reconnectDelay', () => {
  it('doubles from 100 ms and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50, 10_000].map((n) => reconnectDelay(n, 5000))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });
});

import { waitFor } from '@ghostdns/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuntimeError } from '../src/errors.js';
import type { KeyValueStore } from '../src/kv/types.js';

/** Every byte value, including NUL and bytes that are not valid UTF-8. */
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(RuntimeError);
  await expect(promise).rejects.toMatchObject({ code });
}

/**
 * The behaviour every KeyValueStore owes its callers. `open` builds a fresh,
 * healthy, empty store for each test; the suite closes it.
 */
export function describeKeyValueStoreContract(name: string, open: () => Promise<KeyValueStore>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let store: KeyValueStore;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
    });

    it('is healthy while open', () => {
      expect(store.isHealthy()).toBe(true);
    });

    it('answers null for a key never set', async () => {
      expect(await store.get('absent')).toBeNull();
    });

    it('round-trips binary values byte for byte', async () => {
      await store.set('bytes', ALL_BYTES, 60_000);
      await store.set('empty', Buffer.alloc(0), 60_000);
      const bytes = await store.get('bytes');
      expect(Buffer.isBuffer(bytes)).toBe(true);
      expect(bytes?.equals(ALL_BYTES)).toBe(true);
      expect((await store.get('empty'))?.length).toBe(0);
    });

    it('keeps its own copy of the value', async () => {
      const value = Buffer.from([1, 2, 3]);
      await store.set('copied', value, 60_000);
      value[0] = 9;
      const first = await store.get('copied');
      expect(first).toEqual(Buffer.from([1, 2, 3]));
      if (first !== null) first[1] = 9;
      expect(await store.get('copied')).toEqual(Buffer.from([1, 2, 3]));
    });

    it('overwrites a key', async () => {
      await store.set('k', Buffer.from('one'), 60_000);
      await store.set('k', Buffer.from('two'), 60_000);
      expect((await store.get('k'))?.toString()).toBe('two');
    });

    it('deletes a key, and deleting an absent key is fine', async () => {
      await store.set('gone', Buffer.from('x'), 60_000);
      await store.delete('gone');
      expect(await store.get('gone')).toBeNull();
      await store.delete('never-there');
    });

    it('getMany answers in order with null for misses', async () => {
      await store.set('a', Buffer.from('A'), 60_000);
      await store.set('c', Buffer.from([0, 255]), 60_000);
      const values = await store.getMany(['a', 'b', 'c']);
      expect(values.map((v) => (v === null ? null : [...v]))).toEqual([[65], null, [0, 255]]);
      expect(await store.getMany([])).toEqual([]);
    });

    it('honours the TTL: an expired entry is never returned', async () => {
      await store.set('short', Buffer.from('s'), 40);
      await store.set('long', Buffer.from('l'), 60_000);
      await waitFor(async () => (await store.get('short')) === null, { description: 'the 40 ms entry to expire', timeoutMs: 5000, intervalMs: 10 });
      expect(await store.getMany(['short'])).toEqual([null]);
      expect((await store.get('long'))?.toString()).toBe('l');
    });

    it('rejects a TTL that is not a positive number', async () => {
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await rejectsWithCode(store.set('bad-ttl', Buffer.from('x'), ttl), 'GHOSTDNS_RUNTIME_KV_INVALID_ARGUMENT');
      }
      expect(await store.get('bad-ttl')).toBeNull();
    });

    it('rounds a fractional TTL up instead of refusing it', async () => {
      await store.set('fraction', Buffer.from('f'), 59_999.2);
      expect((await store.get('fraction'))?.toString()).toBe('f');
    });

    it('close is idempotent, then calls reject as closed and it is unhealthy', async () => {
      await Promise.all([store.close(), store.close()]);
      await store.close();
      expect(store.isHealthy()).toBe(false);
      await rejectsWithCode(store.get('k'), 'GHOSTDNS_RUNTIME_KV_CLOSED');
      await rejectsWithCode(store.getMany(['k']), 'GHOSTDNS_RUNTIME_KV_CLOSED');
      await rejectsWithCode(store.set('k', Buffer.from('x'), 1000), 'GHOSTDNS_RUNTIME_KV_CLOSED');
      await rejectsWithCode(store.delete('k'), 'GHOSTDNS_RUNTIME_KV_CLOSED');
    });
  });
}

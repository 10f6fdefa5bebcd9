import { randomUUID } from 'node:crypto';
import { Module } from '@nestjs/common';
import { parseConfig } from '@ghostdns/config';
import { createLogger } from '@ghostdns/observability';
import { requireComponent, waitFor } from '@ghostdns/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runDistributedService } from '../src/distributed.js';
import { isReadinessReporter } from '../src/readiness.js';
import { createRedisKeyValueStore } from '../src/kv/redis.js';
import type { KeyValueStore } from '../src/kv/types.js';
import { describeKeyValueStoreContract, rejectsWithCode } from './kv-contract.js';

const redisUrl = requireComponent('redis');
const silent = createLogger({ level: 'fatal', name: 'kv-int-test' });
const raw = new Redis(redisUrl, { lazyConnect: true });

afterAll(async () => {
  await raw.quit().catch(() => raw.disconnect());
});

async function openRedisStore(keyPrefix = `ghostdns-test:${randomUUID()}:`): Promise<KeyValueStore> {
  const store = createRedisKeyValueStore({ url: redisUrl, logger: silent, keyPrefix });
  await waitFor(() => store.isHealthy(), { description: `Redis at ${redisUrl} to be ready` });
  return store;
}

describeKeyValueStoreContract('redis', () => openRedisStore());

describe('createRedisKeyValueStore against Redis', () => {
  it('stores under the key prefix with a PX expiry', async () => {
    const prefix = `ghostdns-test:${randomUUID()}:`;
    const store = await openRedisStore(prefix);
    try {
      await store.set('answer', Buffer.from([0, 1, 2]), 30_000);
      const pttl = await raw.pttl(`${prefix}answer`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(30_000);
      expect(await raw.getBuffer(`${prefix}answer`)).toEqual(Buffer.from([0, 1, 2]));
      expect(await raw.exists('answer')).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('two stores on one Redis share entries (replicas of one PoP)', async () => {
    const prefix = `ghostdns-test:${randomUUID()}:`;
    const [a, b] = await Promise.all([openRedisStore(prefix), openRedisStore(prefix)]);
    try {
      await a.set('shared', Buffer.from('from-a'), 30_000);
      expect((await b.get('shared'))?.toString()).toBe('from-a');
      await b.delete('shared');
      expect(await a.get('shared')).toBeNull();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

@Module({})
class EmptyModule {}

describe('runDistributedService with REDIS_URL', () => {
  it('gives services a Redis store, reports it on /readyz and closes it on shutdown', async () => {
    const brokers = requireComponent('kafka')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    const running = await runDistributedService({
      name: 'resolver-edge',
      module: EmptyModule,
      config: parseConfig({ kafka: { brokers }, redis: { url: redisUrl }, http: { listen: '127.0.0.1:0' }, log: { level: 'fatal' } }),
      handleSignals: false,
      exitOnFailure: false,
    });
    let closed = false;
    try {
      const { store, readiness } = running.runtime;
      expect(store.kind).toBe('redis');
      expect(isReadinessReporter(readiness) && readiness.names()).toContain('redis');
      await waitFor(
        async () => {
          const response = await fetch(`${running.httpUrl}/readyz`);
          const body = (await response.json()) as { probes: Record<string, { ok: boolean }> };
          return body.probes.redis?.ok === true;
        },
        { description: 'the redis readiness probe to pass' },
      );
      const key = `runtime-test:${randomUUID()}`;
      await store.set(key, Buffer.from('v'), 30_000);
      expect((await store.get(key))?.toString()).toBe('v');
      await store.delete(key);

      await running.close();
      closed = true;
      expect(store.isHealthy()).toBe(false);
      await rejectsWithCode(store.get(key), 'GHOSTDNS_RUNTIME_KV_CLOSED');
    } finally {
      if (!closed) await running.close();
    }
  });

  it('falls back to a memory store without redis.url', async () => {
    const brokers = requireComponent('kafka')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    const running = await runDistributedService({
      name: 'presence-service',
      module: EmptyModule,
      config: parseConfig({ kafka: { brokers }, http: { listen: '127.0.0.1:0' }, log: { level: 'fatal' } }),
      handleSignals: false,
      exitOnFailure: false,
    });
    try {
      expect(running.runtime.store.kind).toBe('memory');
      const { readiness } = running.runtime;
      expect(isReadinessReporter(readiness) && readiness.names()).not.toContain('redis');
    } finally {
      await running.close();
    }
  });
});

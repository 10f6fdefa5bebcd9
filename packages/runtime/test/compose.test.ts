import type { EventBus } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { describe, expect, it } from 'vitest';
import { assembleRuntime, type RuntimeParts } from '../src/compose.js';
import { createMemoryKeyValueStore } from '../src/kv/memory.js';
import type { KeyValueStore } from '../src/kv/types.js';

const bus: EventBus = {
  kind: 'in-process',
  connect: async () => undefined,
  publish: async () => undefined,
  subscribe: async () => ({ close: async () => undefined }),
  isHealthy: () => true,
  close: async () => undefined,
};

function parts(store?: KeyValueStore): RuntimeParts {
  return {
    mode: 'distributed',
    config: parseConfig({}),
    logger: createLogger({ level: 'fatal', name: 'compose-test' }),
    metrics: createMetricsRegistry({ processMetrics: false }),
    bus,
    database: undefined,
    owner: 'resolver-edge',
    ...(store === undefined ? {} : { store }),
  };
}

describe('assembleRuntime store', () => {
  it('defaults to an in-memory store and registers no redis probe', async () => {
    const runtime = assembleRuntime(parts());
    expect(runtime.store.kind).toBe('memory');
    expect(runtime.readiness.names()).toEqual(['bus']);
    await runtime.store.set('k', Buffer.from('v'), 1000);
    expect((await runtime.store.get('k'))?.toString()).toBe('v');
  });

  it('registers readiness probe redis = isHealthy() for a Redis store', async () => {
    let healthy = false;
    const memory = createMemoryKeyValueStore({ maxEntries: 1 });
    const redisLike: KeyValueStore = { ...memory, kind: 'redis', isHealthy: () => healthy };
    const runtime = assembleRuntime(parts(redisLike));
    expect(runtime.store).toBe(redisLike);
    expect((await runtime.readiness.check()).probes.redis).toEqual({ ok: false, failure: 'false' });
    healthy = true;
    expect((await runtime.readiness.check()).probes.redis).toEqual({ ok: true });
  });
});

// Integration: the answer cache through the full ResolverEdge, with Debian's
// dnsmasq as the real upstream on loopback and, for the shared level, the
// harness's Redis.
import { parseConfig, type GhostConfigInput } from '@ghostdns/config';
import type { QueryEvent } from '@ghostdns/contracts';
import { createLogger } from '@ghostdns/observability';
import { createRedisKeyValueStore, type KeyValueStore } from '@ghostdns/runtime';
import { requireComponent, waitFor } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { query, startUpstream, udpQuery } from './int-support.js';
import { rcodeOf, RecordingPublisher } from './support.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startEdge(upstreamPort: number, input: GhostConfigInput, store?: KeyValueStore) {
  const publisher = new RecordingPublisher();
  const config = parseConfig({
    ...input,
    dns: { listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${upstreamPort}`], tcp: false, upstreamTimeoutMs: 200 },
  });
  const edge = new ResolverEdge({ config, publisher, spoolDir: null, queue: { lingerMs: 1 }, ...(store ? { store } : {}) });
  const { udp } = await edge.start();
  cleanups.push(() => edge.stop({ drainTimeoutMs: 1_000, flushTimeoutMs: 1_000 }));
  const events = (): QueryEvent[] => publisher.events;
  return { port: udp.port, events };
}

describe('answer cache against dnsmasq', () => {
  it('answers the second query from the cache with a lower-or-equal TTL (HIT)', async () => {
    const { port: upstreamPort, dnsmasq } = await startUpstream({ 'www.cache.test': '192.0.2.7' });
    cleanups.push(() => dnsmasq.stop());
    const { port, events } = await startEdge(upstreamPort, {});

    const first = dnsPacket.decode(await udpQuery(port, query('www.cache.test', 11)));
    const second = dnsPacket.decode(await udpQuery(port, query('www.cache.test', 12)));
    expect(first.answers?.[0]).toMatchObject({ data: '192.0.2.7' });
    expect(second.id).toBe(12);
    expect(second.answers?.[0]).toMatchObject({ data: '192.0.2.7' });
    // dnsmasq's host records have TTL 0: the default minTtl (60) applies, to the forwarded answer too.
    const ttl = (p: dnsPacket.Packet): number => (p.answers?.[0] as { ttl?: number } | undefined)?.ttl ?? -1;
    expect(ttl(first)).toBe(60);
    expect(ttl(second)).toBeGreaterThan(0);
    expect(ttl(second)).toBeLessThanOrEqual(ttl(first));
    await waitFor(() => events().length === 2, { timeoutMs: 5_000, intervalMs: 10, description: 'two events' });
    expect(events().map((e) => e.cache_status)).toEqual(['MISS', 'HIT']);
  });

  it('serves STALE (TTL 30) once the entry expired and the upstream is gone', async () => {
    const { port: upstreamPort, dnsmasq } = await startUpstream({ 'old.cache.test': '192.0.2.8' }, ['--local-ttl=1']);
    cleanups.push(() => dnsmasq.stop());
    const { port, events } = await startEdge(upstreamPort, { cache: { minTtl: 0, maxTtl: 1, staleTtl: 3_600 } });

    const first = dnsPacket.decode(await udpQuery(port, query('old.cache.test', 21)));
    expect(first.answers?.[0]).toMatchObject({ data: '192.0.2.8', ttl: 1 });
    await dnsmasq.stop();

    let last: Buffer = Buffer.alloc(0);
    let id = 100;
    await waitFor(async () => {
      last = await udpQuery(port, query('old.cache.test', id++));
      return (dnsPacket.decode(last).answers?.[0] as { ttl?: number } | undefined)?.ttl === 30;
    }, { timeoutMs: 10_000, intervalMs: 50, description: 'a stale answer' });
    expect(rcodeOf(last)).toBe('NOERROR');
    expect(dnsPacket.decode(last).answers?.[0]).toMatchObject({ data: '192.0.2.8', ttl: 30 });
    await waitFor(() => events().some((e) => e.cache_status === 'STALE'), { timeoutMs: 5_000, intervalMs: 10, description: 'a STALE event' });
    const statuses = new Set(events().map((e) => e.cache_status));
    expect(statuses.has('MISS')).toBe(true);
  });

  it('shares answers between replicas through Redis (cache.shared)', async () => {
    const redisUrl = requireComponent('redis');
    const logger = createLogger({ level: 'warn', name: 'cache-int' });
    const keyPrefix = `ghostdns-test-${process.pid}-${Date.now()}:`;
    const stores = [0, 1].map(() => createRedisKeyValueStore({ url: redisUrl, logger, keyPrefix }));
    for (const s of stores) cleanups.push(() => s.close());
    await waitFor(() => stores.every((s) => s.isHealthy()), { timeoutMs: 10_000, intervalMs: 20, description: 'redis ready' });

    const { port: upstreamPort, dnsmasq } = await startUpstream({ 'shared.cache.test': '192.0.2.9' });
    cleanups.push(() => dnsmasq.stop());
    const a = await startEdge(upstreamPort, { cache: { shared: true } }, stores[0]);
    const b = await startEdge(upstreamPort, { cache: { shared: true } }, stores[1]);

    expect(dnsPacket.decode(await udpQuery(a.port, query('shared.cache.test', 31))).answers?.[0]).toMatchObject({ data: '192.0.2.9' });
    await dnsmasq.stop(); // replica b can only answer from the shared level now
    // The write-through is not awaited by replica a's answer: poll until b sees it.
    await waitFor(async () => {
      const answer = await udpQuery(b.port, query('shared.cache.test', 32));
      return rcodeOf(answer) === 'NOERROR' && (dnsPacket.decode(answer).answers?.[0] as { data?: unknown } | undefined)?.data === '192.0.2.9';
    }, { timeoutMs: 10_000, intervalMs: 20, description: 'replica b answering from Redis' });
    await waitFor(() => b.events().some((e) => e.cache_status === 'HIT'), { timeoutMs: 5_000, intervalMs: 10, description: 'a HIT on b' });
  });
});

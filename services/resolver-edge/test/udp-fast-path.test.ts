// The UDP server's synchronous cache-hit path, with in-memory sockets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type GhostConfigInput } from '@ghostdns/config';
import dnsPacket from 'dns-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { buildAnswer, buildQuery, FakeUdpNetwork, RecordingMetrics, RecordingPublisher, waitFor } from './support.js';

const UPSTREAM_PORT = 5301;

const lists = mkdtempSync(join(tmpdir(), 'ghostdns-fast-path-'));
afterAll(() => rmSync(lists, { recursive: true, force: true }));

async function startEdge(overrides: GhostConfigInput = {}) {
  const net = new FakeUdpNetwork();
  net.onSend = (d) => {
    if (d.to.port === UPSTREAM_PORT) d.reply(buildAnswer(d.msg));
  };
  const publisher = new RecordingPublisher();
  const metrics = new RecordingMetrics();
  const edge = new ResolverEdge({
    config: parseConfig({ dns: { listen: '127.0.0.1:5353', upstreams: [`127.0.0.1:${UPSTREAM_PORT}`], tcp: false }, ...overrides }),
    publisher,
    metrics,
    socketFactory: net.factory,
    spoolDir: null,
    queue: { lingerMs: 1 },
  });
  await edge.start();
  const server = [...net.sockets][0];
  if (server === undefined) throw new Error('no server socket');
  const toClient = () => net.sent.filter((d) => d.to.port === 40_999);
  const ask = async (msg: Buffer): Promise<Buffer> => {
    const before = toClient().length;
    net.deliverTo(server, msg, { address: '127.0.0.1', port: 40_999 });
    await waitFor(() => toClient().length > before, 2_000, 'an answer');
    return toClient()[before]?.msg ?? Buffer.alloc(0);
  };
  const upstreamQueries = () => net.sent.filter((d) => d.to.port === UPSTREAM_PORT).length;
  return { edge, publisher, metrics, ask, upstreamQueries };
}

describe('DnsUdpServer cache fast path', () => {
  it('answers the second query from the cache and records a HIT event', async () => {
    const { edge, publisher, metrics, ask, upstreamQueries } = await startEdge();
    try {
      const first = await ask(buildQuery('www.example.test', { id: 1 }));
      const second = await ask(buildQuery('WWW.example.test', { id: 2 }));
      expect(upstreamQueries()).toBe(1);
      expect(second.readUInt16BE(0)).toBe(2);
      expect(dnsPacket.decode(second).answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.10' });
      expect(dnsPacket.decode(second).questions?.[0]?.name).toBe('WWW.example.test');
      expect(first.subarray(2).length).toBe(second.subarray(2).length);
      await waitFor(() => publisher.events.length === 2, 2_000, 'two events');
      expect(publisher.events.map((e) => [e.cache_status, e.qname, e.qtype, e.upstream, e.rcode])).toEqual([
        ['MISS', 'www.example.test', 1, `127.0.0.1:${UPSTREAM_PORT}`, 0],
        ['HIT', 'www.example.test', 1, null, 0],
      ]);
      expect(metrics.count('requests|UDP|A')).toBe(2);
      expect(metrics.count('responses|NOERROR')).toBe(2);
      expect([metrics.count('cache_miss'), metrics.count('cache_hit|success')]).toEqual([1, 1]);
    } finally {
      await edge.stop({ drainTimeoutMs: 100, flushTimeoutMs: 1_000 });
    }
  });

  it('leaves a name a policy rule matches to the full path (still a cache HIT there)', async () => {
    const allowlist = join(lists, 'allow.txt');
    writeFileSync(allowlist, 'www.example.test\n');
    const { edge, publisher, metrics, ask, upstreamQueries } = await startEdge({ policy: { allowlists: [allowlist], reloadInterval: 0 } });
    try {
      await ask(buildQuery('www.example.test', { id: 1 }));
      await ask(buildQuery('www.example.test', { id: 2 }));
      expect(upstreamQueries()).toBe(1);
      // The allowlisted name takes the full path; the cache stage there still answers it.
      expect(metrics.count('requests|UDP|A')).toBe(2);
      await waitFor(() => publisher.events.length === 2, 2_000, 'two events');
      expect(publisher.events[1]?.cache_status).toBe('HIT');
    } finally {
      await edge.stop({ drainTimeoutMs: 100, flushTimeoutMs: 1_000 });
    }
  });
});

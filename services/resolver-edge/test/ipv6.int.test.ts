// Integration: resolver-edge listening on IPv6 loopback ([::1]:0), UDP and TCP
// on the same port, clients over IPv6 (dns-packet sockets and `dig -6`), a real
// dnsmasq upstream, and the client's IPv6 address in the events.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createInProcessBus, silentLogger, type EventBus } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { Topics, type QueryEvent } from '@ghostdns/contracts';
import type { ManagedProcess } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { query, startUpstream, tcpQueries, udpQuery, which } from './int-support.js';
import { waitFor } from './support.js';

const execFileAsync = promisify(execFile);

describe('resolver-edge on IPv6 loopback', () => {
  let dnsmasq: ManagedProcess | undefined;
  let edge: ResolverEdge;
  let bus: EventBus;
  let port = 0;
  const events: QueryEvent[] = [];

  beforeAll(async () => {
    which('dig');
    const upstream = await startUpstream({ 'six.example.test': '192.0.2.66' });
    dnsmasq = upstream.dnsmasq;
    bus = createInProcessBus({ logger: silentLogger });
    await bus.connect();
    await bus.subscribe(Topics.queries, async (batch) => void events.push(...batch.values), { groupId: 'ipv6-int', fromBeginning: true });
    edge = new ResolverEdge({
      config: parseConfig({ node: { id: 'edge-v6', pop: 'lab' }, dns: { listen: '[::1]:0', upstreams: [`127.0.0.1:${upstream.port}`], tcp: true } }),
      publisher: bus,
      queue: { lingerMs: 5 },
    });
    const addresses = await edge.start();
    port = addresses.udp.port;
    expect(addresses.udp).toMatchObject({ host: '::1', family: 'IPv6' });
    expect(addresses.tcp?.port).toBe(port);
  });

  afterAll(async () => {
    await edge?.stop({ drainTimeoutMs: 1_000, flushTimeoutMs: 1_000 });
    await bus?.close();
    await dnsmasq?.stop();
  });

  it('answers over UDP and TCP from ::1, and the events carry the IPv6 client', async () => {
    const udp = dnsPacket.decode(await udpQuery(port, query('six.example.test', 0x6001), 5_000, '::1'));
    expect(udp.answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.66' });
    const [tcp] = await tcpQueries(port, [query('six.example.test', 0x6002, 'A')], 5_000, '::1');
    expect(dnsPacket.decode(tcp).answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.66' });
    const { stdout } = await execFileAsync('dig', ['-6', '@::1', '-p', String(port), '+time=2', '+tries=1', '+short', 'six.example.test', 'A']);
    expect(stdout.trim()).toBe('192.0.2.66');

    await waitFor(() => events.length >= 3, 5_000, 'three events');
    expect(events.map((e) => [e.client_ip, e.transport])).toEqual([['::1', 'UDP'], ['::1', 'TCP'], ['::1', 'UDP']]);
  });
});

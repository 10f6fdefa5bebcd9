// Integration: a real upstream (Debian's dnsmasq on loopback), the real
// resolver on port 0, real UDP/TCP clients (dns-packet and dig), and the
// events through the in-process bus.
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { promisify } from 'node:util';
import { createInProcessBus, silentLogger, type EventBus, type Subscription } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { Topics, type QueryEvent } from '@ghostdns/contracts';
import type { ManagedProcess } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { query, startUpstream, tcpQueries, udpQuery, which } from './int-support.js';
import { rcodeOf, RecordingMetrics, waitFor } from './support.js';

const execFileAsync = promisify(execFile);

describe('resolver-edge against dnsmasq', () => {
  let dnsmasq: ManagedProcess | undefined;
  let dnsmasqPort = 0;
  let edge: ResolverEdge;
  let port = 0;
  let bus: EventBus;
  let subscription: Subscription;
  const events: QueryEvent[] = [];
  const metrics = new RecordingMetrics();
  let dig = '';

  beforeAll(async () => {
    dig = which('dig');
    ({ port: dnsmasqPort, dnsmasq } = await startUpstream({ 'a.example.test': '192.0.2.10' }, ['--address=/blocked.test/', '--log-queries']));

    bus = createInProcessBus({ logger: silentLogger });
    await bus.connect();
    subscription = await bus.subscribe(
      Topics.queries,
      async (batch) => {
        events.push(...batch.values);
      },
      { groupId: 'resolver-edge-int', fromBeginning: true },
    );
    edge = new ResolverEdge({
      config: parseConfig({
        node: { id: 'edge-int', pop: 'lab' },
        dns: { listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${dnsmasqPort}`], tcp: true, upstreamTimeoutMs: 2000 },
      }),
      publisher: bus,
      metrics,
      queue: { lingerMs: 5 },
    });
    const addrs = await edge.start();
    port = addrs.udp.port;
    expect(addrs.tcp?.port).toBe(port);
    expect(edge.listening).toBe(true);
  });

  afterAll(async () => {
    await edge?.stop({ drainTimeoutMs: 1000, flushTimeoutMs: 1000 });
    await subscription?.close();
    await bus?.close();
    await dnsmasq?.stop();
  });

  function eventsFor(qname: string): QueryEvent[] {
    return events.filter((e) => e.qname === qname);
  }

  it('answers over UDP from the upstream and emits exactly one event', async () => {
    const wire = await udpQuery(port, query('A.Example.Test', 0x5151));
    const answer = dnsPacket.decode(wire);
    expect(answer.id).toBe(0x5151);
    expect(rcodeOf(wire)).toBe('NOERROR');
    expect(answer.answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.10' });

    await waitFor(() => eventsFor('a.example.test').length >= 1, 5000, 'udp event');
    const [e] = eventsFor('a.example.test');
    expect(eventsFor('a.example.test')).toHaveLength(1);
    expect(e).toMatchObject({
      node_id: 'edge-int', pop: 'lab', source: 'RESOLVER_EDGE', message_type: 'CLIENT_RESPONSE',
      client_ip: '127.0.0.1', transport: 'UDP', qname: 'a.example.test', qtype: 1, qclass: 1, rcode: 0,
      answer_count: 1, cache_status: 'MISS', upstream: `127.0.0.1:${dnsmasqPort}`, policy_action: 'PASS',
      query_wire: null, response_wire: null,
    });
    expect(e?.flags.qr).toBe(true);
    expect(e?.flags.rd).toBe(true);
    expect(e?.response_time_us).toBeGreaterThanOrEqual(e?.query_time_us ?? Infinity);
    expect(e?.upstream_latency_us).toBeGreaterThanOrEqual(0);
    expect(metrics.count(`forward_responses|127.0.0.1:${dnsmasqPort}|NOERROR`)).toBeGreaterThanOrEqual(1);
  });

  it('answers several pipelined queries on one TCP connection', async () => {
    const answers = new Map((await tcpQueries(port, [query('a.example.test', 0x0a01), query('x.blocked.test', 0x0a02)])).map((m) => [m.readUInt16BE(0), m]));
    const a = dnsPacket.decode(answers.get(0x0a01) ?? Buffer.alloc(0));
    expect(a.answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.10' });
    expect(rcodeOf(answers.get(0x0a02) ?? Buffer.alloc(4))).toBe('NXDOMAIN');

    await waitFor(() => eventsFor('x.blocked.test').length >= 1 && events.filter((e) => e.transport === 'TCP').length >= 2, 5000, 'tcp events');
    const tcpEvents = events.filter((e) => e.transport === 'TCP');
    expect(tcpEvents).toHaveLength(2);
    expect(eventsFor('x.blocked.test')[0]).toMatchObject({ rcode: 3, transport: 'TCP', answer_count: 0 });
  });

  it('answers dig over UDP and TCP', async () => {
    const before = events.length;
    const udp = await execFileAsync(dig, ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', '+short', 'a.example.test', 'A']);
    expect(udp.stdout.trim()).toBe('192.0.2.10');
    const tcp = await execFileAsync(dig, ['@127.0.0.1', '-p', String(port), '+tcp', '+tries=1', '+time=3', '+short', 'a.example.test', 'A']);
    expect(tcp.stdout.trim()).toBe('192.0.2.10');
    await waitFor(() => events.length >= before + 2, 5000, 'dig events');
    expect(events.slice(before).map((e) => e.transport).sort()).toEqual(['TCP', 'UDP']);
  });

  it('answers FORMERR to a readable header with a bad question, and drops a short message', async () => {
    const bad = Buffer.concat([query('a.example.test', 0x0bad).subarray(0, 12), Buffer.from([0x40])]);
    const answer = await udpQuery(port, bad);
    expect(answer.readUInt16BE(0)).toBe(0x0bad);
    expect(answer[3] & 0x0f).toBe(1);
    await waitFor(() => events.some((e) => e.rcode === 1), 5000, 'formerr event');
    expect(events.filter((e) => e.rcode === 1)).toHaveLength(1);
    expect(events.find((e) => e.rcode === 1)).toMatchObject({ qname: '', cache_status: 'NONE', upstream: null });

    const countBefore = metrics.count('malformed|short_header');
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => s.send(Buffer.from([1, 2, 3]), port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    s.close();
    await waitFor(() => metrics.count('malformed|short_header') === countBefore + 1, 5000, 'short message counted');
  });
});

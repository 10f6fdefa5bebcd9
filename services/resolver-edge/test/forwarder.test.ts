// UpstreamForwarder with the network stubbed: FakeUdpNetwork for UDP and an
// in-memory Duplex for TCP/TLS. Covers the failover matrix, TC -> TCP, the
// spoofing checks, conditional forwarding and DO/CD pass-through.
import { Duplex } from 'node:stream';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { tlsUpstream, upstream, UpstreamForwarder, type StreamConnector, type Upstream } from '../src/dns/forwarder.js';
import { readQuestion, type DnsQuestion } from '../src/dns/wire.js';
import { frame, TcpFramer } from '../src/server/tcp-framing.js';
import { buildAnswer, buildQuery, FakeUdpNetwork, rcodeOf, RecordingMetrics } from './support.js';

const A = upstream('127.0.0.1', 5301);
const B = upstream('127.0.0.2', 5302);
const C = upstream('127.0.0.3', 5303);

type Behaviour = 'answer' | 'servfail' | 'refused' | 'silent' | 'tc';

function withRcode(answer: Buffer, rcode: number): Buffer {
  const out = Buffer.from(answer);
  out[3] = (out[3] & 0xf0) | rcode;
  return out;
}

function respond(msg: Buffer, b: Behaviour, address: string): Buffer | null {
  switch (b) {
    case 'answer':
      return buildAnswer(msg, address);
    case 'servfail':
      return withRcode(buildAnswer(msg, address), 2);
    case 'refused':
      return withRcode(buildAnswer(msg, address), 5);
    case 'tc': {
      const t = Buffer.from(buildAnswer(msg, address));
      t[2] = t[2] | 0x02;
      return t;
    }
    case 'silent':
      return null;
  }
}

/** In-memory stream upstream: every framed query is answered by `reply` (null: silence). */
class FakeStream extends Duplex {
  private readonly framer = new TcpFramer();
  constructor(private readonly reply: (msg: Buffer) => Buffer | null) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    for (const msg of this.framer.push(chunk)) {
      const r = this.reply(msg);
      if (r !== null) queueMicrotask(() => this.push(frame(r)));
    }
    cb();
  }
}

function setup(udp: Record<string, Behaviour>, stream: Record<string, Behaviour | 'refuse-connection'> = {}, upstreams: Upstream[] = [A, B]) {
  const net = new FakeUdpNetwork();
  net.onSend = (d) => {
    const r = respond(d.msg, udp[d.to.host] ?? 'silent', d.to.host);
    if (r !== null) queueMicrotask(() => d.reply(r));
  };
  const streamsOpened: string[] = [];
  const connector: StreamConnector = (up, protocol) => {
    streamsOpened.push(`${protocol}:${up.host}`);
    const b = stream[`${protocol}:${up.host}`] ?? 'silent';
    if (b === 'refuse-connection') {
      const s = new FakeStream(() => null);
      queueMicrotask(() => s.destroy(new Error('ECONNREFUSED')));
      return s;
    }
    return new FakeStream((msg) => respond(msg, b, `${up.host}`.replace(/^127\.0\.0\./, '198.51.100.')));
  };
  const metrics = new RecordingMetrics();
  const forwarder = new UpstreamForwarder({
    upstreams, timeoutMs: 40, socketFactory: net.factory, streamConnector: connector, metrics,
    srtt: { random: () => 0, exploreProbability: 0 },
  });
  return { net, forwarder, metrics, streamsOpened };
}

function q(query: Buffer): DnsQuestion {
  const question = readQuestion(query);
  if (question === null) throw new Error('bad query');
  return question;
}

function answerAddress(response: Buffer): string | undefined {
  const a = dnsPacket.decode(response).answers?.[0];
  return a && a.type === 'A' ? a.data : undefined;
}

const forwarders: UpstreamForwarder[] = [];
afterEach(async () => {
  for (const f of forwarders.splice(0)) await f.close();
});

describe('failover matrix', () => {
  it.each([
    { name: 'A answers', udp: { '127.0.0.1': 'answer', '127.0.0.2': 'answer' }, from: '127.0.0.1', rcode: 'NOERROR', failover: [] },
    { name: 'A times out -> B', udp: { '127.0.0.1': 'silent', '127.0.0.2': 'answer' }, from: '127.0.0.2', rcode: 'NOERROR', failover: ['timeout'] },
    { name: 'A SERVFAIL -> B', udp: { '127.0.0.1': 'servfail', '127.0.0.2': 'answer' }, from: '127.0.0.2', rcode: 'NOERROR', failover: ['servfail'] },
    { name: 'A REFUSED -> B', udp: { '127.0.0.1': 'refused', '127.0.0.2': 'answer' }, from: '127.0.0.2', rcode: 'NOERROR', failover: ['refused'] },
    { name: 'all SERVFAIL: the last SERVFAIL', udp: { '127.0.0.1': 'servfail', '127.0.0.2': 'servfail' }, from: '127.0.0.2', rcode: 'SERVFAIL', failover: ['servfail'] },
    { name: 'SERVFAIL then timeout: the SERVFAIL', udp: { '127.0.0.1': 'servfail', '127.0.0.2': 'silent' }, from: '127.0.0.1', rcode: 'SERVFAIL', failover: ['servfail'] },
    { name: 'all REFUSED: failed', udp: { '127.0.0.1': 'refused', '127.0.0.2': 'refused' }, from: null, rcode: null, failover: ['refused'] },
    { name: 'all time out: failed', udp: { '127.0.0.1': 'silent', '127.0.0.2': 'silent' }, from: null, rcode: null, failover: ['timeout'] },
  ] as const)('$name', async ({ udp, from, rcode, failover }) => {
    const { forwarder, metrics } = setup(udp);
    forwarders.push(forwarder);
    const query = buildQuery('example.test', { id: 0xbeef });
    const r = await forwarder.forward(query, q(query));
    if (from === null) {
      expect(r).toEqual({ ok: false, reason: 'all_failed' });
    } else {
      if (!r.ok) throw new Error(`failed: ${r.reason}`);
      expect(r.upstream.host).toBe(from);
      expect(rcodeOf(r.response)).toBe(rcode);
      expect(r.response.readUInt16BE(0)).toBe(0xbeef);
    }
    for (const reason of ['timeout', 'servfail', 'refused']) {
      expect(metrics.count(`failover|${reason}`)).toBe((failover as readonly string[]).includes(reason) ? 1 : 0);
    }
  });

  it('TC: asks the same upstream again over TCP', async () => {
    const { forwarder, metrics, streamsOpened } = setup({ '127.0.0.1': 'tc' }, { 'tcp:127.0.0.1': 'answer' });
    forwarders.push(forwarder);
    const query = buildQuery('example.test');
    const r = await forwarder.forward(query, q(query));
    if (!r.ok) throw new Error(r.reason);
    expect(r.upstream).toBe(A);
    expect(answerAddress(r.response)).toBe('198.51.100.1'); // the TCP answer, not the UDP one
    expect(((r.response[2] ?? 0) & 0x02) === 0).toBe(true);
    expect(streamsOpened).toEqual(['tcp:127.0.0.1']);
    expect(metrics.count('failover|truncated')).toBe(1);
  });

  it('TC and TCP refused: fails over to the next upstream', async () => {
    const { forwarder, metrics } = setup({ '127.0.0.1': 'tc', '127.0.0.2': 'answer' }, { 'tcp:127.0.0.1': 'refuse-connection' });
    forwarders.push(forwarder);
    const query = buildQuery('example.test');
    const r = await forwarder.forward(query, q(query));
    if (!r.ok) throw new Error(r.reason);
    expect(r.upstream).toBe(B);
    expect(metrics.count('failover|error')).toBe(1);
  });

  it('DoT upstream: answered over the stream, labelled tls://', async () => {
    const T = tlsUpstream('127.0.0.9', 853, 'dns.test');
    const { forwarder, metrics, streamsOpened } = setup({}, { 'tls:127.0.0.9': 'answer' }, [T]);
    forwarders.push(forwarder);
    const queries = ['a.test', 'b.test', 'c.test'].map((n) => buildQuery(n));
    const rs = await Promise.all(queries.map((m) => forwarder.forward(m, q(m))));
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(streamsOpened).toEqual(['tls:127.0.0.9']); // one kept-open connection, queries pipelined
    expect(metrics.count('forward_requests|tls://127.0.0.9:853')).toBe(3);
  });
});

describe('spoofing defences (RFC 5452)', () => {
  it.each([
    { name: 'wrong ID', spoof: (m: Buffer) => buildAnswer(m, '203.0.113.66', { id: (m.readUInt16BE(0) + 1) & 0xffff }), from: undefined },
    { name: 'wrong question', spoof: (m: Buffer) => buildAnswer(m, '203.0.113.66', { name: 'evil.test' }), from: undefined },
    { name: 'wrong source port', spoof: (m: Buffer) => buildAnswer(m, '203.0.113.66'), from: { address: '127.0.0.1', port: 9999 } },
    { name: 'wrong source address', spoof: (m: Buffer) => buildAnswer(m, '203.0.113.66'), from: { address: '127.0.0.99', port: 5301 } },
    { name: 'not a response', spoof: (m: Buffer) => Buffer.from(m), from: undefined },
  ])('$name: dropped, counted, the genuine answer wins', async ({ spoof, from }) => {
    const net = new FakeUdpNetwork();
    net.onSend = (d) => {
      queueMicrotask(() => {
        d.reply(spoof(d.msg), from);
        d.reply(buildAnswer(d.msg, '192.0.2.1'));
      });
    };
    const metrics = new RecordingMetrics();
    const forwarder = new UpstreamForwarder({ upstreams: [A], timeoutMs: 1000, socketFactory: net.factory, metrics });
    forwarders.push(forwarder);
    const query = buildQuery('example.test');
    const r = await forwarder.forward(query, q(query));
    if (!r.ok) throw new Error(r.reason);
    expect(answerAddress(r.response)).toBe('192.0.2.1');
    expect(metrics.count('spoofed|127.0.0.1:5301')).toBe(1);
  });

  it('uses a fresh ID and a fresh source socket per attempt', async () => {
    const { net, forwarder } = setup({ '127.0.0.1': 'silent', '127.0.0.2': 'answer' });
    forwarders.push(forwarder);
    const query = buildQuery('example.test', { id: 1 });
    await forwarder.forward(query, q(query));
    await forwarder.forward(query, q(query));
    const ids = net.sent.map((d) => d.msg.readUInt16BE(0));
    // The second query goes to B first: A's timeout raised its SRTT.
    expect(net.sent.map((d) => d.to.host)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.2']);
    expect(new Set(ids).size).toBeGreaterThan(1);
    expect(net.sockets.size).toBe(0); // every attempt's socket closed
  });
});

describe('EDNS pass-through', () => {
  it('forwards DO, CD and the OPT byte for byte, only the ID differs', async () => {
    const net = new FakeUdpNetwork();
    net.onSend = (d) => queueMicrotask(() => d.reply(buildAnswer(d.msg)));
    const forwarder = new UpstreamForwarder({ upstreams: [A], timeoutMs: 1000, socketFactory: net.factory });
    forwarders.push(forwarder);
    const query = dnsPacket.encode({
      type: 'query', id: 0x4242, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED,
      questions: [{ type: 'A', name: 'example.test', class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK, options: [] } as unknown as dnsPacket.Answer],
    });
    await forwarder.forward(query, q(query));
    const sent = net.sent[0]?.msg;
    if (sent === undefined) throw new Error('nothing sent');
    expect(sent.subarray(2)).toEqual(query.subarray(2));
    const d = dnsPacket.decode(sent);
    expect(d.flag_cd).toBe(true);
    expect((d.additionals?.[0] as unknown as { flag_do: boolean }).flag_do).toBe(true);
  });
});

describe('conditional forwarding', () => {
  it.each([
    { name: 'under the zone', qname: 'host.tail.example.test', to: '127.0.0.3' },
    { name: 'the zone itself, other case', qname: 'TAIL.example.test', to: '127.0.0.3' },
    { name: 'longer zone wins', qname: 'x.deep.tail.example.test', to: '127.0.0.2' },
    { name: 'outside: default upstreams', qname: 'example.test', to: '127.0.0.1' },
    { name: 'label boundary: nottail.example.test', qname: 'nottail.example.test', to: '127.0.0.1' },
  ])('$name', async ({ qname, to }) => {
    const net = new FakeUdpNetwork();
    net.onSend = (d) => queueMicrotask(() => d.reply(buildAnswer(d.msg)));
    const forwarder = new UpstreamForwarder({
      upstreams: [A], timeoutMs: 1000, socketFactory: net.factory,
      forwardZones: [{ domain: 'tail.example.test', upstreams: [C] }, { domain: 'deep.tail.example.test', upstreams: [B] }],
    });
    forwarders.push(forwarder);
    const query = buildQuery(qname);
    const r = await forwarder.forward(query, q(query));
    if (!r.ok) throw new Error(r.reason);
    expect(r.upstream.host).toBe(to);
    expect(net.sent.map((d) => d.to.host)).toEqual([to]);
  });

  it('no default upstreams and outside every zone: no_upstreams', async () => {
    const forwarder = new UpstreamForwarder({ upstreams: [], timeoutMs: 1000, forwardZones: [{ domain: 'tail.test', upstreams: [C] }] });
    forwarders.push(forwarder);
    const query = buildQuery('example.test');
    expect(forwarder.hasUpstreams).toBe(true);
    expect(await forwarder.forward(query, q(query))).toEqual({ ok: false, reason: 'no_upstreams' });
  });
});

describe('forwarder metrics on Prometheus', () => {
  it('coredns_forward_request_duration_seconds{to} and ghostdns_forward_failover_total{reason}', async () => {
    const { createMetricsRegistry } = await import('@ghostdns/observability');
    const { createPrometheusResolverMetrics } = await import('../src/prometheus-metrics.js');
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = createPrometheusResolverMetrics(registry);
    metrics.forwardDuration('tls://127.0.0.1:853', 0.0004);
    metrics.forwardFailover('timeout');
    const text = await registry.metrics();
    expect(text).toMatch(/^coredns_forward_request_duration_seconds_count\{to="tls:\/\/127.0.0.1:853"\} 1$/m);
    expect(text).toMatch(/^ghostdns_forward_failover_total\{reason="timeout"\} 1$/m);
  });
});

import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { upstream, UpstreamForwarder } from '../src/dns/forwarder.js';
import { QueryHandler, type HandleResult } from '../src/dns/handler.js';
import { ForwardingResolver } from '../src/dns/resolver.js';
import type { ClientInfo } from '../src/dns/resolver.js';
import { buildAnswer, buildQuery, FakeUdpNetwork, rcodeOf, RecordingMetrics, type SentDatagram } from './support.js';

const UP1 = upstream('127.0.0.1', 5301);
const UP2 = upstream('127.0.0.1', 5302);
const CLIENT: ClientInfo = { address: '127.0.0.9', port: 33333, family: 'IPv4', transport: 'UDP' };

type Script = (d: SentDatagram) => void;

interface Case {
  name: string;
  message: () => Buffer;
  /** How the fake upstreams behave, keyed by upstream port. */
  upstreams?: Record<number, Script>;
  noUpstreams?: boolean;
  expect: (r: HandleResult, ctx: { metrics: RecordingMetrics; net: FakeUdpNetwork; query: Buffer }) => void;
}

const answer: Script = (d) => d.reply(buildAnswer(d.msg));
const silent: Script = () => undefined;

function expectAnswer(r: HandleResult): Extract<HandleResult, { kind: 'answer' }>['answer'] {
  if (r.kind !== 'answer') throw new Error(`expected an answer, got drop (${r.reason})`);
  return r.answer;
}

const cases: Case[] = [
  {
    name: 'good query: forwarded with a fresh ID, answered with the client ID patched back',
    message: () => buildQuery('A.Example.TEST', { id: 0xbeef }),
    upstreams: { 5301: answer },
    expect: (r, { net, metrics }) => {
      const a = expectAnswer(r);
      const sentId = net.sent[0]?.msg.readUInt16BE(0);
      expect(sentId).toBeDefined();
      expect(a.response.readUInt16BE(0)).toBe(0xbeef);
      const decoded = dnsPacket.decode(a.response);
      expect(rcodeOf(a.response)).toBe('NOERROR');
      expect(decoded.answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.10' });
      expect(a.upstream).toBe('127.0.0.1:5301');
      expect(a.cacheStatus).toBe('MISS');
      expect(a.policyAction).toBe('PASS');
      expect(metrics.count('forward_responses|127.0.0.1:5301|NOERROR')).toBe(1);
      expect(metrics.count('requests|UDP|A')).toBe(1);
    },
  },
  {
    name: 'answer bytes are relayed untouched apart from the ID',
    message: () => buildQuery('a.example.test', { id: 7 }),
    upstreams: { 5301: answer },
    expect: (r, { net }) => {
      const a = expectAnswer(r);
      const upstreamWire = buildAnswer(net.sent[0]?.msg ?? Buffer.alloc(0));
      expect(a.response.subarray(2)).toEqual(upstreamWire.subarray(2));
    },
  },
  {
    name: 'truncated header: dropped and counted',
    message: () => Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00]),
    upstreams: { 5301: answer },
    expect: (r, { metrics, net }) => {
      expect(r).toEqual({ kind: 'drop', reason: 'short_header' });
      expect(metrics.count('malformed|short_header')).toBe(1);
      expect(net.sent).toHaveLength(0);
    },
  },
  {
    name: 'a response sent to the server: dropped and counted',
    message: () => buildAnswer(buildQuery('a.example.test')),
    expect: (r, { metrics }) => {
      expect(r).toEqual({ kind: 'drop', reason: 'not_a_query' });
      expect(metrics.count('malformed|not_a_query')).toBe(1);
    },
  },
  {
    name: 'readable header but bad question: FORMERR with the client ID, counted',
    message: () => {
      const q = buildQuery('a.example.test', { id: 0x4242 });
      return Buffer.concat([q.subarray(0, 12), Buffer.from([0x40, 0x61])]); // reserved label type, truncated
    },
    upstreams: { 5301: answer },
    expect: (r, { metrics, net }) => {
      const a = expectAnswer(r);
      expect(a.response.readUInt16BE(0)).toBe(0x4242);
      expect(a.response[3] & 0x0f).toBe(1); // FORMERR
      expect(a.response[2] & 0x80).toBe(0x80); // QR
      expect(a.question).toBeNull();
      expect(a.cacheStatus).toBe('NONE');
      expect(metrics.count('malformed|bad_question')).toBe(1);
      expect(net.sent).toHaveLength(0);
    },
  },
  {
    name: 'two questions: FORMERR',
    message: () =>
      dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'a.test' }, { type: 'A', name: 'b.test' }] }),
    expect: (r) => {
      expect(expectAnswer(r).response[3] & 0x0f).toBe(1);
    },
  },
  {
    name: 'non-QUERY opcode: NOTIMP, question echoed',
    message: () => {
      const q = buildQuery('a.example.test', { id: 5 });
      q[2] = (q[2] & 0x87) | (2 << 3); // STATUS
      return q;
    },
    upstreams: { 5301: answer },
    expect: (r, { net }) => {
      const a = expectAnswer(r);
      expect(a.response[3] & 0x0f).toBe(4);
      expect(dnsPacket.decode(a.response).questions?.[0]?.name).toBe('a.example.test');
      expect(net.sent).toHaveLength(0);
    },
  },
  {
    name: 'upstream answer with the wrong ID: dropped and counted, genuine answer accepted',
    message: () => buildQuery('a.example.test'),
    upstreams: {
      5301: (d) => {
        const id = d.msg.readUInt16BE(0);
        d.reply(buildAnswer(d.msg, '203.0.113.66', { id: (id + 1) & 0xffff }));
        d.reply(buildAnswer(d.msg));
      },
    },
    expect: (r, { metrics }) => {
      const a = expectAnswer(r);
      expect(dnsPacket.decode(a.response).answers?.[0]).toMatchObject({ data: '192.0.2.10' });
      expect(metrics.count('spoofed')).toBe(1);
    },
  },
  {
    name: 'upstream answer for another question: dropped and counted',
    message: () => buildQuery('a.example.test'),
    upstreams: {
      5301: (d) => {
        d.reply(buildAnswer(d.msg, '203.0.113.66', { name: 'evil.example.test' }));
        d.reply(buildAnswer(d.msg));
      },
    },
    expect: (r, { metrics }) => {
      expect(dnsPacket.decode(expectAnswer(r).response).answers?.[0]).toMatchObject({ data: '192.0.2.10' });
      expect(metrics.count('spoofed|127.0.0.1:5301')).toBe(1);
    },
  },
  {
    name: 'upstream answer from the wrong address or port: dropped and counted',
    message: () => buildQuery('a.example.test'),
    upstreams: {
      5301: (d) => {
        d.reply(buildAnswer(d.msg, '203.0.113.66'), { address: '127.0.0.2', port: 5301 });
        d.reply(buildAnswer(d.msg, '203.0.113.67'), { address: '127.0.0.1', port: 5399 });
        d.reply(buildAnswer(d.msg));
      },
    },
    expect: (r, { metrics }) => {
      expect(dnsPacket.decode(expectAnswer(r).response).answers?.[0]).toMatchObject({ data: '192.0.2.10' });
      expect(metrics.count('spoofed')).toBe(2);
    },
  },
  {
    name: 'only spoofed answers: times out, fails over, then SERVFAIL',
    message: () => buildQuery('a.example.test', { id: 0x0101 }),
    upstreams: {
      5301: (d) => d.reply(buildAnswer(d.msg, '203.0.113.66', { id: (d.msg.readUInt16BE(0) + 1) & 0xffff })),
      5302: silent,
    },
    expect: (r, { metrics }) => {
      const a = expectAnswer(r);
      expect(a.response.readUInt16BE(0)).toBe(0x0101);
      expect(a.response[3] & 0x0f).toBe(2);
      expect(metrics.count('spoofed')).toBe(1);
    },
  },
  {
    name: 'first upstream times out: fails over to the second',
    message: () => buildQuery('a.example.test'),
    upstreams: { 5301: silent, 5302: answer },
    expect: (r, { metrics, net }) => {
      const a = expectAnswer(r);
      expect(a.upstream).toBe('127.0.0.1:5302');
      expect(net.sent.map((d) => d.to.port)).toEqual([5301, 5302]);
      expect(metrics.count('forward_requests|127.0.0.1:5301')).toBe(1);
      expect(metrics.count('forward_requests|127.0.0.1:5302')).toBe(1);
      // each attempt has its own ID and its own ephemeral socket
      expect(net.sockets.size).toBe(0);
    },
  },
  {
    name: 'all upstreams fail: SERVFAIL, question echoed, client ID kept',
    message: () => buildQuery('a.example.test', { id: 0xcafe }),
    upstreams: { 5301: silent, 5302: silent },
    expect: (r) => {
      const a = expectAnswer(r);
      const decoded = dnsPacket.decode(a.response);
      expect(decoded.id).toBe(0xcafe);
      expect(rcodeOf(a.response)).toBe('SERVFAIL');
      expect(decoded.questions?.[0]?.name).toBe('a.example.test');
      expect(a.upstream).toBeNull();
      expect(a.cacheStatus).toBe('NONE');
    },
  },
  {
    name: 'no upstreams configured: REFUSED',
    message: () => buildQuery('a.example.test', { id: 3 }),
    noUpstreams: true,
    expect: (r, { net }) => {
      const a = expectAnswer(r);
      expect(rcodeOf(a.response)).toBe('REFUSED');
      expect(a.policyAction).toBe('REFUSED');
      expect(net.sent).toHaveLength(0);
    },
  },
];

describe('packet handling', () => {
  it.each(cases)('$name', async (c) => {
    const net = new FakeUdpNetwork();
    const metrics = new RecordingMetrics();
    const scripts = c.upstreams ?? {};
    net.onSend = (d) => (scripts[d.to.port] ?? silent)(d);
    let nextId = 0x1000;
    const forwarder = new UpstreamForwarder({
      upstreams: c.noUpstreams ? [] : [UP1, UP2],
      timeoutMs: 30,
      socketFactory: net.factory,
      randomId: () => nextId++,
      // Configured order, no exploration: the table asserts which upstream is asked first.
      srtt: { random: () => 0.99, initialSpreadMs: 0 },
      metrics,
    });
    const handler = new QueryHandler({ resolver: new ForwardingResolver(forwarder), server: 'dns://test', metrics });
    const query = c.message();
    const before = Buffer.from(query);
    const result = await handler.handle(query, CLIENT);
    expect(query).toEqual(before); // the client's message is never mutated
    c.expect(result, { metrics, net, query });
  });

  it('draws a fresh ID for every upstream attempt', async () => {
    const net = new FakeUdpNetwork();
    const ids = [0x0a0a, 0x0b0b];
    const forwarder = new UpstreamForwarder({
      upstreams: [UP1, UP2],
      timeoutMs: 30,
      socketFactory: net.factory,
      randomId: () => ids.shift() ?? 0,
      srtt: { random: () => 0.99, initialSpreadMs: 0 },
    });
    net.onSend = (d) => (d.to.port === 5302 ? d.reply(buildAnswer(d.msg)) : undefined);
    const handler = new QueryHandler({ resolver: new ForwardingResolver(forwarder), server: 'dns://test' });
    const r = await handler.handle(buildQuery('a.example.test', { id: 0x1234 }), CLIENT);
    expect(net.sent.map((d) => d.msg.readUInt16BE(0))).toEqual([0x0a0a, 0x0b0b]);
    expect(expectAnswer(r).response.readUInt16BE(0)).toBe(0x1234);
  });
});

import type { QueryEvent } from '@ghostdns/contracts';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { upstream, UpstreamForwarder } from '../src/dns/forwarder.js';
import { QueryHandler, type AnsweredQuery } from '../src/dns/handler.js';
import { ForwardingResolver } from '../src/dns/resolver.js';
import { QueryEventProducer } from '../src/events/producer.js';
import { MemoryQueueSink, type QueryEventSink } from '../src/events/sink.js';
import { DnsUdpServer } from '../src/server/udp-server.js';
import { buildAnswer, buildQuery, FakeUdpNetwork, RecordingMetrics, RecordingPublisher, waitFor } from './support.js';

function fakeEvent(n: number): QueryEvent {
  return {
    event_id: `e-${n}`, node_id: 'n', pop: 'p', source: 'RESOLVER_EDGE', message_type: 'CLIENT_RESPONSE',
    query_time_us: n, response_time_us: n, client_ip: '127.0.0.1', client_port: 1, transport: 'UDP',
    qname: `q${n}.test`, qtype: 1, qclass: 1, rcode: 0,
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false },
    answer_count: 0, response_size: 12, cache_status: 'MISS', upstream: null, upstream_latency_us: null,
    policy_action: 'PASS', device: null, query_wire: null, response_wire: null,
  };
}

describe('QueryEventProducer', () => {
  it('builds the event from the sent answer', () => {
    const offered: QueryEvent[] = [];
    const sink: QueryEventSink = { offer: (e) => offered.push(e), depth: 0, close: async () => undefined };
    const producer = new QueryEventProducer({ node: { id: 'edge-7', pop: 'ams' }, sink });
    const query = buildQuery('WWW.Example.TEST.', { id: 77 });
    const response = buildAnswer(query);
    const answer: AnsweredQuery = {
      client: { address: '::1', port: 5555, family: 'IPv6', transport: 'TCP' },
      queryTimeUs: 1_700_000_000_000_000,
      receivedAtNs: 0n,
      question: { name: 'WWW.Example.TEST', type: 1, class: 1, end: query.length },
      response,
      cacheStatus: 'MISS',
      policyAction: 'PASS',
      upstream: '127.0.0.1:53',
      upstreamLatencyUs: 420,
    };
    producer.record(answer, 1_700_000_000_000_900);
    expect(offered).toHaveLength(1);
    const e = offered[0];
    expect(e.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(e).toMatchObject({
      node_id: 'edge-7', pop: 'ams', source: 'RESOLVER_EDGE', message_type: 'CLIENT_RESPONSE',
      query_time_us: 1_700_000_000_000_000, response_time_us: 1_700_000_000_000_900,
      client_ip: '::1', client_port: 5555, transport: 'TCP', qname: 'www.example.test', qtype: 1, qclass: 1,
      rcode: 0, flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false },
      answer_count: 1, response_size: response.length, cache_status: 'MISS', upstream: '127.0.0.1:53',
      upstream_latency_us: 420, policy_action: 'PASS', device: null, query_wire: null, response_wire: null,
    });
  });

  it('emits the event only after the answer was sent, and never waits on the bus', async () => {
    const net = new FakeUdpNetwork();
    const order: string[] = [];
    // A publisher that never settles: answering must not care.
    const publisher = { publish: () => { order.push('publish'); return new Promise<void>(() => undefined); } };
    const sink = new MemoryQueueSink({ publisher, lingerMs: 0 });
    const offered: QueryEvent[] = [];
    const recordingSink: QueryEventSink = { offer: (e) => { order.push('event'); offered.push(e); sink.offer(e); }, get depth() { return sink.depth; }, close: (t) => sink.close(t) };
    const producer = new QueryEventProducer({ node: { id: 'n', pop: 'p' }, sink: recordingSink });
    const up = upstream('127.0.0.1', 5301);
    const forwarder = new UpstreamForwarder({ upstreams: [up], timeoutMs: 1000, socketFactory: net.factory });
    const handler = new QueryHandler({ resolver: new ForwardingResolver(forwarder), server: 'dns://t', onAnswered: producer.record });
    const server = new DnsUdpServer({ listen: { host: '127.0.0.1', port: 53, family: 'IPv4' }, handler, socketFactory: net.factory });
    await server.start();
    const serverSocket = [...net.sockets][0];
    const clientQuery = buildQuery('a.example.test', { id: 99 });
    const delivered = new Promise<void>((resolve) => {
      net.onSend = (d) => {
        if (d.to.port === 5301) d.reply(buildAnswer(d.msg));
        else { order.push('answer-sent'); resolve(); }
      };
    });
    net.deliverTo(serverSocket, clientQuery, { address: '127.0.0.9', port: 40404 });
    await delivered;
    await waitFor(() => order.includes('publish'), 2000, 'publish attempt');
    expect(order.indexOf('answer-sent')).toBeLessThan(order.indexOf('event'));
    expect(order.indexOf('event')).toBeLessThan(order.indexOf('publish'));
    const sentAnswer = net.sent.find((d) => d.to.port === 40404)!;
    expect(dnsPacket.decode(sentAnswer.msg).id).toBe(99);
    expect(offered[0]).toMatchObject({ client_ip: '127.0.0.9', client_port: 40404, transport: 'UDP', upstream: '127.0.0.1:5301' });
    await server.stop(100);
  });
});

describe('MemoryQueueSink', () => {
  it('is bounded: when full it drops the OLDEST and counts', async () => {
    const publisher = new RecordingPublisher();
    publisher.failNext = Number.MAX_SAFE_INTEGER; // bus down
    const metrics = new RecordingMetrics();
    const sink = new MemoryQueueSink({ publisher, capacity: 3, batchSize: 100, lingerMs: 1, retryInitialMs: 1, retryMaxMs: 2, metrics });
    for (let i = 1; i <= 5; i++) sink.offer(fakeEvent(i));
    expect(sink.depth).toBe(3);
    expect(metrics.count('events_dropped')).toBe(2);
    expect(metrics.depth).toBe(3);
    await waitFor(() => publisher.attempts >= 2, 2000, 'retries');
    publisher.failNext = 0;
    await waitFor(() => publisher.events.length === 3, 2000, 'recovery');
    expect(publisher.events.map((e) => e.event_id)).toEqual(['e-3', 'e-4', 'e-5']);
    await sink.close(1000);
  });

  it('keeps order through a failing-then-recovering publisher', async () => {
    const publisher = new RecordingPublisher();
    publisher.failNext = 3;
    const sink = new MemoryQueueSink({ publisher, capacity: 1000, batchSize: 4, lingerMs: 1, retryInitialMs: 1, retryMaxMs: 4 });
    for (let i = 0; i < 10; i++) sink.offer(fakeEvent(i));
    await waitFor(() => publisher.attempts >= 2, 2000, 'a failed attempt');
    for (let i = 10; i < 25; i++) sink.offer(fakeEvent(i));
    await waitFor(() => publisher.events.length === 25, 5000, 'all events');
    expect(publisher.events.map((e) => e.event_id)).toEqual(Array.from({ length: 25 }, (_, i) => `e-${i}`));
    expect(publisher.batches.every((b) => b.length <= 4)).toBe(true);
    expect(sink.depth).toBe(0);
    await sink.close(1000);
  });

  it('flushes what remains on close, and gives up (counting) after the bounded wait', async () => {
    const ok = new RecordingPublisher();
    const sink = new MemoryQueueSink({ publisher: ok, lingerMs: 60_000 });
    sink.offer(fakeEvent(1));
    sink.offer(fakeEvent(2));
    await sink.close(2000);
    expect(ok.events.map((e) => e.event_id)).toEqual(['e-1', 'e-2']);

    const metrics = new RecordingMetrics();
    const down = new RecordingPublisher();
    down.failNext = Number.MAX_SAFE_INTEGER;
    const stuck = new MemoryQueueSink({ publisher: down, lingerMs: 1, retryInitialMs: 1, retryMaxMs: 2, metrics });
    stuck.offer(fakeEvent(1));
    await stuck.close(20);
    expect(metrics.count('events_dropped')).toBe(1);
    expect(stuck.depth).toBe(0);
    stuck.offer(fakeEvent(2)); // after close: dropped, not queued
    expect(metrics.count('events_dropped')).toBe(2);
  });

  it('never lets a synchronously throwing publisher reach the caller', async () => {
    const publisher = { publish: (): Promise<void> => { throw new Error('boom'); } };
    const metrics = new RecordingMetrics();
    const sink = new MemoryQueueSink({ publisher, lingerMs: 0, retryInitialMs: 1, retryMaxMs: 1, metrics });
    expect(() => sink.offer(fakeEvent(1))).not.toThrow();
    await sink.close(10);
    expect(metrics.count('events_dropped')).toBe(1);
  });
});

// dnstap messages -> QueryEvents: pairing, timeouts, the table bound, field
// mapping, bad messages; and the file reader over captures recorded from
// Debian's Unbound 1.17, BIND 9.18 and Knot Resolver 5.6 (test/fixtures/dnstap,
// recorded by the tap itself; `dnstap-read` reads them).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { QueryEvent } from '@ghostdns/contracts';
import dnsPacket from 'dns-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceIdentityIndex } from '../../src/device-identity.js';
import {
  DNSTAP_CONTENT_TYPE, DnstapEventBuilder, SocketFamily, SocketProtocol, encodeControlFrame,
  encodeDataFrame, encodeDnstap, frameEventId, readDnstapFile, type DnstapBatch, type DnstapSkip,
} from '../../src/taps/dnstap/index.js';

const fixtures = fileURLToPath(new URL('../fixtures/dnstap/', import.meta.url));
const node = { id: 'edge-1', pop: 'lab' };
const T0 = 1_700_000_000_000_000;

function query(name: string, id: number, type: dnsPacket.RecordType = 'A'): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}

function response(name: string, id: number, rcode: 'NOERROR' | 'NXDOMAIN' = 'NOERROR'): Buffer {
  return dnsPacket.encode({
    type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (rcode === 'NXDOMAIN' ? 3 : 0),
    questions: [{ name, type: 'A', class: 'IN' }],
    answers: rcode === 'NOERROR' ? [{ name, type: 'A', class: 'IN', ttl: 60, data: '192.0.2.7' }] : [],
  });
}

const client = { socketFamily: SocketFamily.INET, socketProtocol: SocketProtocol.UDP, queryAddress: Buffer.from([192, 0, 2, 55]), queryPort: 40000 };

/** Unbound-style pair: the query carries time and question, the response only its own time and message. */
function unboundPair(name: string, id: number, t: number, extra: Partial<Parameters<typeof encodeDnstap>[0]> = {}): [Buffer, Buffer] {
  return [
    encodeDnstap({ identity: 'ub1', type: 'CLIENT_QUERY', ...client, queryTimeUs: t, queryMessage: query(name, id), ...extra }),
    encodeDnstap({ identity: 'ub1', type: 'CLIENT_RESPONSE', ...client, responseTimeUs: t + 250, responseMessage: response(name, id), ...extra }),
  ];
}

function builder(options: { pairTimeoutMs?: number; maxPending?: number; clock?: 'wall' | 'message'; devices?: DeviceIdentityIndex } = {}) {
  const events: QueryEvent[] = [];
  const skipped: DnstapSkip[] = [];
  const b = new DnstapEventBuilder({ node, emit: (e) => events.push(e), onSkip: (s) => skipped.push(s), clock: 'message', ...options });
  return { b, events, skipped };
}

describe('DnstapEventBuilder', () => {
  it('pairs CLIENT_QUERY and CLIENT_RESPONSE into one event with the query time and the rcode', () => {
    const { b, events } = builder();
    const [q, r] = unboundPair('www.Lab.test', 7, T0);
    b.accept(q);
    expect(events).toHaveLength(0);
    expect(b.pending).toBe(1);
    b.accept(r);
    expect(b.pending).toBe(0);
    expect(events).toEqual([
      {
        event_id: frameEventId(r), node_id: 'ub1', pop: 'lab', source: 'DNSTAP', message_type: 'CLIENT_RESPONSE',
        query_time_us: T0, response_time_us: T0 + 250, client_ip: '192.0.2.55', client_port: 40000, transport: 'UDP',
        qname: 'www.lab.test', qtype: 1, qclass: 1, rcode: 0,
        flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false },
        answer_count: 1, response_size: response('www.Lab.test', 7).length, cache_status: 'UNKNOWN', upstream: null,
        upstream_latency_us: null, policy_action: 'PASS', device: null, query_wire: null, response_wire: null,
      },
    ]);
  });

  it('emits a query whose response never comes, rcode null, once the pairing window has passed', () => {
    const { b, events } = builder({ pairTimeoutMs: 1000 });
    const [lonely] = unboundPair('lost.test', 1, T0);
    b.accept(lonely);
    b.expire(T0 + 999_999);
    expect(events).toHaveLength(0);
    b.expire(T0 + 1_000_000);
    expect(events).toMatchObject([{ message_type: 'CLIENT_QUERY', qname: 'lost.test', rcode: null, response_time_us: null, answer_count: 0, response_size: 0, event_id: frameEventId(lonely) }]);
    expect(events[0]?.flags.qr).toBe(false);
  });

  it('drops a query that arrives after its response (BIND logs from several threads)', () => {
    const { b, events } = builder();
    const [q0, r0] = unboundPair('first.test', 1, T0);
    const [q, r] = unboundPair('late.test', 2, T0 + 10);
    b.accept(q0);
    b.accept(r0);
    b.accept(r);
    b.accept(q);
    b.flush();
    expect(events.map((e) => [e.qname, e.message_type])).toEqual([['first.test', 'CLIENT_RESPONSE'], ['late.test', 'CLIENT_RESPONSE']]);
  });

  it('pairs AUTH_QUERY with CLIENT_RESPONSE (BIND 9.18, recursion no, RD set)', () => {
    const { b, events } = builder();
    b.accept(encodeDnstap({ type: 'AUTH_QUERY', ...client, queryTimeUs: T0, queryMessage: query('a.test', 9) }));
    b.accept(encodeDnstap({ type: 'CLIENT_RESPONSE', ...client, responseTimeUs: T0, responseMessage: response('a.test', 9, 'NXDOMAIN') }));
    b.flush();
    expect(events).toMatchObject([{ message_type: 'CLIENT_RESPONSE', rcode: 3, node_id: 'edge-1', query_time_us: T0 }]);
  });

  it('uses responses alone when the server logs no queries', () => {
    const { b, events } = builder();
    const [, r] = unboundPair('solo.test', 3, T0);
    b.accept(r);
    expect(b.pending).toBe(0); // no tombstone needed: no query will come
    expect(events).toMatchObject([{ qname: 'solo.test', rcode: 0, query_time_us: T0 + 250, response_time_us: T0 + 250 }]);
  });

  it('keeps the table bounded: the oldest query leaves as unanswered', () => {
    const { b, events } = builder({ maxPending: 2 });
    for (let i = 0; i < 3; i++) b.accept(unboundPair(`q${i}.test`, i, T0 + i)[0]);
    expect(b.pending).toBe(2);
    expect(events.map((e) => [e.qname, e.rcode])).toEqual([['q0.test', null]]);
  });

  it('maps FORWARDER_RESPONSE: upstream from response_address, latency from its two times', () => {
    const { b, events } = builder();
    b.accept(encodeDnstap({
      type: 'FORWARDER_RESPONSE', socketFamily: SocketFamily.INET6, socketProtocol: SocketProtocol.TCP,
      queryAddress: Buffer.from('00000000000000000000000000000001', 'hex'), queryPort: 5353,
      responseAddress: Buffer.from('20010db8000000000000000000000053', 'hex'), responsePort: 53,
      queryTimeUs: T0, responseTimeUs: T0 + 1234, responseMessage: response('up.test', 4),
    }));
    expect(events).toMatchObject([{ message_type: 'FORWARDER_RESPONSE', client_ip: '::1', client_port: 5353, transport: 'TCP', upstream: '[2001:db8::53]:53', upstream_latency_us: 1234 }]);
  });

  it.each([
    [SocketProtocol.DOT, 'DOT'], [SocketProtocol.DOH, 'DOH'], [SocketProtocol.DNSCryptUDP, 'UDP'], [SocketProtocol.DNSCryptTCP, 'TCP'], [SocketProtocol.DOQ, 'DOT'],
  ])('maps socket_protocol %i to %s', (socketProtocol, transport) => {
    const { b, events } = builder();
    b.accept(unboundPair('t.test', 1, T0, { socketProtocol })[1]);
    expect(events[0]?.transport).toBe(transport);
  });

  it.each([
    ['not protobuf', Buffer.from([0xff, 0xff, 0xff]), 'bad_protobuf'],
    ['a Dnstap without a Message', Buffer.from([0x78, 0x01]), 'not_a_message'],
    ['a STUB_QUERY', encodeDnstap({ type: 'STUB_QUERY', ...client, queryTimeUs: T0, queryMessage: query('s.test', 1) }), 'unsupported_type'],
    ['a response without a DNS message', encodeDnstap({ type: 'CLIENT_RESPONSE', ...client, responseTimeUs: T0 }), 'bad_dns_message'],
    ['an unreadable question', encodeDnstap({ type: 'CLIENT_RESPONSE', ...client, responseTimeUs: T0, responseMessage: Buffer.from('000181800001000000000000ff', 'hex') }), 'bad_dns_message'],
    ['a 5-byte address', encodeDnstap({ type: 'CLIENT_RESPONSE', ...client, queryAddress: Buffer.alloc(5), responseTimeUs: T0, responseMessage: response('x.test', 1) }), 'no_client_address'],
    ['no times', encodeDnstap({ type: 'CLIENT_RESPONSE', ...client, responseMessage: response('x.test', 1) }), 'no_time'],
  ])('skips %s (%s) and goes on', (_name, frame, reason) => {
    const { b, events, skipped } = builder();
    b.accept(frame);
    b.accept(unboundPair('next.test', 2, T0)[1]);
    expect(skipped.map((s) => s.reason)).toEqual([reason]);
    expect(events.map((e) => e.qname)).toEqual(['next.test']);
  });

  it.each([
    { case: 'an IPv4 tunnel address', family: SocketFamily.INET, address: '0a080002', clientIp: '10.8.0.2', device: true },
    { case: 'its IPv4-mapped form from a dual-stack socket', family: SocketFamily.INET6, address: '00000000000000000000ffff0a080002', clientIp: '::ffff:10.8.0.2', device: true },
    { case: 'an IPv6 tunnel address', family: SocketFamily.INET6, address: 'fd000000000000000000000000000002', clientIp: 'fd00::2', device: true },
    { case: 'an address no device has', family: SocketFamily.INET, address: 'c0000237', clientIp: '192.0.2.55', device: false },
  ])('gives an event from $case the VPN device behind it', ({ family, address, clientIp, device }) => {
    const devices = new DeviceIdentityIndex();
    devices.apply({
      event_id: 'p1', type: 'DEVICE_ONLINE', source: 'WIREGUARD', device_id: 'wg-key-1', name: 'laptop', interface: 'wg0',
      addresses: ['10.8.0.2/32', 'fd00::2/128'], last_handshake_us: null, observed_at_us: 1, node_id: 'vpn-1', domain: null,
    });
    const { b, events } = builder({ devices });
    b.accept(unboundPair('vpn.lab.test', 8, T0, { socketFamily: family, queryAddress: Buffer.from(address, 'hex') })[1]);
    expect(events.map((e) => [e.client_ip, e.device])).toEqual([
      [clientIp, device ? { source: 'WIREGUARD', device_id: 'wg-key-1', name: 'laptop' } : null],
    ]);
  });

  it('gives the same frame the same event_id (a replay or reconnect dedupes), a UUID', () => {
    const [, r] = unboundPair('same.test', 5, T0);
    expect(frameEventId(r)).toBe(frameEventId(Buffer.from(r)));
    expect(frameEventId(r)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(frameEventId(unboundPair('same.test', 6, T0)[1])).not.toBe(frameEventId(r));
  });
});

describe('readDnstapFile', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ghostdns-dnstap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function readAll(file: string, batchSize = 1000): Promise<{ batches: DnstapBatch[]; events: QueryEvent[] }> {
    const batches: DnstapBatch[] = [];
    for await (const batch of readDnstapFile(file, { node, batchSize })) batches.push(batch);
    return { batches, events: batches.flatMap((b) => b.events) };
  }

  it.each([
    // [fixture, frames, events, [qname, qtype, rcode, transport, client]]
    ['unbound-1.17.fstrm', 12, 6, 'unbound-test', [
      ['www.lab.test', 1, 0, 'UDP', '127.0.0.1'], ['nope.lab.test', 1, 3, 'UDP', '127.0.0.1'],
      // FORWARDER_RESPONSE: Unbound's outgoing socket is bound to 0.0.0.0, and that is its query_address.
      ['up.example', 1, 0, 'UDP', '0.0.0.0'], ['up.example', 1, 0, 'TCP', '127.0.0.1'],
      ['www.lab.test', 28, 0, 'UDP', '::1'], ['www.lab.test', 1, 0, 'UDP', '127.0.0.1']]],
    ['bind-9.18.fstrm', 12, 6, 'bind-test', [
      ['www.lab.test', 1, 0, 'UDP', '127.0.0.1'], ['www.lab.test', 1, 0, 'UDP', '127.0.0.1'],
      ['nope.lab.test', 1, 3, 'UDP', '127.0.0.1'], ['www.lab.test', 1, 0, 'TCP', '127.0.0.1'],
      ['www.lab.test', 28, 0, 'UDP', '::1'], ['www.lab.test', 1, 0, 'UDP', '127.0.0.1']]],
    ['kresd-5.6.fstrm', 10, 5, 'kresd-test', [
      ['www.lab.test', 1, 0, 'UDP', '127.0.0.1'], ['nope.example', 1, 2, 'UDP', '127.0.0.1'],
      ['up.example', 1, 2, 'TCP', '127.0.0.1'], ['up.example', 28, 2, 'UDP', '::1'], ['up.example', 1, 2, 'UDP', '127.0.0.1']]],
  ] as const)('reads %s: %i frames, %i events, node_id from the identity', async (fixture, frames, eventCount, identity, expected) => {
    const reader = readDnstapFile(path.join(fixtures, fixture), { node });
    const events: QueryEvent[] = [];
    for await (const batch of reader) events.push(...batch.events);
    expect(reader.stats).toMatchObject({ frames, events: eventCount, skipped: {}, streams: 1 });
    expect(events.map((e) => [e.qname, e.qtype, e.rcode, e.transport, e.client_ip])).toEqual(expected);
    expect(new Set(events.map((e) => e.node_id))).toEqual(new Set([identity]));
    expect(events.filter((e) => e.upstream !== null).map((e) => [e.message_type, e.upstream])).toEqual(
      fixture.startsWith('unbound') ? [['FORWARDER_RESPONSE', '127.0.0.1:5398']] : [],
    );
    expect(events.every((e) => e.response_time_us !== null && e.response_time_us >= e.query_time_us)).toBe(true);
  });

  it('reads gzip, concatenated runs, and yields batches of the requested size', async () => {
    const one = readFileSync(path.join(fixtures, 'unbound-1.17.fstrm'));
    const file = path.join(dir, 'twice.fstrm.gz');
    writeFileSync(file, gzipSync(Buffer.concat([one, one])));
    const { batches, events } = await readAll(file, 2);
    expect(events).toHaveLength(12); // the second run repeats the same frames: same event_ids, the store dedupes
    expect(new Set(events.map((e) => e.event_id)).size).toBe(6);
    expect(batches.length).toBeGreaterThan(1);
  });

  it('ends a file cut inside a frame with a truncated skip', async () => {
    const one = readFileSync(path.join(fixtures, 'unbound-1.17.fstrm'));
    const file = path.join(dir, 'cut.fstrm');
    writeFileSync(file, one.subarray(0, one.length - 20));
    const { batches, events } = await readAll(file);
    expect(events.length).toBeGreaterThan(0);
    expect(batches.flatMap((b) => b.skipped).map((s) => s.reason)).toEqual(['truncated']);
  });

  it.each([
    ['an empty file', Buffer.alloc(0), /no START control frame/],
    ['data before START', encodeDataFrame(Buffer.from('x')), /data frame outside START/],
    ['another content type', encodeControlFrame('START', ['protobuf:other']), /content type protobuf:other/],
    ['a READY in a file', encodeControlFrame('READY', [DNSTAP_CONTENT_TYPE]), /unexpected READY control frame/],
    ['garbage', Buffer.from('this is not frame streams at all'), /not a Frame Streams file near byte 0/],
  ])('refuses %s', async (_name, bytes, message) => {
    const file = path.join(dir, 'bad.fstrm');
    writeFileSync(file, bytes);
    await expect(readAll(file)).rejects.toThrow(message);
  });
});

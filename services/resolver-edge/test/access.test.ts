import { parseConfig } from '@ghostdns/config';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { AccessChecker, AddressMatchList, buildSlipResponse, createAccessStages, parseClientAddress, parseIpv4, parseIpv6, ResponseRateLimiter } from '../src/access/index.js';
import type { IpFamily } from '../src/dns/address.js';
import { QueryHandler } from '../src/dns/handler.js';
import type { ClientInfo, Resolution, ResolveRequest, Resolver } from '../src/dns/resolver.js';
import { readHeader, readQuestion } from '../src/dns/wire.js';
import { silentLogger } from '../src/metrics.js';
import type { PipelineContext } from '../src/pipeline.js';
import { buildAnswer, buildQuery, rcodeOf, RecordingMetrics } from './support.js';

function words(address: string): number[] {
  const w = new Uint32Array(4);
  expect(parseIpv6(address, w)).toBe(true);
  return [...w];
}

describe('client address parsing', () => {
  it.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['255.255.255.255', 0xffffffff],
    ['192.0.2.1', 0xc0000201],
    ['256.0.0.1', -1],
    ['1.2.3', -1],
    ['1.2.3.4.5', -1],
    ['1..2.3', -1],
    ['1.2.3.4a', -1],
    ['', -1],
    ['1234.1.1.1', -1],
  ])('IPv4 %s', (address, expected) => {
    expect(parseIpv4(address)).toBe(expected);
  });

  it.each([
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['2001:db8::1', [0x20010db8, 0, 0, 1]],
    ['fe80::1%eth0', [0xfe800000, 0, 0, 1]],
    ['::ffff:192.0.2.1', [0, 0, 0xffff, 0xc0000201]],
    ['1:2:3:4:5:6:7:8', [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
    ['1::8', [0x00010000, 0, 0, 8]],
    ['FD00:ABCD::', [0xfd00abcd, 0, 0, 0]],
  ])('IPv6 %s', (address, expected) => {
    expect(words(address)).toEqual(expected);
  });

  it.each(['', ':', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', '1:2:3:4:5:6:7', 'g::1', '1:', ':1', '::ffff:1.2.3', '1:2:3:4:5:6:7:1.2.3.4'])(
    'rejects IPv6 %j',
    (address) => {
      expect(parseIpv6(address, new Uint32Array(4))).toBe(false);
    },
  );

  it('agrees with ipaddr.js on any IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        // The WHATWG URL serialiser as the oracle's front end: ipaddr.js reads
        // "::a.b.c.d" as IPv4-mapped, RFC 4291 §2.2 as 0::a.b.c.d.
        const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
        const bytes = ipaddr.parse(canonical).toByteArray();
        const expected = [0, 1, 2, 3].map((w) => ((bytes[w * 4] << 24) | (bytes[w * 4 + 1] << 16) | (bytes[w * 4 + 2] << 8) | bytes[w * 4 + 3]) >>> 0);
        const w = new Uint32Array(4);
        return parseIpv6(address, w) && [...w].every((v, i) => v === expected[i]);
      }),
      { numRuns: 2000 },
    );
  });

  it('treats IPv4-mapped IPv6 as IPv4', () => {
    const w = new Uint32Array(4);
    expect(parseClientAddress('::ffff:10.1.2.3', w)).toBe(4);
    expect(w[3]).toBe(0x0a010203);
    expect(parseClientAddress('10.1.2.3', w)).toBe(4);
    expect(parseClientAddress('2001:db8::1', w)).toBe(6);
    expect(parseClientAddress('not-an-ip', w)).toBe(0);
  });
});

const DEFAULT_ACL = parseConfig({}).acl;

describe('ACL matching', () => {
  const defaults = new AddressMatchList(DEFAULT_ACL.allowQuery);

  it.each<[string, IpFamily, boolean]>([
    ['127.0.0.1', 'IPv4', true],
    ['127.255.255.254', 'IPv4', true],
    ['10.0.0.1', 'IPv4', true],
    ['10.255.255.255', 'IPv4', true],
    ['11.0.0.0', 'IPv4', false],
    ['172.16.0.1', 'IPv4', true],
    ['172.31.255.255', 'IPv4', true],
    ['172.32.0.0', 'IPv4', false],
    ['192.168.238.10', 'IPv4', true],
    ['192.169.0.1', 'IPv4', false],
    ['100.64.0.1', 'IPv4', true],
    ['100.127.255.255', 'IPv4', true],
    ['100.128.0.0', 'IPv4', false],
    ['192.0.2.1', 'IPv4', false],
    ['8.8.8.8', 'IPv4', false],
    ['0.0.0.0', 'IPv4', false],
    ['255.255.255.255', 'IPv4', false],
    ['::1', 'IPv6', true],
    ['::2', 'IPv6', false],
    ['fd12:3456::1', 'IPv6', true],
    ['fc00::', 'IPv6', true],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'IPv6', true],
    ['fe00::1', 'IPv6', false],
    ['2001:4860:4860::8888', 'IPv6', false],
    ['::ffff:127.0.0.1', 'IPv6', true],
    ['::ffff:192.168.1.1', 'IPv6', true],
    ['::ffff:8.8.8.8', 'IPv6', false],
    ['garbage', 'IPv4', false],
    ['', 'IPv6', false],
  ])('default allow-query: %s → %s', (address, family, expected) => {
    expect(defaults.matches(address, family)).toBe(expected);
  });

  it('merges overlapping and adjacent ranges', () => {
    const list = new AddressMatchList(['10.0.0.0/9', '10.128.0.0/9', '10.1.0.0/16', '2001:db8::/33', '2001:db8:8000::/33', '::1']);
    expect(list.rangeCounts).toEqual({ v4: 1, v6: 2 });
    expect(list.matches('10.200.1.1')).toBe(true);
    expect(list.matches('2001:db8:ffff::1')).toBe(true);
    expect(list.matches('2001:db9::')).toBe(false);
  });

  it.each<[string[], string, boolean]>([
    [['any'], '203.0.113.7', true],
    [['any'], '2001:db8::7', true],
    [['none'], '127.0.0.1', false],
    [[], '127.0.0.1', false],
    [['192.0.2.1'], '192.0.2.1', true],
    [['192.0.2.1'], '192.0.2.2', false],
    [['0.0.0.0/0'], '8.8.8.8', true],
    [['0.0.0.0/0'], '::1', false],
    [['::/0'], '2001:db8::1', true],
    [['::ffff:10.0.0.0/104'], '10.9.9.9', true],
    [['::ffff:10.0.0.0/104'], '::ffff:10.9.9.9', true],
    [['10.0.0.0/8'], '::ffff:10.1.1.1', true],
    [['192.168.238.0/24', '10.10.10.0/24'], '10.10.10.250', true],
    [['192.168.238.0/24', '10.10.10.0/24'], '10.10.11.1', false],
  ])('%j matches %s: %s', (entries, address, expected) => {
    expect(new AddressMatchList(entries).matches(address)).toBe(expected);
  });

  it.each(['10.0.0.0/33', 'fc00::/129', 'example.com', '10/8', '127.1', '0xa.0.0.1', '10.0.0.0/-1', ''])('rejects %j at start', (entry) => {
    let error: unknown;
    try {
      new AddressMatchList([entry], 'acl.allowQuery');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'GHOSTDNS_RESOLVER_BAD_ACL' });
  });

  it('matches like a naive CIDR check for random IPv4 lists', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })), { maxLength: 8 }), fc.ipV4(), (cidrs, client) => {
        const entries = cidrs.map(([a, bits]) => `${a}/${bits}`);
        const parsed = ipaddr.parse(client);
        const expected = cidrs.some(([a, bits]) => (parsed as ipaddr.IPv4).match(ipaddr.IPv4.parse(a), bits));
        return new AddressMatchList(entries).matches(client) === expected;
      }),
      { numRuns: 1000 },
    );
  });

  it('allow-recursion needs allow-query too (BIND)', () => {
    const checker = new AccessChecker({ allowQuery: ['10.0.0.0/8'], allowRecursion: ['10.0.0.0/8', '192.0.2.0/24'] });
    expect(checker.allowRecursion('10.1.1.1')).toBe(true);
    expect(checker.allowRecursion('192.0.2.1')).toBe(false);
    expect(checker.allowQuery('192.0.2.1')).toBe(false);
  });
});

function client(address: string, transport: ClientInfo['transport'] = 'UDP'): ClientInfo {
  return { address, port: 5300, family: address.includes(':') ? 'IPv6' : 'IPv4', transport };
}

function request(name: string, c: ClientInfo, type: dnsPacket.RecordType = 'A'): ResolveRequest {
  const query = buildQuery(name, { type });
  return { query, header: readHeader(query)!, question: readQuestion(query)!, client: c };
}

/** The inner stages: answers every query with an upstream-like NOERROR answer. */
class AnsweringResolver implements Resolver {
  calls = 0;
  async resolve(r: ResolveRequest): Promise<Resolution> {
    this.calls++;
    return { response: buildAnswer(r.query), cacheStatus: 'MISS', policyAction: 'PASS', upstream: '127.0.0.1:53', upstreamLatencyUs: 1 };
  }
}

function context(overrides: Record<string, unknown> = {}, metrics = new RecordingMetrics()): PipelineContext {
  return { config: parseConfig(overrides), metrics, logger: silentLogger, bus: null };
}

describe('allow-query / allow-recursion stages', () => {
  it.each(['192.0.2.1', '8.8.8.8', '2001:db8::1', '::ffff:8.8.8.8'])('the default configuration refuses %s (not an open resolver)', async (address) => {
    const metrics = new RecordingMetrics();
    const inner = new AnsweringResolver();
    const stages = createAccessStages(context({}, metrics));
    const resolver = stages.query.wrap(inner);
    const r = await resolver.resolve(request('example.com', client(address)));
    expect(rcodeOf(r.response)).toBe('REFUSED');
    expect(r.policyAction).toBe('REFUSED');
    expect(inner.calls).toBe(0);
    expect(metrics.count('acl_refused|query')).toBe(1);
    expect(stages.checker.allowQuery(address, 'IPv4')).toBe(false);
  });

  it.each(['127.0.0.1', '192.168.238.5', '100.100.100.100', 'fd7a:115c:a1e0::1', '::ffff:10.0.0.1'])('the default configuration serves %s', async (address) => {
    const inner = new AnsweringResolver();
    const { query, recursion } = createAccessStages(context());
    const r = await query.wrap(recursion.wrap(inner)).resolve(request('example.com', client(address)));
    expect(rcodeOf(r.response)).toBe('NOERROR');
    expect(r.policyAction).toBe('PASS');
  });

  it('refuses recursion but lets local data answer for allow-query-only clients', async () => {
    const metrics = new RecordingMetrics();
    const stages = createAccessStages(context({ acl: { allowQuery: ['0.0.0.0/0'], allowRecursion: ['127.0.0.0/8'] } }, metrics));
    const forwarder = new AnsweringResolver();
    // Local data sits between the two stages: it answers "local.test" itself.
    const localData: Resolver = {
      resolve: (r) =>
        r.question.name === 'local.test'
          ? Promise.resolve({ response: buildAnswer(r.query, '10.0.0.1'), cacheStatus: 'NONE', policyAction: 'LOCAL_DATA', upstream: null, upstreamLatencyUs: null })
          : stages.recursion.wrap(forwarder).resolve(r),
    };
    const resolver = stages.query.wrap(localData);
    const local = await resolver.resolve(request('local.test', client('203.0.113.9')));
    expect(rcodeOf(local.response)).toBe('NOERROR');
    expect(local.policyAction).toBe('LOCAL_DATA');
    const remote = await resolver.resolve(request('example.com', client('203.0.113.9')));
    expect(rcodeOf(remote.response)).toBe('REFUSED');
    expect(remote.policyAction).toBe('REFUSED');
    expect(forwarder.calls).toBe(0);
    expect(metrics.count('acl_refused|recursion')).toBe(1);
    const trusted = await resolver.resolve(request('example.com', client('127.0.0.1')));
    expect(rcodeOf(trusted.response)).toBe('NOERROR');
  });

  it('throws GHOSTDNS_RESOLVER_BAD_ACL on a bad entry when built', () => {
    expect(() => createAccessStages(context({ acl: { allowQuery: ['10.0.0.0/8', 'lan'] } }))).toThrow(/acl.allowQuery: not an address or CIDR: lan/);
  });
});

const RRL = { responsesPerSecond: 5, window: 5, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 };

function positive(name = 'victim.example'): Buffer {
  return buildAnswer(buildQuery(name));
}

function nxdomain(name: string, zone: string | null): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | 3,
    questions: [{ type: 'A', name, class: 'IN' }],
    authorities: zone === null ? [] : [{ type: 'SOA', name: zone, ttl: 60, data: { mname: `ns.${zone}`, rname: `h.${zone}`, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }],
  });
}

function errorResponse(name: string, rcode: number): Buffer {
  return dnsPacket.encode({ type: 'response', id: 1, flags: rcode, questions: [{ type: 'A', name, class: 'IN' }] });
}

describe('response rate limiting', () => {
  it('sends the burst, then slips every 2nd and drops the rest', () => {
    const metrics = new RecordingMetrics();
    const rrl = new ResponseRateLimiter(RRL, metrics);
    const verdicts = Array.from({ length: 12 }, () => rrl.verdict('198.51.100.7', 'IPv4', positive(), 1000));
    expect(verdicts).toEqual(['send', 'send', 'send', 'send', 'send', 'drop', 'slip', 'drop', 'slip', 'drop', 'slip', 'drop']);
    expect(metrics.count('rrl|send')).toBe(5);
    expect(metrics.count('rrl|slip')).toBe(3);
    expect(metrics.count('rrl|drop')).toBe(4);
  });

  it.each([
    [0, ['send', 'send', 'drop', 'drop', 'drop', 'drop']],
    [1, ['send', 'send', 'slip', 'slip', 'slip', 'slip']],
    [3, ['send', 'send', 'drop', 'drop', 'slip', 'drop']],
  ])('slip %i', (slip, expected) => {
    const rrl = new ResponseRateLimiter({ ...RRL, responsesPerSecond: 2, slip });
    expect(Array.from({ length: 6 }, () => rrl.verdict('198.51.100.7', 'IPv4', positive(), 0))).toEqual(expected);
  });

  it('recovers as credits return, and a flood keeps it limited for up to `window` seconds (injected clock)', () => {
    const rrl = new ResponseRateLimiter({ ...RRL, responsesPerSecond: 2, window: 3, slip: 0 });
    const v = (t: number) => rrl.verdict('198.51.100.7', 'IPv4', positive(), t);
    expect([v(0), v(0), v(0)]).toEqual(['send', 'send', 'drop']);
    // Limited responses cost a credit too (the balance is -1): one second gives two back.
    expect(v(1000)).toBe('send');
    expect(v(1000)).toBe('drop');
    // A sustained flood: the debt is capped at -window × rate = -6.
    for (let i = 0; i < 100; i++) expect(v(1100)).toBe('drop');
    // 3 s (= window) of silence repay the capped debt but leave nothing to spend...
    expect(v(4100)).toBe('drop');
    // ...one more second gives a response again.
    expect(v(5100)).toBe('send');
    // Credits never exceed one second's worth (the burst).
    expect([v(100_000), v(100_000), v(100_000)]).toEqual(['send', 'send', 'drop']);
  });

  it('accounts per client prefix (/24, /56)', () => {
    const rrl = new ResponseRateLimiter({ ...RRL, responsesPerSecond: 1, slip: 0 });
    expect(rrl.verdict('198.51.100.7', 'IPv4', positive(), 0)).toBe('send');
    expect(rrl.verdict('198.51.100.200', 'IPv4', positive(), 0)).toBe('drop');
    expect(rrl.verdict('::ffff:198.51.100.9', 'IPv6', positive(), 0)).toBe('drop');
    expect(rrl.verdict('198.51.101.7', 'IPv4', positive(), 0)).toBe('send');
    expect(rrl.verdict('2001:db8:0:ab::1', 'IPv6', positive(), 0)).toBe('send');
    expect(rrl.verdict('2001:db8:0:ff::2', 'IPv6', positive(), 0)).toBe('drop');
    expect(rrl.verdict('2001:db8:0:100::1', 'IPv6', positive(), 0)).toBe('send');
  });

  it('accounts per response: qname+qtype for answers, the zone for NXDOMAIN, one bucket for errors', () => {
    const rrl = new ResponseRateLimiter({ ...RRL, responsesPerSecond: 1, slip: 0 });
    const v = (r: Buffer) => rrl.verdict('198.51.100.7', 'IPv4', r, 0);
    expect(v(positive('a.example'))).toBe('send');
    expect(v(positive('b.example'))).toBe('send');
    expect(v(positive('A.EXAMPLE'))).toBe('drop');
    expect(v(nxdomain('r1.victim.example', 'victim.example'))).toBe('send');
    expect(v(nxdomain('r2.victim.example', 'victim.example'))).toBe('drop');
    expect(v(nxdomain('r3.other.example', 'other.example'))).toBe('send');
    // No SOA: the last two labels stand in for the zone.
    expect(v(nxdomain('x1.blocked.example', null))).toBe('send');
    expect(v(nxdomain('x2.blocked.example', null))).toBe('drop');
    expect(v(errorResponse('e1.example', 5))).toBe('send');
    expect(v(errorResponse('e2.example', 2))).toBe('drop');
  });

  it('never slips error responses (BIND)', () => {
    const rrl = new ResponseRateLimiter({ ...RRL, responsesPerSecond: 1, slip: 1 });
    expect([0, 1, 2].map(() => rrl.verdict('198.51.100.7', 'IPv4', errorResponse('x.example', 5), 0))).toEqual(['send', 'drop', 'drop']);
  });

  it('keeps memory bounded: least recently used accounts are forgotten', () => {
    const rrl = new ResponseRateLimiter({ ...RRL, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) rrl.verdict(`10.${i >> 8}.${i & 255}.1`, 'IPv4', positive(), 0);
    expect(rrl.size).toBe(100);
  });

  it('is off with responsesPerSecond 0', () => {
    const rrl = new ResponseRateLimiter({ ...RRL, responsesPerSecond: 0 });
    expect(rrl.enabled).toBe(false);
    expect(Array.from({ length: 100 }, () => rrl.verdict('198.51.100.7', 'IPv4', positive(), 0)).every((v) => v === 'send')).toBe(true);
  });

  it('builds the slipped response: TC=1, question kept, no records, rcode kept', () => {
    const original = nxdomain('r1.victim.example', 'victim.example');
    const slipped = buildSlipResponse(original);
    const decoded = dnsPacket.decode(slipped);
    expect(decoded.flag_tc).toBe(true);
    expect(decoded.id).toBe(1);
    expect(rcodeOf(slipped)).toBe('NXDOMAIN');
    expect(decoded.questions).toEqual([{ name: 'r1.victim.example', type: 'A', class: 'IN' }]);
    expect(decoded.answers).toEqual([]);
    expect(decoded.authorities).toEqual([]);
    expect(decoded.additionals).toEqual([]);
    expect(buildSlipResponse(Buffer.from([1, 2, 3]))).toHaveLength(3);
  });

  describe('in the query stage (slow path)', () => {
    it('drops (drop: true) and slips UDP answers, never TCP ones', async () => {
      const metrics = new RecordingMetrics();
      const { query } = createAccessStages(context({ rrl: { responsesPerSecond: 1, slip: 2 } }, metrics));
      const resolver = query.wrap(new AnsweringResolver());
      const udp = [];
      for (let i = 0; i < 3; i++) udp.push(await resolver.resolve(request('victim.example', client('127.0.0.1'))));
      expect(udp.map((r) => [r.drop === true, r.policyAction])).toEqual([[false, 'PASS'], [true, 'RATE_LIMITED'], [false, 'RATE_LIMITED']]);
      expect(dnsPacket.decode(udp[2].response).flag_tc).toBe(true);
      for (let i = 0; i < 5; i++) {
        const tcp = await resolver.resolve(request('victim.example', client('127.0.0.1', 'TCP')));
        expect(tcp.drop).toBeUndefined();
        expect(tcp.policyAction).toBe('PASS');
      }
      expect(metrics.count('rrl|send')).toBe(1);
    });

    it('rate limits REFUSED answers to refused clients too', async () => {
      const { query } = createAccessStages(context({ rrl: { responsesPerSecond: 1, slip: 2 } }));
      const resolver = query.wrap(new AnsweringResolver());
      const first = await resolver.resolve(request('x.example', client('203.0.113.5')));
      const second = await resolver.resolve(request('y.example', client('203.0.113.5')));
      expect(rcodeOf(first.response)).toBe('REFUSED');
      expect(second.drop).toBe(true);
    });

    it('the handler turns a dropped resolution into a drop (nothing sent, no event)', async () => {
      const { query } = createAccessStages(context({ rrl: { responsesPerSecond: 1, slip: 0 } }));
      const answered: unknown[] = [];
      const handler = new QueryHandler({ resolver: query.wrap(new AnsweringResolver()), server: 'dns://test', onAnswered: (a) => answered.push(a) });
      const first = await handler.handle(buildQuery('victim.example'), client('127.0.0.1'));
      const second = await handler.handle(buildQuery('victim.example'), client('127.0.0.1'));
      expect(first.kind).toBe('answer');
      expect(second).toEqual({ kind: 'drop', reason: 'rate_limited' });
    });
  });
});

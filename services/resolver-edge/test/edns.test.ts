import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  buildBadversResponse, fitForTransport, maxUdpResponseSize, readEdns, truncateForUdp, type EdnsInfo,
} from '../src/dns/edns.js';
import { QueryHandler } from '../src/dns/handler.js';
import type { Resolver } from '../src/dns/resolver.js';
import { minResponseTtl, readHeader, readQuestion, type DnsHeader } from '../src/dns/wire.js';
import { RecordingMetrics } from './support.js';

type Opt = { udpPayloadSize?: number; flags?: number; ednsVersion?: number; options?: dnsPacket.PacketOpt[] };

function opt(o: Opt = {}): dnsPacket.Answer {
  return {
    type: 'OPT', name: '.', udpPayloadSize: o.udpPayloadSize ?? 1232, extendedRcode: 0, ednsVersion: o.ednsVersion ?? 0,
    flags: o.flags ?? 0, flag_do: false, options: o.options ?? [],
  };
}

function query(additionals: dnsPacket.Answer[] = [], answers: dnsPacket.Answer[] = [], flags = dnsPacket.RECURSION_DESIRED): Buffer {
  return dnsPacket.encode({ type: 'query', id: 7, flags, questions: [{ type: 'A', name: 'example.test', class: 'IN' }], answers, additionals });
}

function header(msg: Buffer): DnsHeader {
  const h = readHeader(msg);
  if (h === null) throw new Error('no header');
  return h;
}

/** A response with `n` A records for example.test, plus OPT when `withOpt`. */
function bigResponse(n: number, withOpt: boolean, ttl = 300): Buffer {
  return dnsPacket.encode({
    type: 'response', id: 7, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name: 'example.test', class: 'IN' }],
    answers: Array.from({ length: n }, (_, i) => ({ type: 'A' as const, name: 'example.test', ttl: ttl + i, data: `192.0.2.${i % 250}` })),
    additionals: withOpt ? [opt({ udpPayloadSize: 1232, options: [{ code: 12, data: Buffer.alloc(40) }] })] : [],
  });
}

describe('readEdns', () => {
  const cases: { name: string; msg: Buffer; expected: Partial<EdnsInfo> }[] = [
    { name: 'no OPT', msg: query(), expected: { status: 'none', udpSize: 0, dnssecOk: false, optOffset: -1 } },
    { name: 'OPT 1232', msg: query([opt({ udpPayloadSize: 1232 })]), expected: { status: 'ok', udpSize: 1232, dnssecOk: false, version: 0 } },
    { name: 'OPT 4096 with DO', msg: query([opt({ udpPayloadSize: 4096, flags: dnsPacket.DNSSEC_OK })]), expected: { status: 'ok', udpSize: 4096, dnssecOk: true } },
    { name: 'OPT below 512 read as sent', msg: query([opt({ udpPayloadSize: 100 })]), expected: { status: 'ok', udpSize: 100 } },
    { name: 'version 1', msg: query([opt({ ednsVersion: 1 })]), expected: { status: 'badvers', version: 1 } },
    { name: 'two OPTs', msg: query([opt(), opt()]), expected: { status: 'formerr' } },
    { name: 'OPT in the answer section', msg: query([], [opt()]), expected: { status: 'formerr' } },
    {
      name: 'OPT after another additional record',
      msg: query([{ type: 'A', name: 'x.test', ttl: 1, data: '192.0.2.1' }, opt({ udpPayloadSize: 2048 })]),
      expected: { status: 'ok', udpSize: 2048 },
    },
    { name: 'OPT cut short', msg: query([opt()]).subarray(0, query([opt()]).length - 3), expected: { status: 'formerr' } },
  ];
  it.each(cases)('$name', ({ msg, expected }) => {
    const h = header(msg);
    expect(readEdns(msg, h)).toMatchObject(expected);
    // Same result when the question end is handed in.
    const q = readQuestion(msg);
    if (q !== null) expect(readEdns(msg, h, q.end)).toMatchObject(expected);
  });

  it('rejects an OPT owned by a non-root name', () => {
    const msg = query([opt()]);
    // Re-point the OPT owner: replace the root byte with a pointer to the question name.
    const q = readQuestion(msg);
    if (q === null) throw new Error('no question');
    const patched = Buffer.concat([msg.subarray(0, q.end), Buffer.from([0xc0, 12]), msg.subarray(q.end + 1)]);
    expect(readEdns(patched, header(patched)).status).toBe('formerr');
  });
});

describe('maxUdpResponseSize', () => {
  it.each([
    { name: 'no EDNS', edns: { status: 'none', udpSize: 0 }, expected: 512 },
    { name: 'below 512', edns: { status: 'ok', udpSize: 100 }, expected: 512 },
    { name: '1232', edns: { status: 'ok', udpSize: 1232 }, expected: 1232 },
    { name: '4096 capped', edns: { status: 'ok', udpSize: 4096 }, expected: 1232 },
    { name: '1000', edns: { status: 'ok', udpSize: 1000 }, expected: 1000 },
  ] as const)('$name', ({ edns, expected }) => {
    expect(maxUdpResponseSize({ version: 0, dnssecOk: false, optOffset: 0, ...edns })).toBe(expected);
  });
});

describe('truncateForUdp', () => {
  it('returns an answer that fits unchanged (same buffer)', () => {
    const r = bigResponse(3, true);
    expect(truncateForUdp(r, 512)).toBe(r);
  });

  it.each([
    { name: 'no OPT, 512', n: 40, withOpt: false, keepOpt: true, max: 512, opt: false },
    { name: 'OPT kept with its options', n: 100, withOpt: true, keepOpt: true, max: 1232, opt: true },
    { name: 'OPT dropped when the client sent none', n: 40, withOpt: true, keepOpt: false, max: 512, opt: false },
  ])('$name', ({ n, withOpt, keepOpt, max, opt: expectOpt }) => {
    const r = bigResponse(n, withOpt);
    expect(r.length).toBeGreaterThan(max);
    const t = truncateForUdp(r, max, keepOpt);
    expect(t.length).toBeLessThanOrEqual(max);
    const d = dnsPacket.decode(t);
    expect(d.flag_tc).toBe(true);
    expect(d.id).toBe(7);
    expect(d.flag_rd).toBe(true);
    expect(d.flag_ra).toBe(true);
    expect(d.questions).toEqual([{ type: 'A', name: 'example.test', class: 'IN' }]);
    expect(d.answers).toEqual([]);
    expect(d.authorities).toEqual([]);
    const opts = (d.additionals ?? []).filter((a) => a.type === 'OPT');
    expect(opts.length).toBe(expectOpt ? 1 : 0);
    if (expectOpt) expect((opts[0] as unknown as { udpPayloadSize: number }).udpPayloadSize).toBe(1232);
  });

  it('drops OPT options before the OPT itself when space is tight', () => {
    const r = bigResponse(40, true);
    const q = readQuestion(r);
    if (q === null) throw new Error('no question');
    const t = truncateForUdp(r, q.end + 11, true);
    const d = dnsPacket.decode(t);
    expect(d.additionals?.[0]?.type).toBe('OPT');
    expect((d.additionals?.[0] as unknown as { options: unknown[] }).options).toEqual([]);
  });
});

describe('fitForTransport', () => {
  const big = bigResponse(100, true); // ~1.7 KB
  it.each([
    { name: 'TCP: untouched', transport: 'TCP' as const, q: query(), truncated: false },
    { name: 'UDP without EDNS: 512', transport: 'UDP' as const, q: query(), truncated: true },
    { name: 'UDP EDNS 4096: capped at 1232', transport: 'UDP' as const, q: query([opt({ udpPayloadSize: 4096 })]), truncated: true },
    { name: 'UDP EDNS 65000 but small answer', transport: 'UDP' as const, q: query([opt({ udpPayloadSize: 65000 })]), truncated: false, small: true },
  ])('$name', ({ transport, q, truncated, small }) => {
    const response = small ? bigResponse(20, true) : big;
    const out = fitForTransport(response, q, { transport });
    expect(dnsPacket.decode(out).flag_tc).toBe(truncated);
    if (!truncated) expect(out).toBe(response);
  });
});

describe('BADVERS and FORMERR from the handler (RFC 6891 §6.1.3, §6.1.1)', () => {
  const resolver: Resolver = { resolve: () => Promise.reject(new Error('must not be asked')) };

  it('answers version 1 with BADVERS and an OPT of version 0', async () => {
    const handler = new QueryHandler({ resolver, server: 'dns://test' });
    const r = await handler.handle(query([opt({ ednsVersion: 1 })]), { address: '127.0.0.1', port: 1, family: 'IPv4', transport: 'UDP' });
    if (r.kind !== 'answer') throw new Error('dropped');
    const d = dnsPacket.decode(r.answer.response);
    const o = d.additionals?.[0] as unknown as { type: string; extendedRcode: number; ednsVersion: number };
    expect(o.type).toBe('OPT');
    expect(o.extendedRcode).toBe(1); // 1 << 4 | 0 = 16 BADVERS
    expect(o.ednsVersion).toBe(0);
    expect(r.answer.response[3] & 0x0f).toBe(0);
    expect(d.questions?.[0]?.name).toBe('example.test');
  });

  it('answers two OPTs with FORMERR and counts it', async () => {
    const metrics = new RecordingMetrics();
    const handler = new QueryHandler({ resolver, server: 'dns://test', metrics });
    const r = await handler.handle(query([opt(), opt()]), { address: '127.0.0.1', port: 1, family: 'IPv4', transport: 'UDP' });
    if (r.kind !== 'answer') throw new Error('dropped');
    expect(r.answer.response[3] & 0x0f).toBe(1);
    expect(metrics.count('malformed|bad_edns')).toBe(1);
  });

  it('buildBadversResponse keeps the ID, RD and CD', () => {
    const q = query([opt({ ednsVersion: 2 })], [], dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED);
    const question = readQuestion(q);
    if (question === null) throw new Error('no question');
    const d = dnsPacket.decode(buildBadversResponse(q, header(q), question));
    expect(d.id).toBe(7);
    expect(d.flag_rd).toBe(true);
    expect(d.flag_cd).toBe(true);
  });
});

describe('minResponseTtl', () => {
  it.each([
    { name: 'lowest answer TTL', msg: bigResponse(5, true, 300), expected: 300 },
    { name: 'no records', msg: query(), expected: null },
    {
      name: 'negative: SOA min(TTL, MINIMUM)',
      msg: dnsPacket.encode({
        type: 'response', id: 1, flags: 3, questions: [{ type: 'A', name: 'nx.test', class: 'IN' }],
        authorities: [{ type: 'SOA', name: 'test', ttl: 3600, data: { mname: 'ns.test', rname: 'h.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }],
      }),
      expected: 60,
    },
    { name: 'cut short', msg: bigResponse(5, false).subarray(0, 40), expected: null },
  ])('$name', ({ msg, expected }) => {
    expect(minResponseTtl(msg)).toBe(expected);
  });
});

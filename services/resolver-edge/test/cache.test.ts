import { parseConfig } from '@ghostdns/config';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  AnswerCache, AnswerCacheStage, CacheFastPath, KEY_CD, KEY_DO, KEY_EDNS, ParsedQuery, parseQueryKey, PREFETCH_MIN_HITS,
  STALE_ANSWER_TTL_S, writeAnswer, type SharedCacheStore,
} from '../src/cache/index.js';
import { decodeEntry, encodeEntry } from '../src/cache/shared.js';
import type { ClientInfo, Resolution, ResolveRequest, Resolver } from '../src/dns/resolver.js';
import { readHeader, readQuestion } from '../src/dns/wire.js';
import { rcodeOf } from './support.js';

const CLIENT: ClientInfo = { address: '127.0.0.9', port: 33333, family: 'IPv4', transport: 'UDP' };
const DNSSEC_OK = 1 << 15;

type Rr = dnsPacket.Answer;

function query(name: string, opts: { id?: number; type?: dnsPacket.RecordType; edns?: number; dnssecOk?: boolean; cd?: boolean; rd?: boolean } = {}): Buffer {
  const additionals: Rr[] = [];
  if (opts.edns !== undefined) {
    additionals.push({ type: 'OPT', name: '.', udpPayloadSize: opts.edns, flags: opts.dnssecOk ? DNSSEC_OK : 0, options: [] } as unknown as Rr);
  }
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags: (opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) | (opts.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ type: opts.type ?? 'A', name, class: 'IN' }],
    additionals,
  });
}

function response(
  q: Buffer,
  sections: { answers?: Rr[]; authorities?: Rr[]; additionals?: Rr[]; rcode?: number; tc?: boolean } = {},
): Buffer {
  const d = dnsPacket.decode(q);
  const wire = dnsPacket.encode({
    type: 'response',
    id: d.id ?? 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (sections.tc ? dnsPacket.TRUNCATED_RESPONSE : 0),
    questions: d.questions ?? [],
    answers: sections.answers ?? [],
    authorities: sections.authorities ?? [],
    additionals: sections.additionals ?? [],
  });
  wire[3] = ((wire[3] ?? 0) & 0xf0) | (sections.rcode ?? 0);
  return wire;
}

function a(name: string, ttl: number, data = '192.0.2.1'): Rr {
  return { type: 'A', name, ttl, data };
}

function soa(zone: string, ttl: number, minimum: number): Rr {
  return {
    type: 'SOA', name: zone, ttl,
    data: { mname: `ns.${zone}`, rname: `host.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
  };
}

function keyOf(msg: Buffer): ParsedQuery {
  const p = new ParsedQuery();
  if (!parseQueryKey(msg, p)) throw new Error('query not parseable');
  return p;
}

function newCache(overrides: Partial<ConstructorParameters<typeof AnswerCache>[0]> = {}, clock = { now: 1_000_000 }): AnswerCache {
  return new AnswerCache({
    maxBytes: 1 << 20, minTtl: 0, maxTtl: 86_400, negativeMaxTtl: 3_600, serveStale: true, staleTtl: 3_600, prefetch: true,
    now: () => clock.now,
    ...overrides,
  });
}

function ttlsOf(wire: Buffer): { section: string; type: string; ttl: number | undefined }[] {
  const d = dnsPacket.decode(wire);
  const out: { section: string; type: string; ttl: number | undefined }[] = [];
  for (const [section, rrs] of [['an', d.answers], ['ns', d.authorities], ['ar', d.additionals]] as const) {
    for (const rr of rrs ?? []) out.push({ section, type: rr.type, ttl: rr.type === 'OPT' ? undefined : rr.ttl });
  }
  return out;
}

describe('parseQueryKey (from raw bytes)', () => {
  const good: { name: string; msg: () => Buffer; check: (p: ParsedQuery) => void }[] = [
    { name: 'plain A', msg: () => query('www.example.test'), check: (p) => expect([p.qtype, p.qclass, p.flags, p.udpSize]).toEqual([1, 1, 0, 512]) },
    { name: 'EDNS 4096 capped at 1232', msg: () => query('x.test', { edns: 4096 }), check: (p) => expect([p.flags, p.udpSize]).toEqual([KEY_EDNS, 1232]) },
    { name: 'EDNS below 512 read as 512', msg: () => query('x.test', { edns: 100 }), check: (p) => expect(p.udpSize).toBe(512) },
    { name: 'DO bit', msg: () => query('x.test', { edns: 1232, dnssecOk: true }), check: (p) => expect(p.flags).toBe(KEY_EDNS | KEY_DO) },
    { name: 'CD bit', msg: () => query('x.test', { cd: true }), check: (p) => expect(p.flags).toBe(KEY_CD) },
    { name: 'root name', msg: () => query('.', { type: 'NS' }), check: (p) => expect([p.nameLength, p.qtype]).toEqual([1, 2]) },
  ];
  it.each(good)('$name', ({ msg, check }) => check(keyOf(msg())));

  it('is case-insensitive on the name only', () => {
    expect(keyOf(query('WWW.Example.TEST')).key).toBe(keyOf(query('www.example.test')).key);
    // qtype 65 (HTTPS) is byte 0x41 'A': must not be folded into 0x61.
    const https = query('x.test');
    https.writeUInt16BE(65, https.length - 4);
    const k = keyOf(https);
    expect(k.qtype).toBe(65);
    const answer = response(query('x.test'), { answers: [a('x.test', 300)] });
    answer.writeUInt16BE(65, 12 + k.nameLength);
    expect(newCache().fill(k.key, k.nameLength, answer)).toBe('stored');
  });

  it('keys differ by type, class bits DO, CD and EDNS presence', () => {
    const keys = [
      query('x.test'), query('x.test', { type: 'AAAA' }), query('x.test', { cd: true }),
      query('x.test', { edns: 1232 }), query('x.test', { edns: 1232, dnssecOk: true }),
    ].map((m) => keyOf(m).key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  const withByte = (msg: Buffer, offset: number, value: number): Buffer => {
    const c = Buffer.from(msg);
    c[offset] = value;
    return c;
  };
  const bad: { name: string; msg: () => Buffer }[] = [
    { name: 'shorter than a header', msg: () => Buffer.alloc(11) },
    { name: 'header only', msg: () => query('x.test').subarray(0, 12) },
    { name: 'QR set', msg: () => withByte(query('x.test'), 2, 0x81) },
    { name: 'opcode NOTIFY', msg: () => withByte(query('x.test'), 2, 0x20) },
    { name: 'two questions', msg: () => withByte(query('x.test'), 5, 2) },
    { name: 'an answer record in a query', msg: () => withByte(query('x.test'), 7, 1) },
    { name: 'compression pointer in the question', msg: () => Buffer.concat([query('x.test').subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]) },
    { name: 'reserved label type 0x40', msg: () => withByte(query('x.test'), 12, 0x41) },
    { name: 'name runs off the end', msg: () => query('www.example.test').subarray(0, 20) },
    { name: 'type/class cut short', msg: () => { const q = query('x.test'); return q.subarray(0, q.length - 2); } },
    { name: 'trailing bytes', msg: () => Buffer.concat([query('x.test'), Buffer.from([0])]) },
    { name: 'EDNS version 1', msg: () => { const q = query('x.test', { edns: 1232 }); q[q.length - 5] = 1; return q; } },
    { name: 'additional record is not OPT (TSIG-like)', msg: () => { const q = query('x.test', { edns: 1232 }); q[q.length - 9] = 250; return q; } },
    { name: 'two additional records', msg: () => withByte(query('x.test', { edns: 1232 }), 11, 2) },
    { name: 'OPT rdlength past the end', msg: () => { const q = query('x.test', { edns: 1232 }); q[q.length - 1] = 9; return q; } },
  ];
  it.each(bad)('rejects: $name', ({ msg }) => expect(parseQueryKey(msg(), new ParsedQuery())).toBe(false));
});

describe('TTL patching', () => {
  const cases: { name: string; sections: Parameters<typeof response>[1]; edns?: number; after: number; expect: (number | undefined)[] }[] = [
    { name: 'single answer, counted down', sections: { answers: [a('x.test', 300)] }, after: 100, expect: [200] },
    {
      name: 'answer + authority + additional, compressed names, OPT skipped',
      sections: {
        answers: [a('x.test', 300), a('x.test', 500, '192.0.2.2')],
        authorities: [{ type: 'NS', name: 'test', ttl: 1000, data: 'ns1.test' }],
        additionals: [a('ns1.test', 2000, '192.0.2.53'), { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as Rr],
      },
      edns: 1232,
      after: 299,
      expect: [1, 201, 701, 1701, undefined],
    },
    { name: 'before a full second nothing changes', sections: { answers: [a('x.test', 300)] }, after: 0.999, expect: [300] },
    { name: 'never below zero', sections: { answers: [a('x.test', 10), a('x.test', 20, '192.0.2.9')] }, after: 15, expect: [0, 5] },
  ];
  it.each(cases)('$name', ({ sections, edns, after, expect: want }) => {
    const clock = { now: 5_000_000 };
    const cache = newCache({}, clock);
    const q = query('x.test', { id: 1, ...(edns !== undefined ? { edns } : {}) });
    const key = keyOf(q);
    expect(cache.fill(key.key, key.nameLength, response(q, sections))).toBe('stored');
    clock.now += after * 1000;
    const entry = cache.get(key.key);
    if (entry === undefined) throw new Error('not stored');
    const q2 = query('X.TeSt', { id: 0xabcd, rd: false, ...(edns !== undefined ? { edns } : {}) });
    const out = writeAnswer(entry, q2, clock.now, false);
    expect(ttlsOf(out).map((r) => r.ttl)).toEqual(want);
    expect(out.readUInt16BE(0)).toBe(0xabcd);
    expect((out[2] ?? 0) & 0x01).toBe(0); // RD mirrors the query
    expect(dnsPacket.decode(out).questions?.[0]?.name).toBe('X.TeSt'); // the client's spelling
    // Stored bytes are never touched by serving.
    expect(entry.wire.readUInt16BE(0)).toBe(0);
  });

  it('serves stale with TTL 30 in every record', () => {
    const cache = newCache();
    const q = query('x.test');
    const k = keyOf(q);
    cache.fill(k.key, k.nameLength, response(q, { answers: [a('x.test', 300)], authorities: [{ type: 'NS', name: 'test', ttl: 9, data: 'ns.test' }] }));
    const entry = cache.get(k.key);
    if (entry === undefined) throw new Error('not stored');
    expect(ttlsOf(writeAnswer(entry, q, 0, true)).map((r) => r.ttl)).toEqual([STALE_ANSWER_TTL_S, STALE_ANSWER_TTL_S]);
  });

  it('strips the upstream OPT options (COOKIE belongs to one exchange)', () => {
    const cache = newCache();
    const q = query('x.test', { edns: 1232 });
    const k = keyOf(q);
    const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 10, data: Buffer.alloc(24, 7) }] } as unknown as Rr;
    cache.fill(k.key, k.nameLength, response(q, { answers: [a('x.test', 300)], additionals: [opt] }));
    const entry = cache.get(k.key);
    if (entry === undefined) throw new Error('not stored');
    const decoded = dnsPacket.decode(writeAnswer(entry, q, 0, false));
    const got = decoded.additionals?.[0] as unknown as { type: string; options: unknown[] };
    expect(got.type).toBe('OPT');
    expect(got.options).toEqual([]);
  });
});

describe('what gets cached, and for how long', () => {
  const Q = query('x.test');
  const cases: { name: string; config?: Partial<ConstructorParameters<typeof AnswerCache>[0]>; answer: Buffer; outcome: 'stored' | 'uncacheable'; lifetimeS?: number; kind?: string }[] = [
    { name: 'positive: lowest TTL', answer: response(Q, { answers: [a('x.test', 300), a('x.test', 120, '192.0.2.2')] }), outcome: 'stored', lifetimeS: 120, kind: 'positive' },
    { name: 'minTtl clamp raises', config: { minTtl: 60 }, answer: response(Q, { answers: [a('x.test', 5)] }), outcome: 'stored', lifetimeS: 60 },
    { name: 'maxTtl clamp lowers', config: { maxTtl: 86_400 }, answer: response(Q, { answers: [a('x.test', 1_000_000)] }), outcome: 'stored', lifetimeS: 86_400 },
    { name: 'NXDOMAIN: min(SOA TTL, MINIMUM)', answer: response(Q, { rcode: 3, authorities: [soa('test', 300, 60)] }), outcome: 'stored', lifetimeS: 60, kind: 'negative' },
    { name: 'NXDOMAIN: SOA TTL lower than MINIMUM', answer: response(Q, { rcode: 3, authorities: [soa('test', 20, 600)] }), outcome: 'stored', lifetimeS: 20 },
    { name: 'NXDOMAIN: capped by negativeMaxTtl', config: { negativeMaxTtl: 30 }, answer: response(Q, { rcode: 3, authorities: [soa('test', 3000, 900)] }), outcome: 'stored', lifetimeS: 30 },
    { name: 'NODATA with SOA', answer: response(Q, { authorities: [soa('test', 300, 45)] }), outcome: 'stored', lifetimeS: 45, kind: 'negative' },
    { name: 'NODATA without SOA (RFC 2308 §5)', answer: response(Q, {}), outcome: 'uncacheable' },
    { name: 'NXDOMAIN without SOA', answer: response(Q, { rcode: 3 }), outcome: 'uncacheable' },
    { name: 'SERVFAIL: a couple of seconds only', answer: response(Q, { rcode: 2 }), outcome: 'stored', lifetimeS: 2, kind: 'servfail' },
    { name: 'REFUSED', answer: response(Q, { rcode: 5 }), outcome: 'uncacheable' },
    { name: 'TC answer', answer: response(Q, { tc: true, answers: [a('x.test', 300)] }), outcome: 'uncacheable' },
    { name: 'TTL 0 without serve-stale', config: { serveStale: false }, answer: response(Q, { answers: [a('x.test', 0)] }), outcome: 'uncacheable' },
    { name: 'answer for another name', answer: response(query('y.test'), { answers: [a('y.test', 300)] }), outcome: 'uncacheable' },
    { name: 'trailing garbage', answer: Buffer.concat([response(Q, { answers: [a('x.test', 300)] }), Buffer.from([1, 2])]), outcome: 'uncacheable' },
    { name: 'cut short', answer: response(Q, { answers: [a('x.test', 300)] }).subarray(0, 40), outcome: 'uncacheable' },
  ];
  it.each(cases)('$name', ({ config, answer, outcome, lifetimeS, kind }) => {
    const clock = { now: 0 };
    const cache = newCache(config ?? {}, clock);
    const k = keyOf(Q);
    expect(cache.fill(k.key, k.nameLength, answer)).toBe(outcome);
    if (outcome === 'stored') {
      const entry = cache.get(k.key);
      expect(entry && (entry.expiresAtMs - entry.storedAtMs) / 1000).toBe(lifetimeS);
      if (kind !== undefined) expect(entry?.kind).toBe(kind);
    }
  });

  it('a negative answer counts the SOA down with the entry', () => {
    const clock = { now: 0 };
    const cache = newCache({}, clock);
    const k = keyOf(Q);
    cache.fill(k.key, k.nameLength, response(Q, { rcode: 3, authorities: [soa('test', 300, 60)] }));
    clock.now = 10_000;
    const entry = cache.get(k.key);
    if (entry === undefined) throw new Error('not stored');
    expect(ttlsOf(writeAnswer(entry, Q, clock.now, false))).toEqual([{ section: 'ns', type: 'SOA', ttl: 50 }]);
  });

  it('a SERVFAIL never replaces an existing entry', () => {
    const cache = newCache();
    const k = keyOf(Q);
    cache.fill(k.key, k.nameLength, response(Q, { answers: [a('x.test', 300)] }));
    expect(cache.fill(k.key, k.nameLength, response(Q, { rcode: 2 }))).toBe('uncacheable');
    expect(cache.get(k.key)?.kind).toBe('positive');
  });

  it('is bounded by bytes: least recently used entries go first', () => {
    const cache = newCache({ maxBytes: 4_000 });
    const keys: string[] = [];
    for (let i = 0; i < 50; i++) {
      const q = query(`host${i}.example.test`);
      const k = keyOf(q);
      keys.push(k.key);
      cache.fill(k.key, k.nameLength, response(q, { answers: [a(`host${i}.example.test`, 300)] }));
      if (i === 1) cache.get(keys[0] ?? ''); // host0 becomes recent
    }
    expect(cache.bytes).toBeLessThanOrEqual(4_000);
    expect(cache.size).toBeGreaterThan(5);
    expect(cache.size).toBeLessThan(50);
    expect(cache.peek(keys[49] ?? '')).toBeDefined();
    expect(cache.peek(keys[1] ?? '')).toBeUndefined();
  });

  it('invalidates a name and everything below it', () => {
    const cache = newCache();
    for (const name of ['a.example.test', 'b.a.example.test', 'other.test']) {
      const q = query(name);
      const k = keyOf(q);
      cache.fill(k.key, k.nameLength, response(q, { answers: [a(name, 300)] }));
    }
    expect(cache.invalidateName('A.example.test.')).toBe(2);
    expect(cache.size).toBe(1);
  });
});

/** A next resolver scripted per call. */
class ScriptedResolver implements Resolver {
  calls = 0;
  constructor(public script: (request: ResolveRequest, call: number) => Promise<Buffer>) {}
  async resolve(request: ResolveRequest): Promise<Resolution> {
    const call = ++this.calls;
    const wire = await this.script(request, call);
    return { response: wire, cacheStatus: 'MISS', policyAction: 'PASS', upstream: '127.0.0.1:53', upstreamLatencyUs: 100 };
  }
}

function request(msg: Buffer): ResolveRequest {
  const header = readHeader(msg);
  const question = readQuestion(msg);
  if (header === null || question === null) throw new Error('bad test query');
  return { query: msg, header, question, client: CLIENT };
}

function stage(cache: Record<string, unknown>, clock: { now: number }, store?: SharedCacheStore): AnswerCacheStage {
  return new AnswerCacheStage({ config: parseConfig({ cache }), now: () => clock.now, ...(store ? { store } : {}) });
}

describe('cache stage', () => {
  const Q = query('www.example.test', { id: 42 });

  it('MISS then HIT with a lower TTL, answer patched to the new ID', async () => {
    const clock = { now: 0 };
    const next = new ScriptedResolver(async (r) => response(r.query, { answers: [a('www.example.test', 300)] }));
    const resolver = stage({ minTtl: 0 }, clock).wrap(next);
    expect((await resolver.resolve(request(Q))).cacheStatus).toBe('MISS');
    clock.now = 7_000;
    const hit = await resolver.resolve(request(query('www.example.test', { id: 43 })));
    expect(hit.cacheStatus).toBe('HIT');
    expect(hit.upstream).toBeNull();
    expect(hit.response.readUInt16BE(0)).toBe(43);
    expect(ttlsOf(hit.response)[0]?.ttl).toBe(293);
    expect(next.calls).toBe(1);
  });

  const failures: { name: string; script: () => Promise<Buffer> }[] = [
    { name: 'the next resolver throws', script: async () => { throw new Error('all upstreams down'); } },
    { name: 'the next resolver answers SERVFAIL', script: async () => response(Q, { rcode: 2 }) },
  ];
  it.each(failures)('serves stale (TTL 30) when $name', async ({ script }) => {
    const clock = { now: 0 };
    const next = new ScriptedResolver(async (r, call) => (call === 1 ? response(r.query, { answers: [a('www.example.test', 60)] }) : script()));
    const resolver = stage({ minTtl: 0, staleTtl: 600 }, clock).wrap(next);
    await resolver.resolve(request(Q));
    clock.now = 61_000;
    const stale = await resolver.resolve(request(Q));
    expect(stale.cacheStatus).toBe('STALE');
    expect(ttlsOf(stale.response)[0]?.ttl).toBe(30);
    expect(rcodeOf(stale.response)).toBe('NOERROR');
    // Past the stale window the failure shows.
    clock.now = 61_000 + 600_000;
    const late = resolver.resolve(request(Q));
    if (failures[0]?.script === script) await expect(late).rejects.toThrow('all upstreams down');
    else expect(rcodeOf((await late).response)).toBe('SERVFAIL');
  });

  it('does not serve stale when serveStale is off', async () => {
    const clock = { now: 0 };
    const next = new ScriptedResolver(async (r, call) => (call === 1 ? response(r.query, { answers: [a('www.example.test', 60)] }) : response(r.query, { rcode: 2 })));
    const resolver = stage({ minTtl: 0, serveStale: false }, clock).wrap(next);
    await resolver.resolve(request(Q));
    clock.now = 61_000;
    expect(rcodeOf((await resolver.resolve(request(Q))).response)).toBe('SERVFAIL');
  });

  it('prefetches a popular entry once, in its last tenth of life', async () => {
    const clock = { now: 0 };
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const next = new ScriptedResolver(async (r, call) => {
      if (call === 2) await gate;
      return response(r.query, { answers: [a('www.example.test', 100, call === 1 ? '192.0.2.1' : '192.0.2.2')] });
    });
    const s = stage({ minTtl: 0 }, clock);
    const resolver = s.wrap(next);
    await resolver.resolve(request(Q));
    const statuses: string[] = [];
    for (const t of [1_000, 50_000, 91_000, 92_000, 93_000]) {
      clock.now = t;
      statuses.push((await resolver.resolve(request(Q))).cacheStatus);
    }
    expect(PREFETCH_MIN_HITS).toBe(2);
    expect(statuses).toEqual(['HIT', 'HIT', 'PREFETCH', 'HIT', 'HIT']);
    expect(next.calls).toBe(2);
    release();
    const k = keyOf(Q).key;
    await expect.poll(() => s.cache.peek(k)?.storedAtMs).toBe(93_000);
    const fresh = await resolver.resolve(request(Q));
    expect(dnsPacket.decode(fresh.response).answers?.[0]).toMatchObject({ data: '192.0.2.2', ttl: 100 });
  });

  it('keys on DO and CD: a DO query does not get the non-DO answer', async () => {
    const clock = { now: 0 };
    const next = new ScriptedResolver(async (r) => response(r.query, { answers: [a('www.example.test', 300)] }));
    const resolver = stage({}, clock).wrap(next);
    await resolver.resolve(request(query('www.example.test', { edns: 1232 })));
    expect((await resolver.resolve(request(query('www.example.test', { edns: 1232, dnssecOk: true })))).cacheStatus).toBe('MISS');
    expect((await resolver.resolve(request(query('www.example.test', { edns: 1232, cd: true })))).cacheStatus).toBe('MISS');
    expect((await resolver.resolve(request(query('WWW.example.test', { edns: 1232 })))).cacheStatus).toBe('HIT');
    expect(next.calls).toBe(3);
  });

  it('never caches answers produced locally (no upstream) or by policy', async () => {
    const clock = { now: 0 };
    let calls = 0;
    const next: Resolver = {
      resolve: async (r) => {
        calls++;
        return { response: response(r.query, { answers: [a('www.example.test', 300)] }), cacheStatus: 'NONE', policyAction: 'PASS', upstream: null, upstreamLatencyUs: null };
      },
    };
    const resolver = stage({}, clock).wrap(next);
    await resolver.resolve(request(Q));
    await resolver.resolve(request(Q));
    expect(calls).toBe(2);
  });

  it('reload flushes (a name may have become blocked or local)', async () => {
    const clock = { now: 0 };
    const next = new ScriptedResolver(async (r) => response(r.query, { answers: [a('www.example.test', 300)] }));
    const s = stage({}, clock);
    const resolver = s.wrap(next);
    await resolver.resolve(request(Q));
    await s.reload();
    expect((await resolver.resolve(request(Q))).cacheStatus).toBe('MISS');
  });

  it('cache.maxBytes 0 disables it entirely', async () => {
    const next = new ScriptedResolver(async (r) => response(r.query, { answers: [a('www.example.test', 300)] }));
    const s = stage({ maxBytes: 0 }, { now: 0 });
    expect(s.wrap(next)).toBe(next);
    expect(s.fastPath).toBeNull();
  });

  it('uses the shared level on an L1 miss and writes through on fill', async () => {
    const data = new Map<string, Buffer>();
    const store: SharedCacheStore = {
      kind: 'memory',
      get: async (k) => data.get(k) ?? null,
      set: async (k, v) => {
        data.set(k, Buffer.from(v));
      },
      isHealthy: () => true,
    };
    const clock = { now: 0 };
    const next = new ScriptedResolver(async (r) => response(r.query, { answers: [a('www.example.test', 300)] }));
    await stage({ shared: true }, clock, store).wrap(next).resolve(request(Q));
    expect(data.size).toBe(1);
    clock.now = 5_000;
    const replica = stage({ shared: true }, clock, store).wrap(next);
    const hit = await replica.resolve(request(query('www.example.test', { id: 99 })));
    expect(hit.cacheStatus).toBe('HIT');
    expect(ttlsOf(hit.response)[0]?.ttl).toBe(295);
    expect(next.calls).toBe(1);
  });

  it('treats a failing shared store as a miss', async () => {
    const store: SharedCacheStore = {
      kind: 'redis',
      get: async () => { throw new Error('redis down'); },
      set: async () => { throw new Error('redis down'); },
      isHealthy: () => true,
    };
    const next = new ScriptedResolver(async (r) => response(r.query, { answers: [a('www.example.test', 300)] }));
    const resolver = stage({ shared: true }, { now: 0 }, store).wrap(next);
    expect((await resolver.resolve(request(Q))).cacheStatus).toBe('MISS');
    expect((await resolver.resolve(request(Q))).cacheStatus).toBe('HIT');
  });
});

describe('shared entry encoding', () => {
  it('round-trips and rejects foreign or damaged values', () => {
    const cache = newCache();
    const q = query('x.test', { edns: 1232 });
    const k = keyOf(q);
    cache.fill(k.key, k.nameLength, response(q, { answers: [a('x.test', 300)], authorities: [soa('test', 100, 50)] }));
    const entry = cache.get(k.key);
    if (entry === undefined) throw new Error('not stored');
    const encoded = encodeEntry(entry);
    const back = decodeEntry(encoded, k.key);
    expect(back).toMatchObject({ key: k.key, kind: 'positive', storedAtMs: entry.storedAtMs, expiresAtMs: entry.expiresAtMs, nameLength: entry.nameLength });
    expect(back?.wire.equals(entry.wire)).toBe(true);
    expect([...(back?.ttlOffsets ?? [])]).toEqual([...entry.ttlOffsets]);
    expect(decodeEntry(encoded, keyOf(query('y.test', { edns: 1232 })).key)).toBeNull();
    expect(decodeEntry(encoded.subarray(0, 20), k.key)).toBeNull();
    expect(decodeEntry(Buffer.from([9, 0, 0]), k.key)).toBeNull();
  });
});

describe('CacheFastPath', () => {
  function filled(ttl = 300, big = false): { cache: AnswerCache; clock: { now: number } } {
    const clock = { now: 0 };
    const cache = newCache({}, clock);
    for (const edns of [undefined, 1232]) {
      const q = query('x.test', edns !== undefined ? { edns } : {});
      const k = keyOf(q);
      const answers = big ? Array.from({ length: 40 }, (_, i) => a('x.test', ttl, `192.0.2.${i}`)) : [a('x.test', ttl)];
      cache.fill(k.key, k.nameLength, response(q, { answers, ...(edns !== undefined ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as Rr] } : {}) }));
    }
    return { cache, clock };
  }

  it('answers a fresh entry synchronously', () => {
    const { cache } = filled();
    const fp = new CacheFastPath(cache, () => undefined);
    const out = fp.tryAnswer(query('X.test', { id: 77 }), '127.0.0.1', 'IPv4');
    expect(out?.readUInt16BE(0)).toBe(77);
    expect(fp.status).toBe('HIT');
    expect(fp.entry?.kind).toBe('positive');
  });

  const declines: { name: string; setup: () => { fp: CacheFastPath; msg: Buffer } }[] = [
    { name: 'not cached', setup: () => ({ fp: new CacheFastPath(filled().cache, () => undefined), msg: query('y.test') }) },
    { name: 'expired', setup: () => { const f = filled(); f.clock.now = 301_000; return { fp: new CacheFastPath(f.cache, () => undefined), msg: query('x.test') }; } },
    { name: 'guard refuses the client', setup: () => ({ fp: new CacheFastPath(filled().cache, () => undefined, { admit: () => false, limit: (r: Buffer) => r }), msg: query('x.test') }) },
    { name: 'answer larger than 512 for a non-EDNS client', setup: () => ({ fp: new CacheFastPath(filled(300, true).cache, () => undefined), msg: query('x.test') }) },
    { name: 'malformed query', setup: () => ({ fp: new CacheFastPath(filled().cache, () => undefined), msg: Buffer.from([1, 2, 3]) }) },
  ];
  it.each(declines)('declines ($name): the full path decides', ({ setup }) => {
    const { fp, msg } = setup();
    expect(fp.tryAnswer(msg, '127.0.0.1', 'IPv4')).toBeNull();
  });

  it('fits a large answer for an EDNS client', () => {
    const fp = new CacheFastPath(filled(300, true).cache, () => undefined);
    expect(fp.tryAnswer(query('x.test', { edns: 1232 }), '127.0.0.1', 'IPv4')).not.toBeNull();
  });

  it('triggers the prefetch once', () => {
    const { cache, clock } = filled(100);
    const triggered: string[] = [];
    const fp = new CacheFastPath(cache, (entry) => triggered.push(entry.key));
    const statuses: string[] = [];
    for (const t of [0, 95_000, 96_000, 97_000]) {
      clock.now = t;
      fp.tryAnswer(query('x.test'), '127.0.0.1', 'IPv4');
      statuses.push(fp.status);
    }
    expect(statuses).toEqual(['HIT', 'PREFETCH', 'HIT', 'HIT']);
    expect(triggered).toHaveLength(1);
  });
});

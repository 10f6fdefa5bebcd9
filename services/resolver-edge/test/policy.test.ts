import { createInProcessBus, silentLogger } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { Topics, type PolicyChangeEvent } from '@ghostdns/contracts';
import { waitFor } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientInfo, Resolution, ResolveRequest, Resolver } from '../src/dns/resolver.js';
import { readHeader, readQuestion } from '../src/dns/wire.js';
import type { EdgeLogger } from '../src/metrics.js';
import type { PipelineContext } from '../src/pipeline.js';
import { createPolicyStage, DomainSetUnion, NameKey, PackedDomainSet, parseList, RpzPolicy, type ListFormat, type ListStats, type PolicyStage } from '../src/policy/index.js';
import type { FetchLike } from '../src/policy/lists.js';
import { buildAnswer, buildQuery, rcodeOf, RecordingMetrics } from './support.js';

async function parse(text: string, asAllowlist = false, format: ListFormat = 'auto'): Promise<{ block: string[]; allow: string[]; stats: ListStats }> {
  const block: string[] = [];
  const allow: string[] = [];
  const stats = await parseList(text, { block: (n) => block.push(n), allow: (n) => allow.push(n) }, { asAllowlist, format });
  return { block, allow, stats };
}

describe('list parsing', () => {
  it.each<[string, string, { block?: string[]; allow?: string[]; ignored?: number; invalid?: number }]>([
    ['hosts 0.0.0.0', '0.0.0.0 ads.example.com', { block: ['ads.example.com'] }],
    ['hosts 127.0.0.1, tabs, several names', '127.0.0.1\tx.example  y.example', { block: ['x.example', 'y.example'] }],
    ['hosts IPv6', ':: tracker.example', { block: ['tracker.example'] }],
    ['hosts trailing comment', '0.0.0.0 ads.example.com # served by ad network', { block: ['ads.example.com'] }],
    ['hosts local names ignored', '127.0.0.1 localhost\n::1 ip6-localhost ip6-loopback\n0.0.0.0 0.0.0.0', { ignored: 4 }],
    ['hosts without a name', '0.0.0.0', { invalid: 1 }],
    ['hosts with a bad name', '0.0.0.0 bad_name!.example good.example', { block: ['good.example'], invalid: 1 }],
    ['comments and blanks', '# a comment\n\n   \n! adblock comment\n[Adblock Plus 2.0]\n', {}],
    ['adblock', '||ads.example.com^', { block: ['ads.example.com'] }],
    ['adblock $important', '||ads.example.com^$important', { block: ['ads.example.com'] }],
    ['adblock without ^', '||ads.example.com', { block: ['ads.example.com'] }],
    ['adblock exception', '@@||good.example.com^', { allow: ['good.example.com'] }],
    ['adblock unsupported modifier', '||ads.example.com^$script\n@@||x.example^$generichide', { ignored: 2 }],
    ['adblock URL rules', '||ads.example.com/banner.gif\n|https://x.example/ads\n/banner/*/img^\n-ad-banner-$image\n@@/path/', { ignored: 5 }],
    // '##.sponsored' starts like a hosts comment and is one.
    ['adblock cosmetic', 'example.com##.ad-banner\nexample.com#@#.ad\n##.sponsored\nexample.org#?#div:has(> a)', { ignored: 3 }],
    ['adblock wildcard domain', '||ads*.example.com^', { ignored: 1 }],
    ['plain', 'tracker.example\nTRACKER2.Example.COM.', { block: ['tracker.example', 'tracker2.example.com'] }],
    ['plain wildcard and leading dot', '*.ads.example\n.metrics.example', { block: ['ads.example', 'metrics.example'] }],
    ['IDN', 'bücher.example\n0.0.0.0 ПРИМЕР.рф', { block: ['xn--bcher-kva.example', 'xn--e1afmkfd.xn--p1ai'] }],
    ['garbage', 'this is not a list\nexample..com\n-\n1.2.3.4\nfoo bar', { block: ['-'], invalid: 4 }],
    ['BOM and CRLF', '\ufeff0.0.0.0 a.example\r\nb.example\r\n', { block: ['a.example', 'b.example'] }],
    ['too long', `${'a'.repeat(64)}.example\n${Array.from({ length: 130 }, () => 'ab').join('.')}`, { invalid: 2 }],
  ])('%s', async (_label, text, expected) => {
    const r = await parse(text);
    expect(r.block).toEqual(expected.block ?? []);
    expect(r.allow).toEqual(expected.allow ?? []);
    expect(r.stats).toEqual({ block: expected.block?.length ?? 0, allow: expected.allow?.length ?? 0, ignored: expected.ignored ?? 0, invalid: expected.invalid ?? 0 });
  });

  it.each<[ListFormat, { block: string[]; allow?: string[]; invalid?: number }]>([
    ['auto', { block: ['h.example', 'a.example', 'p.example'], allow: ['ok.example'] }],
    ['hosts', { block: ['h.example'], invalid: 3 }],
    ['adblock', { block: ['a.example'], allow: ['ok.example'], invalid: 2 }],
    ['plain', { block: ['p.example'], invalid: 3 }],
  ])('a list declared as %s counts the lines of the other formats invalid', async (format, expected) => {
    const r = await parse('# comment\n0.0.0.0 h.example\n||a.example^\n@@||ok.example^\np.example\n', false, format);
    expect(r.block).toEqual(expected.block);
    expect(r.allow).toEqual(expected.allow ?? []);
    expect(r.stats).toEqual({ block: expected.block.length, allow: expected.allow?.length ?? 0, ignored: 0, invalid: expected.invalid ?? 0 });
  });

  it('an allowlist makes every format an allow', async () => {
    const r = await parse('0.0.0.0 a.example\n||b.example^\n@@||c.example^\nd.example', true);
    expect(r.block).toEqual([]);
    expect(r.allow).toEqual(['a.example', 'b.example', 'c.example', 'd.example']);
  });
});

describe('PackedDomainSet', () => {
  function matchName(set: PackedDomainSet, name: string): string | null {
    const key = new NameKey();
    if (!key.setName(name)) return null;
    const i = set.match(key);
    return i < 0 ? null : set.nameAt(i);
  }

  function matchWire(set: PackedDomainSet, name: string): string | null {
    const key = new NameKey();
    if (!key.setWire(buildQuery(name), 12)) return null;
    const i = set.match(key);
    return i < 0 ? null : set.nameAt(i);
  }

  const set = new PackedDomainSet(4);
  for (const n of ['example.com', 'ads.tracker.net', 'co', 'x-y_z.example.org']) set.add(n);

  it.each([
    ['example.com', 'example.com'],
    ['a.b.example.com', 'example.com'],
    ['A.B.EXAMPLE.COM', 'example.com'],
    ['a.b.example.com.', 'example.com'],
    ['notexample.com', null],
    ['example.com.evil', null],
    ['com', null],
    ['tracker.net', null],
    ['cdn.ads.tracker.net', 'ads.tracker.net'],
    ['x.co', 'co'],
    ['co', 'co'],
    ['cox', null],
    ['x-y_z.example.org', 'x-y_z.example.org'],
    ['', null],
  ])('%j → %j (string and wire keys agree)', (name, expected) => {
    expect(matchName(set, name)).toBe(expected);
    if (name !== '' && name !== '.') expect(matchWire(set, name)).toBe(expected);
  });

  it('tells which suffix matched (for the SOA owner)', () => {
    const key = new NameKey();
    key.setWire(buildQuery('a.b.example.com'), 12);
    expect(set.match(key)).toBeGreaterThanOrEqual(0);
    expect(set.lastSkip).toBe(2);
    expect(key.labelStart[2]).toBe(12 + 2 + 2);
    expect(key.suffix(2)).toBe('example.com');
  });

  it('dedupes, grows and compacts', () => {
    const s = new PackedDomainSet(2);
    for (let i = 0; i < 5000; i++) s.add(`host${i}.example`);
    expect(s.add('host42.example')).toBe(42);
    expect(s.size).toBe(5000);
    s.compact();
    for (let i = 0; i < 5000; i += 97) expect(s.has(`host${i}.example`)).toBe(true);
    expect(s.has('host5000.example')).toBe(false);
    expect(matchName(s, 'www.host4999.example')).toBe('host4999.example');
  });

  it('agrees with a Set<string> walk over random names', () => {
    const label = fc.stringMatching(/^[a-z0-9-]{1,6}$/);
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
    fc.assert(
      fc.property(fc.array(name, { maxLength: 50 }), fc.array(name, { maxLength: 20 }), (stored, queries) => {
        const packed = new PackedDomainSet(1);
        const naive = new Set(stored);
        for (const n of stored) packed.add(n);
        return [...stored, ...queries].every((q) => {
          const labels = q.split('.');
          const expected = labels.some((_, i) => naive.has(labels.slice(i).join('.')));
          return (matchName(packed, q) !== null) === expected && (matchWire(packed, q) !== null) === expected;
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('DomainSetUnion', () => {
  const wide = new PackedDomainSet(4);
  wide.add('example.com');
  const narrow = new PackedDomainSet(4);
  narrow.add('deep.sub.example.com');
  const union = new DomainSetUnion([wide, new PackedDomainSet(4), narrow]);

  it('leaves empty sets out and counts the names of the others', () => {
    expect(union.sets).toEqual([wide, narrow]);
    expect(union.size).toBe(2);
    const key = new NameKey();
    key.setName('example.com');
    expect(new DomainSetUnion([new PackedDomainSet(4)]).match(key)).toBe(-1);
  });

  it.each([
    ['x.deep.sub.example.com', 'deep.sub.example.com'],
    ['deep.sub.example.com', 'deep.sub.example.com'],
    ['y.sub.example.com', 'example.com'],
    ['example.com', 'example.com'],
    ['example.org', null],
  ])('%s matches %s: the most specific suffix of any set', (name, expected) => {
    const key = new NameKey();
    key.setWire(buildQuery(name), 12);
    const skip = union.match(key);
    expect(skip < 0 ? null : key.suffix(skip)).toBe(expected);
  });
});

function client(): ClientInfo {
  return { address: '127.0.0.1', port: 5300, family: 'IPv4', transport: 'UDP' };
}

function request(name: string, type: dnsPacket.RecordType = 'A'): ResolveRequest {
  const query = buildQuery(name, { type });
  return { query, header: readHeader(query)!, question: readQuestion(query)!, client: client() };
}

/** The rest of the pipeline: answers every A query with 192.0.2.10, records what it was asked. */
class Upstream implements Resolver {
  readonly asked: string[] = [];
  async resolve(r: ResolveRequest): Promise<Resolution> {
    this.asked.push(`${r.question.name}/${r.question.type}`);
    return { response: buildAnswer(r.query, '192.0.2.10'), cacheStatus: 'MISS', policyAction: 'PASS', upstream: '127.0.0.1:53', upstreamLatencyUs: 1 };
  }
}

/** Serves lists from memory as if over HTTP (the int test uses a real server). */
class ListServer {
  readonly bodies = new Map<string, string | Error>();
  /** A fetch of one of these URLs waits for its promise. */
  readonly gates = new Map<string, Promise<void>>();
  readonly fetch: FetchLike = async (url) => {
    await this.gates.get(url);
    const body = this.bodies.get(url);
    if (body === undefined) return new Response('not found', { status: 404 });
    if (body instanceof Error) throw body;
    return new Response(body, { status: 200 });
  };
}

class CapturingLogger implements EdgeLogger {
  readonly lines: string[] = [];
  debug(): void {}
  info(): void {}
  warn(_o: object, msg?: string): void {
    this.lines.push(`warn ${msg ?? ''}`);
  }
  error(o: object, msg?: string): void {
    this.lines.push(`error ${msg ?? ''} ${JSON.stringify(o)}`);
  }
}

function setup(policy: Record<string, unknown>, lists: Record<string, string | Error>, bus: PipelineContext['bus'] = null) {
  const server = new ListServer();
  for (const [url, body] of Object.entries(lists)) server.bodies.set(url, body);
  const metrics = new RecordingMetrics();
  const logger = new CapturingLogger();
  const context: PipelineContext = { config: parseConfig({ policy: { reloadInterval: 0, ...policy } }), metrics, logger, bus };
  const stage = createPolicyStage(context, { fetch: server.fetch });
  const upstream = new Upstream();
  const resolver = stage.wrap(upstream);
  return { stage, resolver, upstream, metrics, logger, server };
}

const BLOCK = 'http://lists.test/block.txt';
const ALLOW = 'http://lists.test/allow.txt';
const RPZ = 'http://lists.test/rpz.zone';

describe('policy stage', () => {
  it('blocks a listed name and every name below it; passes the rest', async () => {
    const { stage, resolver, upstream, metrics } = setup({ blocklists: [BLOCK] }, { [BLOCK]: '0.0.0.0 ads.example.com\n||tracker.example^' });
    await stage.start();
    for (const name of ['ads.example.com', 'a.b.ads.example.com', 'X.Tracker.Example']) {
      const r = await resolver.resolve(request(name));
      expect(rcodeOf(r.response)).toBe('NXDOMAIN');
      expect(r.policyAction).toBe('BLOCKED');
      expect(r.cacheStatus).toBe('NONE');
    }
    const pass = await resolver.resolve(request('example.com'));
    expect(pass.policyAction).toBe('PASS');
    expect(upstream.asked).toEqual(['example.com/1']);
    expect(metrics.count('policy_hit|blocked')).toBe(3);
    expect(metrics.rules.get('block')).toBe(2);
    expect(metrics.count('policy_reload|success')).toBe(1);
  });

  it('lets allowlists and @@ exceptions override blocks (ALLOWLISTED)', async () => {
    const { stage, resolver, upstream, metrics } = setup(
      { blocklists: [BLOCK], allowlists: [ALLOW] },
      { [BLOCK]: 'example.com\n@@||cdn.example.com^\n', [ALLOW]: 'login.example.com\nunrelated.example' },
    );
    await stage.start();
    expect((await resolver.resolve(request('ads.example.com'))).policyAction).toBe('BLOCKED');
    for (const name of ['cdn.example.com', 'img.cdn.example.com', 'login.example.com']) {
      const r = await resolver.resolve(request(name));
      expect(rcodeOf(r.response)).toBe('NOERROR');
      expect(r.policyAction).toBe('ALLOWLISTED');
    }
    // On an allowlist but blocked by nothing: an ordinary pass.
    expect((await resolver.resolve(request('unrelated.example'))).policyAction).toBe('PASS');
    expect(upstream.asked).toHaveLength(4);
    expect(metrics.count('policy_hit|allowlisted')).toBe(3);
  });

  describe('block response shapes', () => {
    async function answer(blockResponse: string, name: string, type: dnsPacket.RecordType) {
      const { stage, resolver } = setup({ blocklists: [BLOCK], blockResponse }, { [BLOCK]: 'example.com' });
      await stage.start();
      const r = await resolver.resolve(request(name, type));
      return { r, decoded: dnsPacket.decode(r.response) };
    }

    it('nxdomain: NXDOMAIN with a synthetic SOA owned by the blocked domain', async () => {
      const { r, decoded } = await answer('nxdomain', 'a.b.example.com', 'A');
      expect(rcodeOf(r.response)).toBe('NXDOMAIN');
      expect(decoded.id).toBe(0x1234);
      expect(decoded.flag_qr).toBe(true);
      expect(decoded.flag_rd).toBe(true);
      expect(decoded.flag_ra).toBe(true);
      expect(decoded.flag_aa).toBe(false);
      expect(decoded.questions).toEqual([{ name: 'a.b.example.com', type: 'A', class: 'IN' }]);
      expect(decoded.answers).toEqual([]);
      expect(decoded.authorities).toEqual([
        {
          name: 'example.com', type: 'SOA', class: 'IN', ttl: 60, flush: false,
          data: { mname: 'blocked.ghostdns.invalid', rname: 'hostmaster.ghostdns.invalid', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
        },
      ]);
    });

    it.each<[dnsPacket.RecordType, string | null]>([
      ['A', '0.0.0.0'],
      ['AAAA', '::'],
      ['MX', null],
      ['TXT', null],
    ])('null, %s: %s', async (type, address) => {
      const { r, decoded } = await answer('null', 'ads.example.com', type);
      expect(rcodeOf(r.response)).toBe('NOERROR');
      expect(r.policyAction).toBe('BLOCKED');
      if (address === null) {
        expect(decoded.answers).toEqual([]);
        expect(decoded.authorities?.[0]).toMatchObject({ type: 'SOA', name: 'example.com' });
      } else {
        expect(decoded.answers).toEqual([{ name: 'ads.example.com', type, class: 'IN', ttl: 60, flush: false, data: address }]);
        expect(decoded.authorities).toEqual([]);
      }
    });

    it('refused: REFUSED, no records', async () => {
      const { r, decoded } = await answer('refused', 'example.com', 'A');
      expect(rcodeOf(r.response)).toBe('REFUSED');
      expect(r.policyAction).toBe('BLOCKED');
      expect(decoded.answers).toEqual([]);
      expect(decoded.authorities).toEqual([]);
    });
  });

  describe('RPZ', () => {
    const zone = [
      '$TTL 300',
      '$ORIGIN rpz.local.',
      '@ IN SOA ns.rpz.local. admin.rpz.local. (',
      '      1 ; serial',
      '      3600 600 86400 60 )',
      '  IN NS ns.rpz.local.',
      'nx.example       CNAME .',
      '*.nx.example     CNAME .',
      'nodata.example   CNAME *.',
      'ok.ads.example   CNAME rpz-passthru.',
      '*.wild.example   CNAME .',
      'local.example 60 IN A 10.1.2.3',
      '              IN A 10.1.2.4',
      '              AAAA fd00::1',
      '              TXT "walled garden" "v=1"',
      'alias.example    CNAME garden.example.',
      'rel.example      CNAME garden',
      '32.1.2.0.192.rpz-ip CNAME .',
      'drop.example     CNAME rpz-drop.',
      'mx.example       MX 10 mail.example.',
      'broken.example   CNAME . extra',
      'nx.example       A 1.2.3.4',
    ].join('\n');

    it('parses QNAME triggers and counts the rest', () => {
      const rpz = new RpzPolicy();
      expect(rpz.addZone(zone)).toEqual({ rules: 8, ignored: 3, invalid: 2 });
      expect(rpz.exact.size).toBe(6);
      expect(rpz.wildcard.size).toBe(2);
      const local = rpz.exactRules[rpz.exact.add('local.example')];
      expect(local?.records).toEqual([
        { type: 'A', ttl: 60, data: '10.1.2.3' },
        { type: 'A', ttl: 300, data: '10.1.2.4' },
        { type: 'AAAA', ttl: 300, data: 'fd00::1' },
        { type: 'TXT', ttl: 300, data: ['walled garden', 'v=1'] },
      ]);
      expect(rpz.exactRules[rpz.exact.add('rel.example')]?.records[0]?.data).toBe('garden.rpz.local');
    });

    it('without $ORIGIN, an absolute SOA owner names the zone; else names are taken as they are', () => {
      const a = new RpzPolicy();
      a.addZone('rpz.example. 300 IN SOA ns. admin. 1 2 3 4 5\nbad.example.rpz.example. CNAME .\nb2.example CNAME .');
      expect([a.exact.has('bad.example'), a.exact.has('b2.example')]).toEqual([true, true]);
      const b = new RpzPolicy();
      expect(b.addZone('bad.example CNAME .\noutside.example. CNAME .').rules).toBe(2);
      expect(b.exact.has('bad.example')).toBe(true);
    });

    it('the first zone to define a trigger wins', () => {
      const rpz = new RpzPolicy();
      rpz.addZone('a.example CNAME .');
      expect(rpz.addZone('a.example CNAME rpz-passthru.')).toEqual({ rules: 0, ignored: 1, invalid: 0 });
      expect(rpz.exactRules[0]?.action).toBe('nxdomain');
    });

    async function rpzSetup(extra: Record<string, unknown> = {}, lists: Record<string, string> = {}) {
      const s = setup({ rpzFiles: [RPZ], ...extra }, { [RPZ]: zone, ...lists });
      await s.stage.start();
      return s;
    }

    it.each<[string, dnsPacket.RecordType, string, number, string]>([
      ['nx.example', 'A', 'NXDOMAIN', 0, 'rpz_nxdomain'],
      ['a.nx.example', 'A', 'NXDOMAIN', 0, 'rpz_nxdomain'],
      ['nodata.example', 'A', 'NOERROR', 0, 'rpz_nodata'],
      ['x.y.wild.example', 'AAAA', 'NXDOMAIN', 0, 'rpz_nxdomain'],
      ['local.example', 'A', 'NOERROR', 2, 'rpz_local_data'],
      ['local.example', 'AAAA', 'NOERROR', 1, 'rpz_local_data'],
      ['local.example', 'TXT', 'NOERROR', 1, 'rpz_local_data'],
      ['local.example', 'MX', 'NOERROR', 0, 'rpz_local_data'],
    ])('%s %s → %s with %i answers', async (name, type, rcode, answers, hit) => {
      const { resolver, upstream, metrics } = await rpzSetup();
      const r = await resolver.resolve(request(name, type));
      expect(rcodeOf(r.response)).toBe(rcode);
      expect(r.policyAction).toBe('BLOCKED');
      expect(dnsPacket.decode(r.response).answers).toHaveLength(answers);
      expect(upstream.asked).toEqual([]);
      expect(metrics.count(`policy_hit|${hit}`)).toBe(1);
    });

    it('a wildcard matches below its name only', async () => {
      const { resolver } = await rpzSetup();
      expect((await resolver.resolve(request('wild.example'))).policyAction).toBe('PASS');
    });

    it('local data answers with the records, owned by the qname', async () => {
      const { resolver } = await rpzSetup();
      const decoded = dnsPacket.decode((await resolver.resolve(request('Local.Example', 'A'))).response);
      expect(decoded.answers).toEqual([
        { name: 'Local.Example', type: 'A', class: 'IN', ttl: 60, flush: false, data: '10.1.2.3' },
        { name: 'Local.Example', type: 'A', class: 'IN', ttl: 300, flush: false, data: '10.1.2.4' },
      ]);
    });

    it('a local-data CNAME is followed through the rest of the pipeline', async () => {
      const { resolver, upstream } = await rpzSetup();
      const r = await resolver.resolve(request('alias.example', 'A'));
      const decoded = dnsPacket.decode(r.response);
      expect(upstream.asked).toEqual(['garden.example/1']);
      expect(decoded.id).toBe(0x1234);
      expect(decoded.questions?.[0]?.name).toBe('alias.example');
      expect(decoded.answers?.map((a) => [a.name, a.type, 'data' in a ? a.data : null])).toEqual([
        ['alias.example', 'CNAME', 'garden.example'],
        ['garden.example', 'A', '192.0.2.10'],
      ]);
      expect(r.policyAction).toBe('BLOCKED');
      expect(r.upstream).toBe('127.0.0.1:53');
    });

    it('PASSTHRU exempts a name from the blocklists (ALLOWLISTED)', async () => {
      const { resolver, upstream, metrics } = await rpzSetup({ blocklists: [BLOCK] }, { [BLOCK]: 'ads.example' });
      expect((await resolver.resolve(request('x.ads.example'))).policyAction).toBe('BLOCKED');
      const r = await resolver.resolve(request('ok.ads.example'));
      expect(r.policyAction).toBe('ALLOWLISTED');
      expect(rcodeOf(r.response)).toBe('NOERROR');
      expect(upstream.asked).toEqual(['ok.ads.example/1']);
      expect(metrics.count('policy_hit|rpz_passthru')).toBe(1);
    });

    it('an allowlist beats an RPZ trigger', async () => {
      const { resolver } = await rpzSetup({ allowlists: [ALLOW] }, { [ALLOW]: 'nx.example' });
      expect((await resolver.resolve(request('nx.example'))).policyAction).toBe('ALLOWLISTED');
    });
  });

  describe('reload', () => {
    it('swaps in the new lists', async () => {
      const { stage, resolver, server, metrics } = setup({ blocklists: [BLOCK] }, { [BLOCK]: 'old.example' });
      await stage.start();
      expect((await resolver.resolve(request('old.example'))).policyAction).toBe('BLOCKED');
      server.bodies.set(BLOCK, 'new.example');
      await stage.reload();
      expect((await resolver.resolve(request('old.example'))).policyAction).toBe('PASS');
      expect((await resolver.resolve(request('new.example'))).policyAction).toBe('BLOCKED');
      expect(metrics.count('policy_reload|success')).toBe(2);
    });

    it.each<[string, string | Error]>([
      ['a network error', new Error('connect ECONNREFUSED')],
      ['HTTP 404', 'missing'],
    ])('keeps the previous lists when a source fails (%s)', async (_label, failure) => {
      const other = 'http://lists.test/other.txt';
      const { stage, resolver, server, metrics, logger } = setup({ blocklists: [BLOCK, other] }, { [BLOCK]: 'old.example', [other]: 'other.example' });
      await stage.start();
      server.bodies.set(other, 'changed.example');
      if (failure === 'missing') server.bodies.delete(BLOCK);
      else server.bodies.set(BLOCK, failure);
      const before = stage.snapshot;
      await stage.reload();
      expect(stage.snapshot).toBe(before);
      expect((await resolver.resolve(request('old.example'))).policyAction).toBe('BLOCKED');
      expect((await resolver.resolve(request('changed.example'))).policyAction).toBe('PASS');
      expect(metrics.count('policy_reload|failure')).toBe(1);
      expect(logger.lines.some((l) => l.includes('policy list could not be loaded') && l.includes(BLOCK))).toBe(true);
      expect(logger.lines).toContain('warn policy reload failed; keeping the previous lists');
    });

    it('starts with what could be loaded when a source fails at start', async () => {
      const { stage, resolver, metrics } = setup({ blocklists: [BLOCK, 'http://lists.test/down.txt'] }, { [BLOCK]: 'ads.example' });
      await stage.start();
      expect((await resolver.resolve(request('ads.example'))).policyAction).toBe('BLOCKED');
      expect(metrics.count('policy_reload|failure')).toBe(1);
      expect(stage.snapshot.sources.map((s) => s.ok)).toEqual([true, false]);
    });

    it('coalesces concurrent reloads', async () => {
      let fetches = 0;
      const { stage } = setup({ blocklists: [BLOCK] }, { [BLOCK]: 'a.example' });
      await stage.start();
      const original = (stage as unknown as { options: { fetch: FetchLike } }).options.fetch;
      (stage as unknown as { options: { fetch: FetchLike } }).options.fetch = (url, init) => {
        fetches++;
        return original(url, init);
      };
      await Promise.all([stage.reload(), stage.reload(), stage.reload()]);
      expect(fetches).toBe(1);
    });

    it('answers from the old lists while a reload is loading', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const { stage, resolver, server } = setup({ blocklists: [BLOCK] }, { [BLOCK]: 'old.example' });
      await stage.start();
      const original = server.fetch;
      (stage as unknown as { options: { fetch: FetchLike } }).options.fetch = async (url, init) => {
        await gate;
        return original(url, init);
      };
      server.bodies.set(BLOCK, 'new.example');
      const reloading = stage.reload();
      expect((await resolver.resolve(request('old.example'))).policyAction).toBe('BLOCKED');
      release();
      await reloading;
      expect((await resolver.resolve(request('new.example'))).policyAction).toBe('BLOCKED');
    });
  });

  it('guard: tells the fast path which queries a rule touches', async () => {
    const { stage } = setup({ blocklists: [BLOCK], allowlists: [ALLOW] }, { [BLOCK]: 'ads.example', [ALLOW]: 'ok.example' });
    expect(stage.guard.active).toBe(false);
    expect(stage.guard.matches(buildQuery('ads.example'))).toBe(false);
    await stage.start();
    expect(stage.guard.active).toBe(true);
    expect(stage.guard.matches(buildQuery('x.ads.example'))).toBe(true);
    expect(stage.guard.matches(buildQuery('ok.example'))).toBe(true);
    expect(stage.guard.matches(buildQuery('clean.example'))).toBe(false);
  });

  it('is a pass-through with no lists configured', async () => {
    const { stage, resolver, upstream } = setup({}, {});
    await stage.start();
    expect((await resolver.resolve(request('anything.example'))).policyAction).toBe('PASS');
    expect(upstream.asked).toHaveLength(1);
    await stage.stop();
  });
});

describe('lists and custom domains from the API (policy.changes.v1)', () => {
  const API = 'http://lists.test/api.txt';
  let seq = 0;
  const change = (entity: PolicyChangeEvent['entity'], id: string, fields: Partial<PolicyChangeEvent>): PolicyChangeEvent => ({
    event_id: `event-${++seq}`, op: 'UPSERT', entity, id, kind: 'BLOCK', source: null, format: null, enabled: null, domain: null,
    changed_at_us: 1_700_000_000_000_000, actor: 'token:test:1', ...fields,
  });
  const entry = (id: string, domain: string | null, fields: Partial<PolicyChangeEvent> = {}): PolicyChangeEvent => change('ENTRY', id, { domain, ...fields });
  const list = (id: string, fields: Partial<PolicyChangeEvent> = {}): PolicyChangeEvent =>
    change('LIST', id, { source: API, format: 'AUTO', enabled: true, ...fields });
  const action = async (resolver: Resolver, name: string): Promise<Resolution['policyAction']> => (await resolver.resolve(request(name))).policyAction;
  const loaded = (stage: PolicyStage, id: string, name: string): Promise<boolean> =>
    waitFor(() => stage.managed.listStates().some((l) => l.spec.id === id && l.content?.block.has(name) === true), {
      timeoutMs: 5_000, intervalMs: 5, description: `list ${id} holding ${name}`,
    });

  it('a custom domain blocks it and every name below it until its DELETE; an allow entry beats a configured block', async () => {
    const { stage, resolver, metrics } = setup({ blocklists: [BLOCK] }, { [BLOCK]: 'example.com' });
    await stage.start();
    stage.managed.apply([entry('e1', 'Ads.Example.NET.'), entry('e2', 'login.example.com', { kind: 'ALLOW' })]);
    const blocked = await resolver.resolve(request('x.ads.example.net'));
    expect(blocked.policyAction).toBe('BLOCKED');
    expect(dnsPacket.decode(blocked.response).authorities?.[0]?.name).toBe('ads.example.net');
    expect(await action(resolver, 'login.example.com')).toBe('ALLOWLISTED');
    expect(await action(resolver, 'www.example.com')).toBe('BLOCKED');
    expect(stage.guard.matches(buildQuery('ads.example.net'))).toBe(true);
    expect(metrics.entries).toEqual(new Map([['block', 1], ['allow', 1]]));
    expect(metrics.rules.get('block')).toBe(2);

    stage.managed.apply([entry('e1', 'ads.example.net', { op: 'DELETE' })]);
    expect(await action(resolver, 'x.ads.example.net')).toBe('PASS');
    expect(stage.guard.matches(buildQuery('ads.example.net'))).toBe(false);
    expect(metrics.entries.get('block')).toBe(0);
  });

  it('keeps state per id: the last event of each entry decides, whatever the order of different ids', async () => {
    const { stage, resolver } = setup({}, {});
    await stage.start();
    stage.managed.apply([entry('old', 'dup.example'), entry('moved', 'one.example')]);
    // Entry "old" deleted and "new" created for the same domain, seen in the other order.
    stage.managed.apply([entry('new', 'dup.example'), entry('old', 'dup.example', { op: 'DELETE' }), entry('moved', 'two.example')]);
    expect(await action(resolver, 'dup.example')).toBe('BLOCKED');
    expect(await action(resolver, 'one.example')).toBe('PASS');
    expect(await action(resolver, 'two.example')).toBe('BLOCKED');
  });

  it.each<[string, PolicyChangeEvent, string]>([
    ['an entry domain that is an address', entry('bad', '10.0.0.1'), 'policy entry change without a valid domain skipped'],
    ['an entry without a domain', entry('bad', null), 'policy entry change without a valid domain skipped'],
    ['a list with an ftp: source', list('bad', { source: 'ftp://lists.test/x' }), 'policy list change without an http(s) URL or absolute path skipped'],
    ['a list with a relative path', list('bad', { source: 'lists/x.txt' }), 'policy list change without an http(s) URL or absolute path skipped'],
    ['a list without a source', list('bad', { source: null }), 'policy list change without an http(s) URL or absolute path skipped'],
  ])('skips and logs %s', async (_label, event, line) => {
    const { stage, logger, metrics } = setup({}, {});
    stage.managed.apply([event]);
    expect(logger.lines).toEqual([`warn ${line}`]);
    expect(stage.managed.listStates()).toEqual([]);
    expect(stage.view.size).toBe(0);
    expect(metrics.entries.get('block') ?? 0).toBe(0);
  });

  it('reads a list with its format, beside the configured lists; DELETE drops it', async () => {
    const { stage, resolver, metrics } = setup(
      { blocklists: [BLOCK] },
      { [BLOCK]: 'configured.example', [API]: '0.0.0.0 hosts.example\n||adblock.example^\nplain.example\n' },
    );
    await stage.start();
    stage.managed.apply([list('l1', { format: 'HOSTS' })]);
    await loaded(stage, 'l1', 'hosts.example');
    expect(await action(resolver, 'www.hosts.example')).toBe('BLOCKED');
    expect(await action(resolver, 'configured.example')).toBe('BLOCKED');
    expect(await action(resolver, 'adblock.example')).toBe('PASS');
    expect(await action(resolver, 'plain.example')).toBe('PASS');
    expect(stage.managed.listStates()[0]?.content?.stats).toEqual({ block: 1, allow: 0, ignored: 0, invalid: 2 });
    expect(metrics.rules.get('block')).toBe(2);

    stage.managed.apply([list('l1', { op: 'DELETE' })]);
    expect(await action(resolver, 'hosts.example')).toBe('PASS');
    expect(await action(resolver, 'configured.example')).toBe('BLOCKED');
    expect(metrics.rules.get('block')).toBe(1);
  });

  it('an ALLOW list allows every name it holds, over configured blocks', async () => {
    const { stage, resolver } = setup({ blocklists: [BLOCK] }, { [BLOCK]: 'example.com', [API]: '0.0.0.0 www.example.com\n||cdn.example.com^' });
    await stage.start();
    stage.managed.apply([list('allow', { kind: 'ALLOW' })]);
    await waitFor(() => stage.view.allow.size === 2, { timeoutMs: 5_000, intervalMs: 5, description: 'the allow list' });
    expect(await action(resolver, 'www.example.com')).toBe('ALLOWLISTED');
    expect(await action(resolver, 'img.cdn.example.com')).toBe('ALLOWLISTED');
    expect(await action(resolver, 'ads.example.com')).toBe('BLOCKED');
  });

  it('disabling drops a list at once; enabling reads it again', async () => {
    const { stage, resolver, server } = setup({}, { [API]: 'first.example' });
    await stage.start();
    stage.managed.apply([list('l1')]);
    await loaded(stage, 'l1', 'first.example');
    stage.managed.apply([list('l1', { enabled: false })]);
    expect(await action(resolver, 'first.example')).toBe('PASS');
    expect(stage.managed.listStates()[0]?.content).toBeNull();
    server.bodies.set(API, 'second.example');
    stage.managed.apply([list('l1', { enabled: true })]);
    await loaded(stage, 'l1', 'second.example');
    expect(await action(resolver, 'second.example')).toBe('BLOCKED');
  });

  it("a failed read keeps that list's previous content, counted and logged; a list that never loaded holds nothing", async () => {
    const other = 'http://lists.test/down.txt';
    const { stage, resolver, server, metrics, logger } = setup({}, { [API]: 'kept.example' });
    await stage.start();
    stage.managed.apply([list('l1'), list('l2', { source: other })]);
    await loaded(stage, 'l1', 'kept.example');
    await waitFor(() => metrics.count('policy_list_failure|api') === 1, { timeoutMs: 5_000, intervalMs: 5, description: 'the 404 counted' });
    server.bodies.set(API, new Error('connect ECONNRESET'));
    await stage.reload();
    expect(await action(resolver, 'kept.example')).toBe('BLOCKED');
    expect(metrics.count('policy_list_failure|api')).toBe(3);
    expect(logger.lines.filter((l) => l.startsWith('error policy list from the API could not be loaded; keeping its previous content'))).toHaveLength(3);
    expect(logger.lines.some((l) => l.includes('ECONNRESET') && l.includes('"kept":true'))).toBe(true);
    expect(stage.managed.listStates().find((l) => l.spec.id === 'l2')?.content).toBeNull();
  });

  it('another source keeps the old names until the new ones are in; a read overtaken by a later change is dropped', async () => {
    const slow = 'http://lists.test/slow.txt';
    const fast = 'http://lists.test/fast.txt';
    let release: () => void = () => undefined;
    const { stage, resolver, server } = setup({}, { [API]: 'old.example', [slow]: 'slow.example', [fast]: 'fast.example' });
    server.gates.set(slow, new Promise<void>((r) => (release = r)));
    await stage.start();
    stage.managed.apply([list('l1')]);
    await loaded(stage, 'l1', 'old.example');
    stage.managed.apply([list('l1', { source: slow })]);
    expect(await action(resolver, 'old.example')).toBe('BLOCKED');
    stage.managed.apply([list('l1', { source: fast })]);
    await loaded(stage, 'l1', 'fast.example');
    release();
    // A read of the current source, started after the overtaken one was released, settles after it.
    await stage.reload();
    expect(await action(resolver, 'fast.example')).toBe('BLOCKED');
    expect(await action(resolver, 'slow.example')).toBe('PASS');
    expect(await action(resolver, 'old.example')).toBe('PASS');
  });

  it('reload reads the API lists again, with no list configured', async () => {
    const { stage, resolver, server } = setup({}, { [API]: 'one.example' });
    await stage.start();
    stage.managed.apply([list('l1')]);
    await loaded(stage, 'l1', 'one.example');
    server.bodies.set(API, 'two.example');
    await stage.reload();
    expect(await action(resolver, 'one.example')).toBe('PASS');
    expect(await action(resolver, 'two.example')).toBe('BLOCKED');
  });

  it('follows the topic from the beginning', async () => {
    const bus = createInProcessBus({ logger: silentLogger });
    await bus.connect();
    try {
      await bus.publish(Topics.policyChanges, [entry('e1', 'early.example')]);
      const { stage, resolver } = setup({}, {}, bus);
      await stage.start();
      await waitFor(async () => (await action(resolver, 'early.example')) === 'BLOCKED', { timeoutMs: 5_000, intervalMs: 5, description: 'the replayed entry' });
      await bus.publish(Topics.policyChanges, [entry('e1', 'early.example', { op: 'DELETE' })]);
      await waitFor(async () => (await action(resolver, 'early.example')) === 'PASS', { timeoutMs: 5_000, intervalMs: 5, description: 'the DELETE' });
      await stage.stop();
    } finally {
      await bus.close();
    }
  });
});

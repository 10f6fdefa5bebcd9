// Unit: zone file parsing (dns-zonefile wrapped), lookups (AA, NXDOMAIN/NODATA
// with the SOA, CNAME, referral, wildcard, ANY), AXFR/IXFR out and its
// splitting, dynamic records and presence names through an in-process bus,
// RFC 1982 serials and the secondary's timers. Nothing listens on a socket.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInProcessBus, silentLogger, type EventBus } from '@ghostdns/bus';
import { parseConfig, type GhostConfigInput } from '@ghostdns/config';
import { Topics, type PresenceEvent, type RecordChangeEvent } from '@ghostdns/contracts';
import dnsPacket from 'dns-packet';
import zonefile from 'dns-zonefile';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientInfo, Resolution, ResolveRequest, Resolver } from '../src/dns/resolver.js';
import { readHeader, readQuestion } from '../src/dns/wire.js';
import { noopResolverMetrics } from '../src/metrics.js';
import { buildAxfrMessages, TransferAcl } from '../src/zones/axfr.js';
import { createLocalDataStage, type LocalDataStage } from '../src/zones/index.js';
import { SecondaryZone, serialGreater, type SecondarySpec, type ZoneTransferClient } from '../src/zones/secondary.js';
import { LocalDataStore, ZoneData } from '../src/zones/store.js';
import { loadZoneFile, parseZoneText, ZoneFileError, type ZoneRecord } from '../src/zones/zone-file.js';
import { rcodeOf } from './support.js';

/** Polls until `condition` returns a value (no sleeps: a deadline, short polls). */
async function waitFor<T>(condition: () => Promise<T | null | false>, opts: { description: string; timeoutMs: number }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.description}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/zones/${name}`, import.meta.url));
const SEED = fixture('db.codeandcore.home');
const LAB = fixture('db.lab.test');

const UDP: ClientInfo = { address: '127.0.0.1', port: 5300, family: 'IPv4', transport: 'UDP' };
const TCP: ClientInfo = { ...UDP, transport: 'TCP' };

function request(name: string, type: dnsPacket.RecordType | number, opts: { client?: ClientInfo; id?: number; rd?: boolean; edns?: { size: number; do?: boolean } } = {}): ResolveRequest {
  const query = dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x4242,
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: typeof type === 'number' ? 'A' : type, class: 'IN' }],
    additionals: opts.edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns.size, flags: opts.edns.do ? dnsPacket.DNSSEC_OK : 0 } as dnsPacket.Answer]
      : [],
  });
  if (typeof type === 'number') {
    // dns-packet cannot name every type; patch the number in (question ends right after the name).
    const q = readQuestion(query)!;
    query.writeUInt16BE(type, q.end - 4);
  }
  return { query, header: readHeader(query)!, question: readQuestion(query)!, client: opts.client ?? UDP };
}

class NextStub implements Resolver {
  calls = 0;
  async resolve(req: ResolveRequest): Promise<Resolution> {
    this.calls++;
    return { response: Buffer.from(req.query), cacheStatus: 'MISS', policyAction: 'PASS', upstream: 'next', upstreamLatencyUs: 1 };
  }
}

function makeStage(input: GhostConfigInput['dns'] = {}, extra: { bus?: EventBus; transferClient?: ZoneTransferClient; presenceSuffix?: string } = {}): { stage: LocalDataStage; next: NextStub; resolver: Resolver } {
  const config = parseConfig({ dns: { zoneFiles: [`codeandcore.home:${SEED}`, `lab.test:${LAB}`], allowTransfer: ['127.0.0.0/8'], ...input }, presence: { suffix: extra.presenceSuffix ?? 'vpn.local' } });
  const stage = createLocalDataStage(
    { config, metrics: noopResolverMetrics, logger: silentLogger, bus: extra.bus ?? null },
    extra.transferClient ? { transferClient: extra.transferClient } : {},
  );
  const next = new NextStub();
  return { stage, next, resolver: stage.wrap(next) };
}

const decode = (msg: Buffer): dnsPacket.DecodedPacket => dnsPacket.decode(msg);
const aa = (msg: Buffer): boolean => ((msg[2] ?? 0) & 0x04) !== 0;
const data = (rrs: readonly dnsPacket.Answer[] | undefined): string[] =>
  (rrs ?? []).map((r) => `${r.name} ${r.type} ${typeof (r as { data?: unknown }).data === 'string' ? String((r as { data: string }).data) : JSON.stringify((r as { data?: unknown }).data)}`);

describe('dns-zonefile on the seed zone (verified before wrapping)', () => {
  it('parses db.codeandcore.home on its own', () => {
    const parsed = zonefile.parse(readFileSync(SEED, 'utf8'));
    expect(parsed.soa).toMatchObject({ serial: 2026051301, refresh: 3600, retry: 1800, expire: 1209600, minimum: 86400, mname: 'ns1.codeandcore.home.' });
    expect(parsed.ns?.map((n) => n.host)).toEqual(['ns1.codeandcore.home.', 'ns2.codeandcore.home.']);
    expect(parsed.a).toHaveLength(10);
  });

  it('falls short elsewhere: a one-line SOA followed by a parenthesised record is mangled, bad rdata accepted', () => {
    const parsed = zonefile.parse('@ IN SOA a. b. 1 2 3 4 5\nm IN MX (10\n mail)\nbad IN A not-an-ip\n');
    expect(parsed.soa?.serial).not.toBe(1);
    expect(() => parseZoneText('x', '@ 60 IN SOA a. b. 1 2 3 4 5\nm 60 IN MX (10\n mail)\n')).not.toThrow();
  });
});

describe('zone file parsing', () => {
  it('loads the seed zone: SOA, 2 NS, 10 A, names qualified', async () => {
    const zone = await loadZoneFile('codeandcore.home', SEED);
    expect(zone.records).toHaveLength(13);
    expect(zone.records[0]).toMatchObject({ name: 'codeandcore.home', type: 'SOA', ttl: 86400, data: { serial: 2026051301, rname: 'admin.codeandcore.home' } });
    expect(zone.records.find((r) => r.name === 'nas.codeandcore.home')).toMatchObject({ type: 'A', data: '192.168.238.20', ttl: 86400 });
  });

  const ok: Array<[string, string, Partial<ZoneRecord> & { name: string }]> = [
    ['TTL units', '$TTL 1d\n@ IN SOA a. b. 1 1h 2m 3w 4s\nx 1h30m IN A 192.0.2.1\n', { name: 'x.z', ttl: 5400 }],
    ['class before TTL', '@ 60 IN SOA a. b. 1 2 3 4 5\nx IN 300 A 192.0.2.1\n', { name: 'x.z', ttl: 300 }],
    ['blank owner inherits the previous owner across types', '@ 60 IN SOA a. b. 1 2 3 4 5\nx 60 IN A 192.0.2.1\n  60 IN TXT "hi"\n', { name: 'x.z', type: 'TXT' }],
    ['$ORIGIN changes relative names', '@ 60 IN SOA a. b. 1 2 3 4 5\n$ORIGIN sub.z.\nx 60 IN A 192.0.2.1\n', { name: 'x.sub.z' }],
    ['no $TTL: last explicit TTL', '@ 60 IN SOA a. b. 1 2 3 4 5\nx IN A 192.0.2.1\n', { name: 'x.z', ttl: 60 }],
    ['multi-line MX', '@ 60 IN SOA a. b. 1 2 3 4 5\nm 60 IN MX ( 10 ; pref\n mail )\n', { name: 'm.z', data: { preference: 10, exchange: 'mail.z' } }],
    ['TXT strings keep their boundaries and semicolons', '@ 60 IN SOA a. b. 1 2 3 4 5\nt 60 IN TXT "a; b" "c\\"d"\n', { name: 't.z', data: ['a; b', 'c"d'] }],
    ['CAA', '@ 60 IN SOA a. b. 1 2 3 4 5\n@ 60 IN CAA 0 issue "letsencrypt.org"\n', { name: 'z', type: 'CAA', data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' } }],
  ];
  it.each(ok)('%s', (_label, text, expected) => {
    const { records } = parseZoneText('z', text, 'test.zone');
    expect(records.find((r) => r.name === expected.name && (expected.type === undefined || r.type === expected.type))).toMatchObject(expected);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['missing SOA', '$TTL 60\nx IN A 192.0.2.1\n', /bad\.zone: zone z has no SOA/],
    ['bad A address', '@ 60 IN SOA a. b. 1 2 3 4 5\n\nnas IN A 192.168.238.999\n', /bad\.zone:3: bad A address "192\.168\.238\.999"/],
    ['unsupported type', '@ 60 IN SOA a. b. 1 2 3 4 5\nx IN HINFO a b\n', /bad\.zone:2: unsupported record type "HINFO"/],
    ['wrong rdata count', '@ 60 IN SOA a. b. 1 2 3 4 5\nx IN A 192.0.2.1 192.0.2.2\n', /bad\.zone:2: A needs 1 rdata field, got 2/],
    ['unbalanced (', '@ 60 IN SOA a. b. ( 1 2 3 4 5\n', /bad\.zone:1: unbalanced "\("/],
    ['unbalanced )', '@ 60 IN SOA a. b. 1 2 3 4 5 )\n', /bad\.zone:1: unbalanced "\)"/],
    ['unterminated quote', '@ 60 IN SOA a. b. 1 2 3 4 5\nt IN TXT "abc\n', /bad\.zone:2: unterminated quoted string/],
    ['owner outside the zone', '@ 60 IN SOA a. b. 1 2 3 4 5\nx.other. IN A 192.0.2.1\n', /bad\.zone:2: owner x\.other is outside zone z/],
    ['no TTL at all', '@ IN SOA a. b. 1 2 3 4 5\n', /bad\.zone:1: no TTL given/],
    ['CNAME and other data', '@ 60 IN SOA a. b. 1 2 3 4 5\nx IN CNAME y\nx IN A 192.0.2.1\n', /x\.z has a CNAME and other data/],
    ['two SOAs', '@ 60 IN SOA a. b. 1 2 3 4 5\n@ 60 IN SOA a. b. 2 2 3 4 5\n', /bad\.zone:2: more than one SOA/],
    ['$INCLUDE', '$INCLUDE other.zone\n', /bad\.zone:1: unsupported directive \$INCLUDE/],
    ['class CH', '@ 60 IN SOA a. b. 1 2 3 4 5\nx CH A 192.0.2.1\n', /bad\.zone:2: class CH is not supported/],
    ['bad SOA timer', '@ 60 IN SOA a. b. 1 2 3 x 5\n', /bad\.zone:1: bad SOA expire "x"/],
    ['bad name', '@ 60 IN SOA a. b. 1 2 3 4 5\nx IN CNAME bad..name\n', /bad\.zone:2: bad domain name "bad\.\.name"/],
  ];
  it.each(bad)('rejects: %s, naming file and line', (_label, text, message) => {
    expect(() => parseZoneText('z', text, 'bad.zone')).toThrow(message);
    try {
      parseZoneText('z', text, 'bad.zone');
    } catch (err) {
      expect(err).toBeInstanceOf(ZoneFileError);
      expect((err as ZoneFileError).code).toBe('GHOSTDNS_RESOLVER_ZONE_PARSE');
    }
  });

  it('a missing file names the file', async () => {
    await expect(loadZoneFile('z', '/nonexistent/db.z')).rejects.toThrow(/\/nonexistent\/db\.z: cannot read zone file for z \(ENOENT\)/);
  });

  it('the stage refuses to start on a broken zone file, and keeps the old zone on a broken reload', async () => {
    const { stage } = makeStage({ zoneFiles: ['z:/nonexistent/db.z'] });
    await expect(stage.start?.()).rejects.toThrow(/ENOENT/);

    const dir = mkdtempSync(path.join(tmpdir(), 'zones-reload-'));
    const file = path.join(dir, 'db.codeandcore.home');
    try {
      copyFileSync(SEED, file);
      const s = makeStage({ zoneFiles: [`codeandcore.home:${file}`] });
      await s.stage.start?.();
      writeFileSync(file, '$TTL 60\nbroken IN A 1.2.3\n');
      await s.stage.reload?.();
      expect(rcodeOf((await s.resolver.resolve(request('nas.codeandcore.home', 'A'))).response)).toBe('NOERROR');
      writeFileSync(file, `${readFileSync(SEED, 'utf8')}\nadded IN A 192.0.2.200\n`);
      await s.stage.reload?.();
      expect(data(decode((await s.resolver.resolve(request('added.codeandcore.home', 'A'))).response).answers)).toEqual(['added.codeandcore.home A 192.0.2.200']);
      await s.stage.stop?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('authoritative answers from the seed zone', () => {
  let s: ReturnType<typeof makeStage>;
  beforeEach(async () => {
    s = makeStage();
    await s.stage.start?.();
  });
  afterEach(async () => {
    await s.stage.stop?.();
  });

  const cases: Array<{ label: string; name: string; type: dnsPacket.RecordType | number; client?: ClientInfo; rcode: string; aa: boolean; answers: unknown[]; authority?: unknown[]; additional?: string[] }> = [
    { label: 'A', name: 'nas.codeandcore.home', type: 'A', rcode: 'NOERROR', aa: true, answers: ['nas.codeandcore.home A 192.168.238.20'] },
    { label: 'case-insensitive', name: 'NAS.CodeAndCore.Home', type: 'A', rcode: 'NOERROR', aa: true, answers: ['nas.codeandcore.home A 192.168.238.20'] },
    {
      label: 'NS with glue', name: 'codeandcore.home', type: 'NS', rcode: 'NOERROR', aa: true,
      answers: ['codeandcore.home NS ns1.codeandcore.home', 'codeandcore.home NS ns2.codeandcore.home'],
      additional: ['ns1.codeandcore.home A 192.168.238.128', 'ns2.codeandcore.home A 10.10.10.250'],
    },
    { label: 'SOA', name: 'codeandcore.home', type: 'SOA', rcode: 'NOERROR', aa: true, answers: [expect.stringContaining('codeandcore.home SOA')] },
    { label: 'NXDOMAIN with SOA (RFC 2308 §2.1)', name: 'nope.codeandcore.home', type: 'A', rcode: 'NXDOMAIN', aa: true, answers: [], authority: [expect.stringContaining('codeandcore.home SOA')] },
    { label: 'NODATA with SOA (RFC 2308 §2.2)', name: 'nas.codeandcore.home', type: 'AAAA', rcode: 'NOERROR', aa: true, answers: [], authority: [expect.stringContaining('codeandcore.home SOA')] },
    { label: 'unknown qtype is NODATA', name: 'nas.codeandcore.home', type: 65, rcode: 'NOERROR', aa: true, answers: [] },
    { label: 'CNAME chain inside the zone', name: 'www.lab.test', type: 'A', rcode: 'NOERROR', aa: true, answers: ['www.lab.test CNAME web.lab.test', 'web.lab.test CNAME host.deep.lab.test', 'host.deep.lab.test A 192.0.2.80'] },
    { label: 'CNAME query answers the CNAME only', name: 'www.lab.test', type: 'CNAME', rcode: 'NOERROR', aa: true, answers: ['www.lab.test CNAME web.lab.test'] },
    { label: 'CNAME out of zone stops', name: 'outside.lab.test', type: 'A', rcode: 'NOERROR', aa: true, answers: ['outside.lab.test CNAME www.example.org'] },
    { label: 'dangling CNAME: NXDOMAIN (RFC 6604)', name: 'dangling.lab.test', type: 'A', rcode: 'NXDOMAIN', aa: true, answers: ['dangling.lab.test CNAME missing.lab.test'], authority: [expect.stringContaining('lab.test SOA')] },
    { label: 'CNAME loop terminates', name: 'loop1.lab.test', type: 'A', rcode: 'NOERROR', aa: true, answers: ['loop1.lab.test CNAME loop2.lab.test', 'loop2.lab.test CNAME loop1.lab.test'] },
    { label: 'empty non-terminal is NODATA', name: 'deep.lab.test', type: 'A', rcode: 'NOERROR', aa: true, answers: [], authority: [expect.stringContaining('lab.test SOA')] },
    { label: 'wildcard (RFC 4592)', name: 'any.thing.wild.lab.test', type: 'A', rcode: 'NOERROR', aa: true, answers: ['any.thing.wild.lab.test A 192.0.2.99'] },
    { label: 'referral below a delegation: no AA, NS + glue', name: 'x.sub.lab.test', type: 'A', rcode: 'NOERROR', aa: false, answers: [], authority: ['sub.lab.test NS ns.sub.lab.test'], additional: ['ns.sub.lab.test A 192.0.2.53'] },
    { label: 'MX with additional addresses', name: 'lab.test', type: 'MX', rcode: 'NOERROR', aa: true, answers: ['lab.test MX {"preference":10,"exchange":"mail.lab.test"}'], additional: ['mail.lab.test A 192.0.2.25', 'mail.lab.test AAAA 2001:db8::25'] },
    { label: 'SRV', name: '_sip._tcp.lab.test', type: 'SRV', rcode: 'NOERROR', aa: true, answers: ['_sip._tcp.lab.test SRV {"priority":10,"weight":5,"port":5060,"target":"host.deep.lab.test"}'], additional: ['host.deep.lab.test A 192.0.2.80'] },
    { label: 'ANY over UDP: one RRset (RFC 8482)', name: 'mail.lab.test', type: 255, rcode: 'NOERROR', aa: true, answers: ['mail.lab.test A 192.0.2.25'] },
    { label: 'ANY over TCP: everything', name: 'mail.lab.test', type: 255, client: TCP, rcode: 'NOERROR', aa: true, answers: ['mail.lab.test A 192.0.2.25', 'mail.lab.test AAAA 2001:db8::25'] },
  ];
  it.each(cases)('$label', async (c) => {
    const r = await s.resolver.resolve(request(c.name, c.type, { client: c.client ?? UDP }));
    expect(s.next.calls).toBe(0);
    expect(r).toMatchObject({ cacheStatus: 'NONE', policyAction: 'LOCAL_DATA', upstream: null });
    expect(rcodeOf(r.response)).toBe(c.rcode);
    expect(aa(r.response)).toBe(c.aa);
    const p = decode(r.response);
    expect(data(p.answers)).toEqual(c.answers);
    if (c.authority) expect(data(p.authorities)).toEqual(c.authority);
    if (c.additional) expect(data(p.additionals)).toEqual(c.additional);
  });

  it('negative answers carry the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308 §3)', async () => {
    const r = await s.resolver.resolve(request('nope.lab.test', 'A'));
    expect(decode(r.response).authorities?.[0]).toMatchObject({ type: 'SOA', ttl: 300 });
  });

  it('keeps the client ID, RD and question case, and echoes EDNS with DO', async () => {
    const r = await s.resolver.resolve(request('NaS.codeandcore.home', 'A', { id: 0xbeef, edns: { size: 4096, do: true } }));
    const p = decode(r.response);
    expect(p.id).toBe(0xbeef);
    expect(p.flag_rd).toBe(true);
    expect(p.questions?.[0]?.name).toBe('NaS.codeandcore.home');
    const opt = p.additionals?.find((a) => a.type === 'OPT');
    expect(opt).toMatchObject({ udpPayloadSize: 1232 });
    expect(opt?.flag_do).toBe(true);
    const plain = decode((await s.resolver.resolve(request('nas.codeandcore.home', 'A', { rd: false }))).response);
    expect(plain.flag_rd).toBe(false);
    expect(plain.additionals ?? []).toHaveLength(0);
  });

  it.each([
    ['a name outside every zone', 'google.com', 'A'],
    ['the parent of a zone', 'home', 'A'],
  ] as const)('hands %s to the next stage', async (_l, name, type) => {
    const r = await s.resolver.resolve(request(name, type));
    expect(r.upstream).toBe('next');
    expect(s.next.calls).toBe(1);
  });

  it('passes CHAOS class queries on', async () => {
    const req = request('version.bind', 'TXT');
    req.query.writeUInt16BE(3, req.question.end - 2);
    const r = await s.resolver.resolve({ ...req, question: readQuestion(req.query)! });
    expect(r.upstream).toBe('next');
  });

  it('truncates over UDP when the answer exceeds 512 bytes without EDNS', async () => {
    const store = s.stage.store;
    const many = Array.from({ length: 60 }, (_, i): ZoneRecord => ({ name: 'big.codeandcore.home', type: 'A', ttl: 60, class: 'IN', data: `10.0.0.${i}` }));
    store.setDynamic('big.codeandcore.home', 1, many);
    const udp = await s.resolver.resolve(request('big.codeandcore.home', 'A'));
    expect(udp.response.length).toBeLessThanOrEqual(512);
    expect(((udp.response[2] ?? 0) & 0x02) !== 0).toBe(true);
    const tcp = await s.resolver.resolve(request('big.codeandcore.home', 'A', { client: TCP }));
    expect(decode(tcp.response).answers).toHaveLength(60);
  });
});

describe('zone transfer out (AXFR, RFC 5936)', () => {
  let s: ReturnType<typeof makeStage>;
  beforeEach(async () => {
    s = makeStage({ allowTransfer: ['127.0.0.1', '10.10.10.250/32'] });
    await s.stage.start?.();
  });
  afterEach(async () => {
    await s.stage.stop?.();
  });

  it('sends SOA, all records, SOA over TCP to an allowed client, AA set', async () => {
    const r = await s.resolver.resolve(request('codeandcore.home', 'AXFR', { client: TCP }));
    expect(r.extraResponses ?? []).toHaveLength(0);
    const p = decode(r.response);
    expect(p.flag_aa).toBe(true);
    const types = (p.answers ?? []).map((a) => a.type);
    expect(types[0]).toBe('SOA');
    expect(types.at(-1)).toBe('SOA');
    expect(types).toHaveLength(14);
  });

  const refused: Array<[string, ResolveRequest, string]> = [
    ['AXFR over UDP', request('codeandcore.home', 'AXFR'), 'REFUSED'],
    ['a client outside allowTransfer', request('codeandcore.home', 'AXFR', { client: { ...TCP, address: '192.0.2.7' } }), 'REFUSED'],
    ['a zone that is not ours', request('example.com', 'AXFR', { client: TCP }), 'NOTAUTH'],
    ['a name below the apex', request('nas.codeandcore.home', 'AXFR', { client: TCP }), 'NOTAUTH'],
  ];
  it.each(refused)('%s', async (_l, req, rcode) => {
    const r = await s.resolver.resolve(req);
    expect(rcodeOf(r.response)).toBe(rcode);
    expect(s.next.calls).toBe(0);
  });

  it('matches IPv4-mapped client addresses against IPv4 CIDRs', () => {
    const acl = new TransferAcl(['10.10.10.250', '2001:db8::/32']);
    expect(acl.allows('::ffff:10.10.10.250')).toBe(true);
    expect(acl.allows('2001:db8::1')).toBe(true);
    expect(acl.allows('10.10.10.251')).toBe(false);
    expect(new TransferAcl([]).allows('127.0.0.1')).toBe(false);
    expect(() => new TransferAcl(['not-a-cidr'])).toThrow(/allowTransfer/);
  });

  it('IXFR over UDP answers the current SOA (RFC 1995 §2); over TCP the full zone (§4)', async () => {
    const udp = decode((await s.resolver.resolve(request('codeandcore.home', 251))).response);
    expect((udp.answers ?? []).map((a) => a.type)).toEqual(['SOA']);
    const tcp = decode((await s.resolver.resolve(request('codeandcore.home', 251, { client: TCP }))).response);
    expect(tcp.answers).toHaveLength(14);
  });

  it.each([[2000], [600], [65_535]])('splits into messages of at most %i bytes, in order, SOA first and last', (max) => {
    const records: ZoneRecord[] = [
      { name: 'big.test', type: 'SOA', ttl: 60, class: 'IN', data: { mname: 'ns.big.test', rname: 'h.big.test', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } },
      ...Array.from({ length: 5000 }, (_, i): ZoneRecord => ({ name: `host-${i}.big.test`, type: 'A', ttl: 60, class: 'IN', data: `10.${(i >> 8) & 255}.${i & 255}.1` })),
    ];
    const zone = ZoneData.build('big.test', records);
    const messages = buildAxfrMessages(request('big.test', 'AXFR', { client: TCP }), zone, max);
    expect(messages.length).toBeGreaterThan(1);
    const all: dnsPacket.Answer[] = [];
    for (const m of messages) {
      expect(m.length).toBeLessThanOrEqual(max);
      const p = decode(m);
      expect(p.id).toBe(0x4242);
      all.push(...(p.answers ?? []));
    }
    expect(all).toHaveLength(5002);
    expect(all[0]?.type).toBe('SOA');
    expect(all.at(-1)?.type).toBe('SOA');
    expect(new Set(all.map((a) => a.name)).size).toBe(5001);
  });

  it('returns the first message in response and the rest in extraResponses', async () => {
    const records: ZoneRecord[] = [
      { name: 'huge.test', type: 'SOA', ttl: 60, class: 'IN', data: { mname: 'ns.huge.test', rname: 'h.huge.test', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } },
      ...Array.from({ length: 4000 }, (_, i): ZoneRecord => ({ name: `host-${i}.huge.test`, type: 'A', ttl: 60, class: 'IN', data: '10.0.0.1' })),
    ];
    s.stage.store.setZoneData('huge.test', 'primary', ZoneData.build('huge.test', records));
    const r = await s.resolver.resolve(request('huge.test', 'AXFR', { client: TCP }));
    const parts = [r.response, ...(r.extraResponses ?? [])];
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.reduce((n, m) => n + (decode(m).answers?.length ?? 0), 0)).toBe(4002);
  });
});

describe('dynamic records and presence names through the bus', () => {
  let bus: EventBus;
  let s: ReturnType<typeof makeStage>;
  let seq = 0;
  beforeEach(async () => {
    bus = createInProcessBus({ logger: silentLogger });
    await bus.connect();
    s = makeStage({}, { bus });
  });
  afterEach(async () => {
    await s.stage.stop?.();
    await bus.close();
  });

  const change = (op: 'UPSERT' | 'DELETE', name: string, type: string, values: string[], ttl = 120): RecordChangeEvent => ({
    event_id: `e${++seq}`, op, record_id: `r-${name}-${type}`, name, type, ttl, values, changed_at_us: Date.now() * 1000, actor: 'test',
  });
  const presence = (type: 'DEVICE_ONLINE' | 'DEVICE_OFFLINE', device: string, name: string, addresses: string[]): PresenceEvent => ({
    event_id: `p${++seq}`, type, source: 'WIREGUARD', device_id: device, name, interface: 'wg0', addresses, last_handshake_us: null, observed_at_us: Date.now() * 1000, node_id: 'n1', domain: null,
  });
  const answer = async (name: string, type: dnsPacket.RecordType = 'A'): Promise<Resolution> => s.resolver.resolve(request(name, type));

  it('a published record resolves, rotates round-robin, and is NXDOMAIN after DELETE', async () => {
    await s.stage.start?.();
    await bus.publish(Topics.recordChanges, [change('UPSERT', 'build.codeandcore.home', 'A', ['10.0.0.1', '10.0.0.2', '10.0.0.3'])]);
    const first = await waitFor(async () => {
      const r = await answer('build.codeandcore.home');
      return rcodeOf(r.response) === 'NOERROR' && (decode(r.response).answers?.length ?? 0) === 3 ? r : null;
    }, { description: 'the dynamic record', timeoutMs: 1000 });
    expect(aa(first.response)).toBe(true);
    expect(first.policyAction).toBe('LOCAL_DATA');
    expect(decode(first.response).answers?.[0]).toMatchObject({ ttl: 120 });
    const orders = new Set<string>();
    for (let i = 0; i < 3; i++) orders.add(data(decode((await answer('build.codeandcore.home')).response).answers).join(','));
    expect(orders.size).toBe(3);

    await bus.publish(Topics.recordChanges, [change('DELETE', 'build.codeandcore.home', 'A', [])]);
    await waitFor(async () => rcodeOf((await answer('build.codeandcore.home')).response) === 'NXDOMAIN', { description: 'NXDOMAIN after delete', timeoutMs: 1000 });
  });

  it('a record outside every zone answers while it exists, then goes to the next stage', async () => {
    await s.stage.start?.();
    await bus.publish(Topics.recordChanges, [change('UPSERT', 'printer.home.arpa', 'CNAME', ['printer.codeandcore.home'])]);
    const r = await waitFor(async () => {
      const x = await answer('printer.home.arpa');
      return x.upstream === null ? x : null;
    }, { description: 'the dynamic CNAME', timeoutMs: 1000 });
    expect(data(decode(r.response).answers)).toEqual(['printer.home.arpa CNAME printer.codeandcore.home']);
    await bus.publish(Topics.recordChanges, [change('DELETE', 'printer.home.arpa', 'CNAME', [])]);
    await waitFor(async () => (await answer('printer.home.arpa')).upstream === 'next', { description: 'forwarded after delete', timeoutMs: 1000 });
  });

  it('a bad value is skipped without blocking later changes', async () => {
    await s.stage.start?.();
    await bus.publish(Topics.recordChanges, [
      change('UPSERT', 'bad.codeandcore.home', 'A', ['not-an-ip']),
      change('UPSERT', 'good.codeandcore.home', 'TXT', ['hello']),
    ]);
    await waitFor(async () => rcodeOf((await answer('good.codeandcore.home', 'TXT')).response) === 'NOERROR', { description: 'the good record', timeoutMs: 1000 });
    expect(rcodeOf((await answer('bad.codeandcore.home')).response)).toBe('NXDOMAIN');
  });

  it('replays from the beginning: a stage started after the events still has them', async () => {
    await bus.publish(Topics.recordChanges, [change('UPSERT', 'early.codeandcore.home', 'A', ['10.9.9.9'])]);
    await bus.publish(Topics.presence, [presence('DEVICE_ONLINE', 'k1', 'phone', ['10.8.0.5/32'])]);
    await s.stage.start?.();
    await waitFor(async () => rcodeOf((await answer('early.codeandcore.home')).response) === 'NOERROR', { description: 'replayed record', timeoutMs: 1000 });
    await waitFor(async () => rcodeOf((await answer('phone.vpn.local')).response) === 'NOERROR', { description: 'replayed presence', timeoutMs: 1000 });
  });

  it('presence: online answers A/AAAA with TTL 5, offline is NXDOMAIN with the SOA (fail closed)', async () => {
    await s.stage.start?.();
    expect(rcodeOf((await answer('laptop.vpn.local')).response)).toBe('NXDOMAIN');
    await bus.publish(Topics.presence, [presence('DEVICE_ONLINE', 'key-1', 'Laptop', ['10.8.0.2/32', 'fd00::2/128'])]);
    const r = await waitFor(async () => {
      const x = await answer('laptop.vpn.local');
      return rcodeOf(x.response) === 'NOERROR' ? x : null;
    }, { description: 'presence online', timeoutMs: 1000 });
    expect(aa(r.response)).toBe(true);
    expect(decode(r.response).answers).toMatchObject([{ name: 'laptop.vpn.local', type: 'A', ttl: 5, data: '10.8.0.2' }]);
    expect(decode((await answer('laptop.vpn.local', 'AAAA')).response).answers).toMatchObject([{ type: 'AAAA', data: 'fd00::2' }]);

    await bus.publish(Topics.presence, [presence('DEVICE_OFFLINE', 'key-1', 'Laptop', [])]);
    await waitFor(async () => rcodeOf((await answer('laptop.vpn.local')).response) === 'NXDOMAIN', { description: 'presence offline', timeoutMs: 1000 });
    const neg = decode((await answer('laptop.vpn.local')).response);
    expect(neg.authorities?.[0]).toMatchObject({ type: 'SOA', name: 'vpn.local', ttl: 5 });
  });

  it('presence: a device renamed moves its name; two devices share a name until both are gone', async () => {
    await s.stage.start?.();
    await bus.publish(Topics.presence, [
      presence('DEVICE_ONLINE', 'a', 'old', ['10.8.0.1']),
      presence('DEVICE_ONLINE', 'a', 'new', ['10.8.0.1']),
      presence('DEVICE_ONLINE', 'b', 'shared', ['10.8.0.2']),
      presence('DEVICE_ONLINE', 'c', 'shared', ['10.8.0.3']),
      presence('DEVICE_OFFLINE', 'b', 'shared', []),
    ]);
    await waitFor(async () => rcodeOf((await answer('new.vpn.local')).response) === 'NOERROR', { description: 'renamed device', timeoutMs: 1000 });
    await waitFor(async () => data(decode((await answer('shared.vpn.local')).response).answers).join() === 'shared.vpn.local A 10.8.0.3', { description: 'shared name', timeoutMs: 1000 });
    expect(rcodeOf((await answer('old.vpn.local')).response)).toBe('NXDOMAIN');
  });
});

describe('RFC 1982 serial arithmetic', () => {
  it.each([
    [2, 1, true],
    [1, 2, false],
    [1, 1, false],
    [0, 0xffffffff, true], // wrapped
    [0xffffffff, 0, false],
    [0x7fffffff, 0, true],
    [0x80000000, 0, false], // undefined in RFC 1982; never "greater"
    [2026051302, 2026051301, true],
  ])('%i > %i is %s', (a, b, expected) => {
    expect(serialGreater(a, b)).toBe(expected);
  });
});

describe('secondary zone timers', () => {
  const spec: SecondarySpec = { apex: 'sec.test', host: '127.0.0.1', port: 1 };
  const soa = (serial: number): ZoneRecord => ({
    name: 'sec.test', type: 'SOA', ttl: 60, class: 'IN', data: { mname: 'ns.sec.test', rname: 'h.sec.test', serial, refresh: 10, retry: 3, expire: 30, minimum: 5 },
  });
  class StubClient implements ZoneTransferClient {
    serial = 1;
    fail = false;
    transfers = 0;
    async axfr(): Promise<ZoneRecord[]> {
      if (this.fail) throw new Error('down');
      this.transfers++;
      return [soa(this.serial), { name: 'a.sec.test', type: 'A', ttl: 60, class: 'IN', data: `10.0.0.${this.serial}` }];
    }
    async soaSerial(): Promise<number> {
      if (this.fail) throw new Error('down');
      return this.serial;
    }
  }

  afterEach(() => {
    vi.useRealTimers();
  });

  it('transfers at start, refreshes on a newer serial, retries, and expires to SERVFAIL', async () => {
    vi.useFakeTimers();
    const store = new LocalDataStore();
    const client = new StubClient();
    const zone = new SecondaryZone({ spec, store, client, logger: silentLogger, now: () => Date.now() });
    expect(store.lookup('a.sec.test', 1, { stream: false })?.rcode).toBe(2); // SERVFAIL until loaded
    await zone.start();
    expect(store.lookup('a.sec.test', 1, { stream: false })?.answers[0]).toMatchObject({ data: '10.0.0.1' });

    await vi.advanceTimersByTimeAsync(10_000); // REFRESH: same serial, no transfer
    expect(client.transfers).toBe(1);
    client.serial = 2;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(client.transfers).toBe(2);
    expect(store.lookup('a.sec.test', 1, { stream: false })?.answers[0]).toMatchObject({ data: '10.0.0.2' });

    client.fail = true;
    await vi.advanceTimersByTimeAsync(10_000 + 3_000 * 3); // refresh + retries, still < EXPIRE
    expect(store.lookup('a.sec.test', 1, { stream: false })?.rcode).toBe(0);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(store.lookup('a.sec.test', 1, { stream: false })?.rcode).toBe(2);

    client.fail = false;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(store.lookup('a.sec.test', 1, { stream: false })?.rcode).toBe(0);
    zone.stop();
  });

  it('a primary that is down at start leaves the zone SERVFAIL, without failing the start', async () => {
    vi.useFakeTimers();
    const store = new LocalDataStore();
    const client = new StubClient();
    client.fail = true;
    const zone = new SecondaryZone({ spec, store, client, logger: silentLogger, initialRetrySeconds: 5 });
    await zone.start();
    expect(store.lookup('a.sec.test', 1, { stream: false })?.rcode).toBe(2);
    client.fail = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(store.lookup('a.sec.test', 1, { stream: false })?.rcode).toBe(0);
    zone.stop();
  });

  it('the stage answers a secondary zone through its transfer client', async () => {
    const client = new StubClient();
    const s = makeStage({ zoneFiles: [], secondaryZones: ['sec.test:127.0.0.1:5300'] }, { transferClient: client });
    await s.stage.start?.();
    const r = await s.resolver.resolve(request('a.sec.test', 'A'));
    expect(aa(r.response)).toBe(true);
    expect(data(decode(r.response).answers)).toEqual(['a.sec.test A 10.0.0.1']);
    await s.stage.stop?.();
  });
});

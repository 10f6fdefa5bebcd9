import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BindQueryLogParser, LineSplitter, orderQuerylogFiles, querylogEventId, type QuerylogParseResult } from '../../src/taps/querylog/index.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/querylog');
const parser = new BindQueryLogParser('UTC');

function lines(name: string): string[] {
  return readFileSync(path.join(fixtures, name), 'utf8').split('\n').filter((l) => l.length > 0);
}

function kinds(results: QuerylogParseResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const k = r.kind === 'skipped' ? `skipped:${r.reason}` : r.kind === 'query_error' ? `rcode:${String(r.rcode)}` : 'query';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe('BIND query-log parser: real BIND 9.18 output (test/fixtures/querylog)', () => {
  it.each([
    ['bind-9.18-seed-channel.queries.log', { query: 104 }],
    ['bind-9.18-view-category-severity.queries.log', { query: 23 }],
    ['bind-9.18-iso8601-utc.queries.log', { query: 20 }],
    ['bind-9.18-seed-channel.query-errors.log', { 'rcode:5': 4, 'rcode:2': 18 }],
    ['bind-9.18-view-category-severity.query-errors.log', { 'rcode:5': 1, 'rcode:2': 4, 'skipped:not_a_client_message': 3 }],
    ['bind-9.18-iso8601-no-querylog.query-errors.log', { 'rcode:5': 1, 'rcode:2': 3, 'skipped:not_a_client_message': 2 }],
  ])('%s', (file, expected) => {
    expect(kinds(lines(file).map((l) => parser.parse(l)))).toEqual(expected);
  });
});

// Real 9.18 lines, plus hand-written 9.16 / 9.20 / pre-9.12 forms from the format strings of
// lib/ns/client.c ns_client_logv ("client @%p %s%s%s%s%s%s%s%s: %s") and lib/ns/query.c log_query.
describe('BIND query-log parser: query lines', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['9.18 plain', '23-Nov-2026 13:46:05.518 client @0x7fc2f8e6d098 127.0.0.1#34835 (www.lab.test): query: www.lab.test IN A +E(0)K (127.0.0.1)',
      { clientIp: '127.0.0.1', clientPort: 34835, qname: 'www.lab.test', qtype: 1, qclass: 1, recursionDesired: true, ednsVersion: 0, cookie: 'client', tcp: false, view: null, timeUs: Date.UTC(2026, 10, 23, 13, 46, 5, 518) * 1000 }],
    ['9.18 view, category, severity, TCP', '23-Nov-2026 13:46:05.542 queries: info: client @0x7fc2f8e70898 127.0.0.1#32955 (www.lab.test): view lan: query: www.lab.test IN AAAA +E(0)TK (127.0.0.1)',
      { view: 'lan', tcp: true, qtype: 28 }],
    ['9.18 DO + CD + TCP', '23-Nov-2026 13:46:05.974 queries: info: client @0x7fc2f6cea498 127.0.0.1#45615 (nope.lab.test): view lan: query: nope.lab.test IN A +E(0)TDCK (127.0.0.1)',
      { dnssecOk: true, checkingDisabled: true, tcp: true }],
    ['9.18 no recursion', '23-Nov-2026 13:46:05.642 client @0x7fc2f8e6d098 127.0.0.1#49975 (www.lab.test): query: www.lab.test IN A -E(0)K (127.0.0.1)', { recursionDesired: false }],
    ['9.18 no EDNS', '23-Nov-2026 13:46:05.666 client @0x7fc2f6ce5098 127.0.0.1#55507 (www.lab.test): query: www.lab.test IN A + (127.0.0.1)', { ednsVersion: null, cookie: null }],
    ['9.18 ECS v6', '23-Nov-2026 13:46:05.734 client @0x7fc2f6ce5098 127.0.0.1#48385 (www.lab.test): query: www.lab.test IN A +E(0)K (127.0.0.1) [ECS 2001:db8::/56/0]', { ecs: '2001:db8::/56/0' }],
    ['9.18 CHAOS', '23-Nov-2026 13:46:05.870 client @0x7fc2f8e6d098 127.0.0.1#44112 (version.bind): query: version.bind CH TXT +E(0)K (127.0.0.1)', { qclass: 3, qtype: 16 }],
    ['9.18 root, generic type', '23-Nov-2026 13:46:05.850 client @0x7fc2f8e6d098 127.0.0.1#59383 (.): query: . IN TYPE65534 +E(0)K (127.0.0.1)', { qname: '.', qtype: 65534 }],
    ['9.18 escaped name', '23-Nov-2026 13:46:05.918 client @0x7fc2f8e6d098 127.0.0.1#58851 (we\\032ird.lab.test): query: we\\032ird.lab.test IN A +E(0)K (127.0.0.1)', { qname: 'we\\032ird.lab.test' }],
    ['9.18 iso8601-utc', '2026-11-23T13:46:41.574Z queries: info: client @0x7f44592e5098 127.0.0.1#45905 (www.lab.test): query: www.lab.test IN A +E(0)K (127.0.0.1)', { timeUs: Date.UTC(2026, 10, 23, 13, 46, 41, 574) * 1000 }],
    ['9.16 IPv6 client, valid cookie, signed', '13-May-2026 08:00:01.001 client @0x7f0a1c0ed2c0 2001:db8::53#5353 (example.org): query: example.org IN MX +SE(0)DV (2001:db8::1)', { clientIp: '2001:db8::53', signed: true, cookie: 'valid', dnssecOk: true }],
    ['9.20 signer and view', '13-May-2026 08:00:01.002 queries: info: client @0x7f1b2c3d4e50 192.0.2.7#40000 (a.example): signer "tsig-key": view internal: query: a.example IN A +SE(0)K (192.0.2.1)', { view: 'internal', signed: true }],
    ['pre-9.12 without @pointer', '13-May-2026 08:00:01.003 client 192.0.2.8#1234 (b.example): query: b.example IN A +E (192.0.2.1)', { clientIp: '192.0.2.8', ednsVersion: 0 }],
    ['EDNS version 1', '23-Nov-2026 13:46:05.938 client @0x7fc2f6ce6c98 127.0.0.1#60509 (www.lab.test): query: www.lab.test IN A +E(1)K (127.0.0.1)', { ednsVersion: 1 }],
  ])('%s', (_name, line, expected) => {
    const result = parser.parse(line);
    expect(result.kind).toBe('query');
    expect(result).toMatchObject(expected);
  });

  it('converts local timestamps in the configured zone (DST-aware)', () => {
    const kampala = new BindQueryLogParser('Africa/Kampala'); // UTC+3
    const ny = new BindQueryLogParser('America/New_York');
    const line = (ts: string): string => `${ts} client @0x1 192.0.2.1#1 (a.example): query: a.example IN A + (192.0.2.2)`;
    expect(kampala.parse(line('13-May-2026 10:00:00.250'))).toMatchObject({ timeUs: Date.UTC(2026, 4, 13, 7, 0, 0, 250) * 1000 });
    expect(ny.parse(line('13-May-2026 10:00:00.250'))).toMatchObject({ timeUs: Date.UTC(2026, 4, 13, 14, 0, 0, 250) * 1000 });
    expect(ny.parse(line('13-Jan-2026 10:00:00.250'))).toMatchObject({ timeUs: Date.UTC(2026, 0, 13, 15, 0, 0, 250) * 1000 });
    expect(ny.parse(line('2026-01-13T10:00:00.250'))).toMatchObject({ timeUs: Date.UTC(2026, 0, 13, 15, 0, 0, 250) * 1000 });
  });
});

describe('BIND query-log parser: query-errors lines', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['REFUSED at info (querylog on)', '23-Nov-2026 13:46:05.762 query-errors: info: client @0x7fc2f8e6d098 127.0.0.1#59457 (x.refused.test): view lan: query failed (REFUSED) for x.refused.test/IN/A at query.c:5708',
      { rcode: 5, result: 'REFUSED', qname: 'x.refused.test', qtype: 1, view: 'lan', clientPort: 59457 }],
    ['resolution failure answered SERVFAIL', '23-Nov-2026 13:46:41.818 client @0x7f44592e5098 127.0.0.1#50473 (example.com): query failed (failure) for example.com/IN/A at query.c:7916', { rcode: 2, result: 'failure' }],
    ['SERVFAIL cache', '23-Nov-2026 13:46:22.006 query-errors: info: client @0x7fc2f6ce6c98 127.0.0.1#56386 (example.com): view lan: query failed (SERVFAIL) for example.com/IN/A at query.c:7177', { rcode: 2 }],
    ['root name', '23-Nov-2026 13:46:41.938 client @0x7f445d06bc98 127.0.0.1#34950 (.): query failed (failure) for ./IN/NS at query.c:7916', { qname: '.', qtype: 2 }],
    ['debug 1 without querylog', '2026-11-23T13:46:25.314 query-errors: debug 1: client @0x7f25edced098 127.0.0.1#50837 (example.com): query failed (failure) for example.com/IN/A at query.c:7916', { rcode: 2 }],
    ['unknown result keeps rcode null', '23-Nov-2026 13:46:22.006 client @0x1 127.0.0.1#1 (a.example): query failed (quota reached) for a.example/IN/A at query.c:1', { rcode: null }],
    ['no question', '23-Nov-2026 13:46:22.006 client @0x1 127.0.0.1#1: query failed (FORMERR) at query.c:1', { rcode: 1, qname: null }],
  ])('%s', (_name, line, expected) => {
    const result = parser.parse(line);
    expect(result.kind).toBe('query_error');
    expect(result).toMatchObject(expected);
  });
});

describe('BIND query-log parser: failures are reasons, never throws', () => {
  const good = '23-Nov-2026 13:46:05.518 client @0x7fc2f8e6d098 127.0.0.1#34835 (www.lab.test): query: www.lab.test IN A +E(0)K (127.0.0.1)';
  it.each<[string, string]>([
    ['', 'empty'],
    ['garbage garbage garbage', 'bad_timestamp'],
    ['31-Foo-2026 13:46:05.518 client', 'bad_timestamp'],
    ['31-Feb-2026 13:46:05.518 client @0x1 1.2.3.4#1 (a): query: a IN A + (1.2.3.4)', 'bad_timestamp'],
    ['23-Nov-2026 25:46:05.518 client', 'bad_timestamp'],
    ['23-Nov-2026 13:46:05.518 general: info: zone loaded', 'not_a_client_message'],
    ['23-Nov-2026 13:46:05.518 client @0x1 not-an-ip#53 (a): query: a IN A + (1.2.3.4)', 'bad_client_address'],
    ['23-Nov-2026 13:46:05.518 client @0x1 1.2.3.4#99999 (a): query: a IN A + (1.2.3.4)', 'bad_client_address'],
    ['23-Nov-2026 13:46:05.518 client @0x1 1.2.3.4#53 (a): query: a IN BOGUS + (1.2.3.4)', 'bad_question'],
    ['23-Nov-2026 13:46:05.518 client @0x1 1.2.3.4#53 (a): query: a IN A x (1.2.3.4)', 'bad_flags'],
    ['23-Nov-2026 13:46:05.518 client @0x1 1.2.3.4#53 (a): something else', 'unknown_message'],
    ['23-Nov-2026 13:46:05', 'bad_timestamp'],
    ...[30, 60, 75, 80, 95, 110, good.length - 1].map((n): [string, string] => [good.slice(0, n), 'truncated']),
  ])('%j -> %s', (line, reason) => {
    expect(parser.parse(line)).toEqual({ kind: 'skipped', reason });
  });

  it('never throws on any prefix or mutation of a real line', () => {
    for (let n = 0; n <= good.length; n++) expect(() => parser.parse(good.slice(0, n))).not.toThrow();
    for (let i = 0; i < good.length; i++) expect(() => parser.parse(good.slice(0, i) + '\u0000' + good.slice(i + 1))).not.toThrow();
  });
});

describe('line splitting, event ids, file order', () => {
  it('keeps a half-written line until its newline and tracks offsets', () => {
    const seen: [string, number][] = [];
    const splitter = new LineSplitter(100);
    splitter.push(Buffer.from('one\ntw'), (l, o) => seen.push([l, o]));
    expect(seen).toEqual([['one', 100]]);
    expect(splitter.completeOffset).toBe(104);
    splitter.push(Buffer.from('o\r\nthree'), (l, o) => seen.push([l, o]));
    splitter.finish((l, o) => seen.push([l, o]));
    expect(seen).toEqual([['one', 100], ['two', 104], ['three', 109]]);
    expect(splitter.completeOffset).toBe(114);
  });

  it('event ids are deterministic UUIDs per node, offset and line', () => {
    const id = querylogEventId('node-1', 42, 'line');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(querylogEventId('node-1', 42, 'line')).toBe(id);
    expect(querylogEventId('node-1', 43, 'line')).not.toBe(id);
    expect(querylogEventId('node-2', 42, 'line')).not.toBe(id);
  });

  it('orders rotated sets oldest first, query-errors first', () => {
    expect(orderQuerylogFiles(['/l/queries.log', '/l/queries.log.1', '/l/query-errors.log', '/l/queries.log.2.gz', '/l/queries.log.10'])).toEqual([
      '/l/query-errors.log', '/l/queries.log.10', '/l/queries.log.2.gz', '/l/queries.log.1', '/l/queries.log',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import type { QueryEvent } from '@ghostdns/contracts';
import { apexDomain, formatFlags, QueryEventMapper, type RejectReason } from '../src/mapper.js';
import { epochMicrosToIso } from '../src/mapping.js';
import { device, QUERY_TIME_US, queryEvent } from './fixtures.js';

const mapper = new QueryEventMapper();

function mapOk(overrides: Partial<QueryEvent> = {}) {
  const result = mapper.map(queryEvent(overrides));
  if (!result.ok) throw new Error(`expected a row, got ${result.reason}: ${result.detail}`);
  return result.row;
}

/** Builds an event with a field forced to a value its type does not allow. */
function withRaw(field: string, value: unknown): QueryEvent {
  const event: QueryEvent = { ...queryEvent(), [field]: value };
  return event;
}

describe('QueryEventMapper: a valid event', () => {
  it('maps every column', () => {
    const event = queryEvent();
    const row = mapOk(event);
    expect(row).toEqual({
      queried_at: '2024-05-01T12:00:00.123456Z',
      event_id: event.event_id,
      node_id: 'edge-1',
      pop: 'ams1',
      source: 'RESOLVER_EDGE',
      message_type: 'CLIENT_RESPONSE',
      client_ip: '100.101.102.103',
      client_port: 53_124,
      transport: 'UDP',
      domain: 'www.example.com',
      apex_domain: 'example.com',
      qtype: 'A',
      qclass: 'IN',
      flags: 'qr rd ra',
      response_rcode: 'NOERROR',
      cached: false,
      cache_status: 'MISS',
      response_time: '2024-05-01T12:00:00.124706Z',
      latency_us: 1_250,
      answer_count: 2,
      response_size: 96,
      upstream: '9.9.9.9:53',
      upstream_latency_us: 900,
      policy_action: 'PASS',
      query_wire: event.query_wire,
      response_wire: event.response_wire,
      device_source: null,
      device_id: null,
      device_name: null,
    });
  });

  it.each([
    ['a WireGuard device', device(), ['wireguard', device().device_id, 'laptop']],
    ['a Tailscale device', device({ source: 'TAILSCALE', device_id: 'nTaiL7CNTRL', name: 'phone' }), ['tailscale', 'nTaiL7CNTRL', 'phone']],
    ['a device published under no name', device({ name: '' }), ['wireguard', device().device_id, '']],
    ['no device', null, [null, null, null]],
    ['no device (field absent, as from a v1 writer)', undefined, [null, null, null]],
  ] as const)('maps %s to the device columns', (_name, value, columns) => {
    const row = mapper.map(withRaw('device', value));
    if (!row.ok) throw new Error(`expected a row, got ${row.reason}: ${row.detail}`);
    expect([row.row.device_source, row.row.device_id, row.row.device_name]).toEqual(columns);
  });

  it.each([
    ['www.bbc.co.uk', 'bbc.co.uk'],
    ['bbc.co.uk', 'bbc.co.uk'],
    ['foo.github.io', 'foo.github.io'],
    ['a.b.foo.github.io', 'foo.github.io'],
    ['host.tail1234.ts.net', 'tail1234.ts.net'],
    ['_dmarc.example.com', 'example.com'],
    ['a.b.c.d.example.org', 'example.org'],
    ['münchen.de', 'münchen.de'],
    ['localhost', 'localhost'],
    ['wpad', 'wpad'],
    ['co.uk', 'co.uk'],
    ['github.io', 'github.io'],
    ['com', 'com'],
    ['ts.net', 'ts.net'],
    ['1.2.3.4', '1.2.3.4'],
    ['2001:db8::1', '2001:db8::1'],
  ])('apex of %s is %s', (qname, apex) => {
    expect(apexDomain(qname)).toBe(apex);
    expect(mapOk({ qname }).apex_domain).toBe(apex);
  });

  it.each([
    ['WWW.Example.COM', 'www.example.com', 'example.com'],
    ['www.example.com.', 'www.example.com', 'example.com'],
  ])('normalises qname %s to %s', (qname, domain, apex) => {
    const row = mapOk({ qname });
    expect(row.domain).toBe(domain);
    expect(row.apex_domain).toBe(apex);
  });

  it.each([
    [{ qr: false, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false }, ''],
    [{ qr: true, aa: true, tc: true, rd: true, ra: true, ad: true, cd: true }, 'qr aa tc rd ra ad cd'],
    [{ cd: true, ad: true, qr: true, aa: false, tc: false, rd: false, ra: false }, 'qr ad cd'],
    [{ qr: true, aa: true, tc: false, rd: false, ra: false, ad: false, cd: false }, 'qr aa'],
  ])('formats flags %o as %j', (flags, expected) => {
    expect(formatFlags(flags)).toBe(expected);
    expect(mapOk({ flags }).flags).toBe(expected);
  });

  it.each([
    ['HIT', true],
    ['STALE', true],
    ['MISS', false],
    ['PREFETCH', false],
    ['NONE', false],
    ['UNKNOWN', false],
  ] as const)('cache_status %s -> cached %s', (cache_status, cached) => {
    expect(mapOk({ cache_status }).cached).toBe(cached);
  });

  it.each([
    [28, 1, 3, 'AAAA', 'IN', 'NXDOMAIN'],
    [33, 1, 2, 'SRV', 'IN', 'SERVFAIL'],
    [65_280, 65_280, 0, 'TYPE65280', 'CLASS65280', 'NOERROR'],
    [16, 3, 5, 'TXT', 'CH', 'REFUSED'],
  ])('qtype %i qclass %i rcode %i -> %s %s %s', (qtype, qclass, rcode, type, klass, rcodeText) => {
    const row = mapOk({ qtype, qclass, rcode });
    expect([row.qtype, row.qclass, row.response_rcode]).toEqual([type, klass, rcodeText]);
  });

  it('keeps the root as "." in domain and apex (`. NS`)', () => {
    expect(mapOk({ qname: '.', qtype: 2 })).toMatchObject({ domain: '.', apex_domain: '.' });
  });

  it('keeps a missing rcode NULL (BIND query log)', () => {
    expect(mapOk({ rcode: null, source: 'BIND_QUERYLOG' }).response_rcode).toBeNull();
  });

  it('leaves response_time and latency NULL without a response time', () => {
    const row = mapOk({ response_time_us: null });
    expect(row.response_time).toBeNull();
    expect(row.latency_us).toBeNull();
  });

  it('accepts a zero latency, nullable upstream fields and wire', () => {
    const row = mapOk({
      response_time_us: QUERY_TIME_US,
      upstream: null,
      upstream_latency_us: null,
      query_wire: null,
      response_wire: null,
    });
    expect(row.latency_us).toBe(0);
    expect([row.upstream, row.upstream_latency_us, row.query_wire, row.response_wire]).toEqual([null, null, null, null]);
  });

  it('accepts a Uint8Array wire as a Buffer', () => {
    const wire = new Uint8Array([1, 2, 3]);
    const row = mapper.map(withRaw('query_wire', wire));
    expect(row.ok && row.row.query_wire).toEqual(Buffer.from([1, 2, 3]));
  });

  it.each(['::ffff:10.0.0.1', 'fd7a:115c:a1e0::1', '0.0.0.0'])('accepts client_ip %s', (client_ip) => {
    expect(mapOk({ client_ip }).client_ip).toBe(client_ip);
  });

  it.each([
    [0, '1970-01-01T00:00:00.000000Z'],
    [1, '1970-01-01T00:00:00.000001Z'],
    [1_700_000_000_999_999, '2023-11-14T22:13:20.999999Z'],
  ])('formats %i us as %s', (us, iso) => {
    expect(epochMicrosToIso(us)).toBe(iso);
  });
});

describe('QueryEventMapper: rejected events', () => {
  const cases: [string, QueryEvent, RejectReason][] = [
    ['empty qname', queryEvent({ qname: '' }), 'empty_qname'],
    ['qname with an empty label', queryEvent({ qname: 'a..example.com' }), 'invalid_qname'],
    ['qname with a leading dot', queryEvent({ qname: '.example.com' }), 'invalid_qname'],
    ['qname with whitespace', queryEvent({ qname: 'foo bar.com' }), 'invalid_qname'],
    ['qname with NUL', queryEvent({ qname: 'a\u0000.com' }), 'invalid_qname'],
    ['qname too long', queryEvent({ qname: `${'a'.repeat(1_100)}.com` }), 'invalid_qname'],
    ['qname not a string', withRaw('qname', 42), 'invalid_qname'],
    ['client_ip not an IP', queryEvent({ client_ip: 'not-an-ip' }), 'invalid_client_ip'],
    ['client_ip with a port', queryEvent({ client_ip: '10.0.0.1:53' }), 'invalid_client_ip'],
    ['client_ip with a zone id', queryEvent({ client_ip: 'fe80::1%eth0' }), 'invalid_client_ip'],
    ['client_ip as CIDR', queryEvent({ client_ip: '10.0.0.0/8' }), 'invalid_client_ip'],
    ['client_ip empty', queryEvent({ client_ip: '' }), 'invalid_client_ip'],
    ['client_port too large', queryEvent({ client_port: 65_536 }), 'invalid_client_port'],
    ['client_port negative', queryEvent({ client_port: -1 }), 'invalid_client_port'],
    ['client_port fractional', queryEvent({ client_port: 53.5 }), 'invalid_client_port'],
    ['event_id not a UUID', queryEvent({ event_id: 'abc' }), 'invalid_event_id'],
    ['empty node_id', queryEvent({ node_id: '' }), 'invalid_node'],
    ['empty pop', queryEvent({ pop: '' }), 'invalid_node'],
    ['unknown source', withRaw('source', 'SYSLOG'), 'invalid_enum'],
    ['unknown transport', withRaw('transport', 'QUIC'), 'invalid_enum'],
    ['unknown cache_status', withRaw('cache_status', 'hit'), 'invalid_enum'],
    ['unknown policy_action', withRaw('policy_action', 'DROP'), 'invalid_enum'],
    ['unknown message_type', withRaw('message_type', 'X'), 'invalid_enum'],
    ['negative query time', queryEvent({ query_time_us: -1 }), 'invalid_query_time'],
    ['NaN query time', queryEvent({ query_time_us: Number.NaN }), 'invalid_query_time'],
    ['unsafe query time', queryEvent({ query_time_us: 2 ** 60 }), 'invalid_query_time'],
    ['fractional response time', queryEvent({ response_time_us: QUERY_TIME_US + 0.5 }), 'invalid_response_time'],
    ['response before query', queryEvent({ response_time_us: QUERY_TIME_US - 1 }), 'response_before_query'],
    ['latency beyond int4', queryEvent({ response_time_us: QUERY_TIME_US + 2 ** 31 }), 'latency_out_of_range'],
    ['negative upstream latency', queryEvent({ upstream_latency_us: -5 }), 'latency_out_of_range'],
    ['qtype beyond 16 bits', queryEvent({ qtype: 70_000 }), 'invalid_qtype'],
    ['qclass negative', queryEvent({ qclass: -1 }), 'invalid_qclass'],
    ['rcode beyond 12 bits', queryEvent({ rcode: 4_096 }), 'invalid_rcode'],
    ['flags missing', withRaw('flags', null), 'invalid_flags'],
    ['flag not boolean', withRaw('flags', { qr: 1, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false }), 'invalid_flags'],
    ['negative answer_count', queryEvent({ answer_count: -1 }), 'invalid_count'],
    ['response_size beyond int4', queryEvent({ response_size: 2 ** 31 }), 'invalid_count'],
    ['empty upstream', queryEvent({ upstream: '' }), 'invalid_upstream'],
    ['wire not bytes', withRaw('query_wire', 'deadbeef'), 'invalid_wire'],
    ['device not an object', withRaw('device', 'laptop'), 'invalid_device'],
    ['device of an unknown source', withRaw('device', { ...device(), source: 'ZEROTIER' }), 'invalid_device'],
    ['device source in lower case', withRaw('device', { ...device(), source: 'wireguard' }), 'invalid_device'],
    ['device without an id', queryEvent({ device: device({ device_id: '' }) }), 'invalid_device'],
    ['device id with NUL', queryEvent({ device: device({ device_id: 'a\u0000b' }) }), 'invalid_device'],
    ['device name not a string', withRaw('device', { ...device(), name: null }), 'invalid_device'],
    ['device name with NUL', queryEvent({ device: device({ name: 'lap\u0000top' }) }), 'invalid_device'],
  ];

  it.each(cases)('%s', (_name, event, reason) => {
    const result = mapper.map(event);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.detail.length).toBeGreaterThan(0);
      expect(result.detail.length).toBeLessThanOrEqual(120);
    }
  });
});

describe('QueryEventMapper.mapBatch', () => {
  it('splits a batch into rows and rejections, keeping order and the rejected events', () => {
    const good1 = queryEvent({ qname: 'a.example.com' });
    const bad = queryEvent({ qname: '' });
    const good2 = queryEvent({ qname: 'b.example.com' });
    const { rows, rejected } = mapper.mapBatch([good1, bad, good2]);
    expect(rows.map((r) => r.event_id)).toEqual([good1.event_id, good2.event_id]);
    expect(rejected).toEqual([{ event: bad, reason: 'empty_qname', detail: 'qname=""' }]);
  });

  it('handles an empty batch', () => {
    expect(mapper.mapBatch([])).toEqual({ rows: [], rejected: [] });
  });
});

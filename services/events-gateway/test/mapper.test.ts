import { describe, expect, it } from 'vitest';
import { LiveEventMapper } from '../src/mapper.js';
import { isTailnetAddress, isTailnetDomain, unmapIPv4 } from '../src/tailnet.js';
import { presenceEvent, queryEvent, securityEvent } from './fixtures.js';

const mapper = new LiveEventMapper();

describe('isTailnetAddress', () => {
  it.each([
    ['100.64.0.0', true],
    ['100.64.0.1', true],
    ['100.100.100.100', true],
    ['100.127.255.255', true],
    ['100.63.255.255', false],
    ['100.128.0.0', false],
    ['10.0.0.1', false],
    ['192.0.2.1', false],
    ['1.100.64.1', false],
    ['::ffff:100.64.0.1', true],
    ['::ffff:192.0.2.1', false],
    ['fd7a:115c:a1e0::1', true],
    ['fd7a:115c:a1e0:ab12:4843:cd96:626b:430b', true],
    ['FD7A:115C:A1E0::53', true],
    ['fd7a:115c:a1e0::1%tailscale0', true],
    ['fd7a:115c:a1e1::1', false],
    ['fd7a:115c::a1e0:0:0:0:1', false],
    ['fd7a::115c:a1e0', false],
    ['fd7a:115c:0:a1e0::', false],
    ['2001:db8::1', false],
    ['::1', false],
    ['not-an-ip', false],
    ['', false],
  ])('%s -> %s', (ip, expected) => {
    expect(isTailnetAddress(ip)).toBe(expected);
  });
});

describe('isTailnetDomain', () => {
  it.each([
    ['laptop.tail1234.ts.net', true],
    ['monitoring.mycompany.ts.net', true],
    ['ts.net', false],
    ['nots.net', false],
    ['example.com', false],
    ['ts.net.example.com', false],
  ])('%s -> %s', (name, expected) => {
    expect(isTailnetDomain(name)).toBe(expected);
  });
});

describe('unmapIPv4', () => {
  it.each([
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:abcd', '::ffff:abcd'],
    ['2001:db8::1', '2001:db8::1'],
  ])('%s -> %s', (ip, expected) => {
    expect(unmapIPv4(ip)).toBe(expected);
  });
});

describe('LiveEventMapper.query', () => {
  it('maps every field GhostScale reads', () => {
    expect(mapper.query(queryEvent())).toEqual({
      type: 'dns_query',
      event_id: '3b0c4f0e-7a51-4d0b-9a57-6f1f3c0f2a10',
      client: '192.0.2.10',
      domain: 'example.com',
      qtype: 'A',
      rcode: 'NOERROR',
      timestamp: '2023-11-14T22:13:20.123Z',
      node_id: 'edge-1',
      pop: 'fra',
      transport: 'UDP',
      cache_status: 'MISS',
      policy_action: 'PASS',
      latency_ms: 2.333,
    });
  });

  it.each([
    { name: 'plain client, plain name', client_ip: '192.0.2.10', qname: 'example.com', type: 'dns_query' },
    { name: 'CGNAT tailnet client', client_ip: '100.101.102.103', qname: 'example.com', type: 'tailscale_query' },
    { name: 'tailnet IPv6 client', client_ip: 'fd7a:115c:a1e0::7', qname: 'example.com', type: 'tailscale_query' },
    { name: 'mapped tailnet client', client_ip: '::ffff:100.64.9.9', qname: 'example.com', type: 'tailscale_query' },
    { name: 'ts.net name', client_ip: '192.0.2.10', qname: 'grafana.tail1234.ts.net', type: 'tailscale_query' },
    { name: 'ts.net look-alike', client_ip: '192.0.2.10', qname: 'evilts.net', type: 'dns_query' },
    { name: 'just outside CGNAT', client_ip: '100.128.0.1', qname: 'example.com', type: 'dns_query' },
  ] as const)('$name -> $type', ({ client_ip, qname, type }) => {
    expect(mapper.query(queryEvent({ client_ip, qname })).type).toBe(type);
  });

  it.each([
    { qtype: 28, rcode: 3, qtypeName: 'AAAA', rcodeText: 'NXDOMAIN' },
    { qtype: 15, rcode: 2, qtypeName: 'MX', rcodeText: 'SERVFAIL' },
    { qtype: 65280, rcode: 5, qtypeName: 'TYPE65280', rcodeText: 'REFUSED' },
    { qtype: 1, rcode: null, qtypeName: 'A', rcodeText: null },
  ])('qtype $qtype / rcode $rcode -> $qtypeName / $rcodeText', ({ qtype, rcode, qtypeName, rcodeText }) => {
    const live = mapper.query(queryEvent({ qtype, rcode }));
    expect(live.qtype).toBe(qtypeName);
    expect(live.rcode).toBe(rcodeText);
  });

  it.each([
    { response_time_us: null, latency: null },
    { response_time_us: 1_700_000_000_123_456, latency: 0 },
    { response_time_us: 1_700_000_000_123_000, latency: 0 },
    { response_time_us: 1_700_000_001_123_456, latency: 1000 },
  ])('latency for response_time_us=$response_time_us is $latency', ({ response_time_us, latency }) => {
    expect(mapper.query(queryEvent({ response_time_us })).latency_ms).toBe(latency);
  });

  it('reports the unmapped IPv4 as client', () => {
    expect(mapper.query(queryEvent({ client_ip: '::ffff:192.0.2.77' })).client).toBe('192.0.2.77');
  });

  it('throws on an impossible timestamp instead of inventing one', () => {
    expect(() => mapper.query(queryEvent({ query_time_us: Number.NaN }))).toThrow(RangeError);
  });
});

describe('LiveEventMapper.presence', () => {
  it.each([
    ['DEVICE_ONLINE', 'device_online'],
    ['DEVICE_OFFLINE', 'device_offline'],
  ] as const)('%s -> %s', (type, liveType) => {
    expect(mapper.presence(presenceEvent({ type }))).toEqual({
      type: liveType,
      event_id: '8d7c0a52-6a0e-4a43-9d55-0a1b2c3d4e5f',
      device: 'laptop',
      device_id: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
      addresses: ['10.8.0.2/32', 'fd00::2/128'],
      source: 'WIREGUARD',
      timestamp: '2023-11-14T22:13:21.000Z',
    });
  });

  it('does not share the addresses array with the bus event', () => {
    const e = presenceEvent();
    const live = mapper.presence(e);
    expect(live.addresses).not.toBe(e.addresses);
  });
});

describe('LiveEventMapper.security', () => {
  it.each([
    { qname: 'xk2j4h5g6f.tk', domain: 'xk2j4h5g6f.tk' },
    { qname: null, domain: null },
  ])('qname $qname -> domain $domain', ({ qname, domain }) => {
    expect(mapper.security(securityEvent({ qname }))).toEqual({
      type: 'security_event',
      event_id: 'f2a3b4c5-d6e7-4890-a1b2-c3d4e5f60718',
      kind: 'dga_domain',
      severity: 'HIGH',
      client: '100.100.1.2',
      domain,
      timestamp: '2023-11-14T22:13:22.500Z',
      details: { score: '0.97' },
    });
  });
});

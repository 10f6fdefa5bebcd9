import { describe, expect, it } from 'vitest';
import { canonicalIp, matchesFilter, parseLiveFilter } from '../src/filter.js';
import type { LiveFilter } from '../src/filter.js';
import { LiveEventMapper } from '../src/mapper.js';
import { presenceEvent, queryEvent, securityEvent } from './fixtures.js';

describe('parseLiveFilter', () => {
  it.each([
    { url: '/ws/events', types: null, clients: null, none: true },
    { url: '/ws/events?', types: null, clients: null, none: true },
    { url: '/ws/events?token=abc', types: null, clients: null, none: true },
    { url: '/ws/events?types=tailscale_query,device_online', types: ['tailscale_query', 'device_online'], clients: null },
    { url: '/ws/events?types=dns_query&types=security_event', types: ['dns_query', 'security_event'], clients: null },
    { url: '/ws/events?types=%20dns_query%20', types: ['dns_query'], clients: null },
    { url: '/ws/events?client=1.2.3.4', types: null, clients: ['1.2.3.4'] },
    { url: '/ws/events?client=FD7A:115C:A1E0:0:0:0:0:1', types: null, clients: ['fd7a:115c:a1e0::1'] },
    { url: '/ws/events?client=::ffff:1.2.3.4', types: null, clients: ['1.2.3.4'] },
    { url: '/ws/events?client=1.2.3.4,100.64.0.1', types: null, clients: ['1.2.3.4', '100.64.0.1'] },
    { url: '/ws/events?types=device_offline&client=10.8.0.2', types: ['device_offline'], clients: ['10.8.0.2'] },
  ])('accepts $url', ({ url, types, clients, none }) => {
    const result = parseLiveFilter(url);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    if (none === true) {
      expect(result.filter).toBeNull();
      return;
    }
    expect(result.filter?.types === null ? null : [...(result.filter?.types ?? [])]).toEqual(types);
    expect(result.filter?.clients === null ? null : [...(result.filter?.clients ?? [])]).toEqual(clients);
  });

  it.each([
    { url: '/ws/events?types=', reason: /unknown type ""/ },
    { url: '/ws/events?types=dns_query,', reason: /unknown type ""/ },
    { url: '/ws/events?types=everything', reason: /unknown type "everything"/ },
    { url: '/ws/events?types=DNS_QUERY', reason: /unknown type/ },
    { url: '/ws/events?client=', reason: /is not an IP address/ },
    { url: '/ws/events?client=example.com', reason: /is not an IP address/ },
    { url: '/ws/events?client=1.2.3.4/32', reason: /is not an IP address/ },
    { url: '/ws/events?client=1.2.3.256', reason: /is not an IP address/ },
    {
      url: `/ws/events?client=${Array.from({ length: 65 }, (_, i) => `10.0.0.${i}`).join(',')}`,
      reason: /at most 64/,
    },
  ])('rejects $url', ({ url, reason }) => {
    const result = parseLiveFilter(url);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(reason);
  });
});

describe('canonicalIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    [' 1.2.3.4 ', '1.2.3.4'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['nope', null],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });
});

describe('matchesFilter', () => {
  const mapper = new LiveEventMapper();
  const dns = mapper.query(queryEvent({ client_ip: '192.0.2.10' }));
  const tailnet = mapper.query(queryEvent({ client_ip: '100.64.0.5' }));
  const online = mapper.presence(presenceEvent({ addresses: ['10.8.0.2/32', 'fd00::2/128'] }));
  const security = mapper.security(securityEvent({ client_ip: '100.100.1.2' }));

  const f = (types: string[] | null, clients: string[] | null): LiveFilter => {
    const parts: string[] = [];
    if (types) parts.push(`types=${types.join(',')}`);
    if (clients) parts.push(`client=${clients.join(',')}`);
    const r = parseLiveFilter(`/ws/events?${parts.join('&')}`);
    if (!r.ok || r.filter === null) throw new Error('bad test filter');
    return r.filter;
  };

  it.each([
    { name: 'type in set', filter: f(['dns_query'], null), event: dns, expected: true },
    { name: 'type not in set', filter: f(['tailscale_query'], null), event: dns, expected: false },
    { name: 'tailnet type', filter: f(['tailscale_query'], null), event: tailnet, expected: true },
    { name: 'client match', filter: f(null, ['192.0.2.10']), event: dns, expected: true },
    { name: 'client mismatch', filter: f(null, ['192.0.2.11']), event: dns, expected: false },
    { name: 'presence address match (prefix stripped)', filter: f(null, ['10.8.0.2']), event: online, expected: true },
    { name: 'presence IPv6 address match', filter: f(null, ['fd00:0::2']), event: online, expected: true },
    { name: 'presence no address match', filter: f(null, ['10.8.0.3']), event: online, expected: false },
    { name: 'security client match', filter: f(['security_event'], ['100.100.1.2']), event: security, expected: true },
    { name: 'type ok, client not', filter: f(['security_event'], ['1.1.1.1']), event: security, expected: false },
    { name: 'client ok, type not', filter: f(['dns_query'], ['100.100.1.2']), event: security, expected: false },
  ])('$name', ({ filter, event, expected }) => {
    expect(matchesFilter(filter, event)).toBe(expected);
  });
});

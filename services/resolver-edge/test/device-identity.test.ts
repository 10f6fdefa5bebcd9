// Unit: DeviceIdentityIndex (identity behind NAT) — which address strings a
// presence event's addresses become, the last-event-wins rules, and the copy
// the event thread keeps from the entries it is posted.
import type { DeviceIdentity, PresenceEvent } from '@ghostdns/contracts';
import { describe, expect, it } from 'vitest';
import { DeviceIdentityCopy, DeviceIdentityIndex } from '../src/device-identity.js';

let seq = 0;
const presence = (device: string, name: string, addresses: string[], extra: Partial<PresenceEvent> = {}): PresenceEvent => ({
  event_id: `p${++seq}`, type: 'DEVICE_ONLINE', source: 'WIREGUARD', device_id: device, name, interface: 'wg0', addresses,
  last_handshake_us: null, observed_at_us: 1_700_000_000_000_000, node_id: 'node-a', domain: null, ...extra,
});
const wg = (device: string, name: string): DeviceIdentity => ({ source: 'WIREGUARD', device_id: device, name });

describe('DeviceIdentityIndex: the client_ip strings an address is found under', () => {
  it.each([
    {
      case: 'a WireGuard /32: the host part, as an IPv4 socket, a dual-stack socket and the dnstap tap (inet_ntop form) write it',
      addresses: ['10.8.0.2/32'],
      found: ['10.8.0.2', '::ffff:10.8.0.2'],
      missing: ['10.8.0.2/32', '10.8.0.20', '10.8.0.3', '::ffff:a08:2'],
    },
    { case: 'a bare address (Tailscale)', addresses: ['100.64.0.7'], found: ['100.64.0.7', '::ffff:100.64.0.7'], missing: ['100.64.0.70'] },
    {
      case: 'IPv6 /128 in any spelling: found as sockets print it (lower case, longest zero run compressed)',
      addresses: ['FD00:0:0:0:0:0:0:2/128'],
      found: ['fd00::2'],
      missing: ['FD00::2', 'fd00:0:0:0:0:0:0:2'],
    },
    { case: 'IPv6 with a single zero group, never compressed', addresses: ['2001:db8:0:1:1:1:1:1/128'], found: ['2001:db8:0:1:1:1:1:1'], missing: ['2001:db8::1:1:1:1:1'] },
    { case: 'IPv6 with leading zeros', addresses: ['fd7a:115c:a1e0:0000:0000:0000:0000:000a'], found: ['fd7a:115c:a1e0::a'], missing: [] },
    { case: 'an IPv4-mapped IPv6 address is the IPv4 address', addresses: ['::ffff:10.8.0.9/128'], found: ['10.8.0.9', '::ffff:10.8.0.9'], missing: ['::ffff:a08:9'] },
    { case: 'both families of one device', addresses: ['10.8.0.2/32', 'fd00::2/128'], found: ['10.8.0.2', 'fd00::2'], missing: [] },
    { case: 'what is no address is ignored', addresses: ['', 'wg0', '10.8.0.300/32', '10.08.0.2', 'fd00::2::1'], found: [], missing: ['10.8.0.300', '10.08.0.2'] },
  ])('$case', ({ addresses, found, missing }) => {
    const index = new DeviceIdentityIndex();
    index.apply(presence('k1', 'laptop', addresses));
    for (const ip of found) expect(index.identityFor(ip), ip).toEqual(wg('k1', 'laptop'));
    for (const ip of missing) expect(index.identityFor(ip), ip).toBeNull();
    if (found.length === 0) expect(index.entries()).toEqual([]);
  });
});

describe('DeviceIdentityIndex: the last event per device wins', () => {
  it.each([
    {
      case: 'an offline device keeps its identity (its last addresses)',
      events: [presence('k1', 'laptop', ['10.8.0.2/32']), presence('k1', 'laptop', ['10.8.0.2/32'], { type: 'DEVICE_OFFLINE' })],
      expected: { '10.8.0.2': wg('k1', 'laptop') },
    },
    {
      case: 'a device published under no name has an identity named ""',
      events: [presence('k1', '', ['10.8.0.2/32'])],
      expected: { '10.8.0.2': wg('k1', '') },
    },
    {
      case: 'a Tailscale device',
      events: [presence('nTS1', 'phone', ['100.64.0.7', 'fd7a:115c:a1e0::7'], { source: 'TAILSCALE', interface: null })],
      expected: { '100.64.0.7': { source: 'TAILSCALE', device_id: 'nTS1', name: 'phone' }, 'fd7a:115c:a1e0::7': { source: 'TAILSCALE', device_id: 'nTS1', name: 'phone' } },
    },
    {
      case: 'addresses missing from a newer event are dropped',
      events: [presence('k1', 'laptop', ['10.8.0.2/32', 'fd00::2/128']), presence('k1', 'laptop', ['fd00::2/128'])],
      expected: { '10.8.0.2': null, '::ffff:10.8.0.2': null, 'fd00::2': wg('k1', 'laptop') },
    },
    {
      case: 'an offline event with no addresses drops them all',
      events: [presence('k1', 'laptop', ['10.8.0.2/32']), presence('k1', 'laptop', [], { type: 'DEVICE_OFFLINE' })],
      expected: { '10.8.0.2': null },
    },
    {
      case: 'an address another device claims moves to it',
      events: [presence('k1', 'laptop', ['10.8.0.2/32', '10.8.0.3/32']), presence('k2', 'phone', ['10.8.0.2/32'])],
      expected: { '10.8.0.2': wg('k2', 'phone'), '::ffff:10.8.0.2': wg('k2', 'phone'), '10.8.0.3': wg('k1', 'laptop') },
    },
    {
      case: 'the old owner dropping a moved address leaves it with the new owner',
      events: [presence('k1', 'laptop', ['10.8.0.2/32']), presence('k2', 'phone', ['10.8.0.2/32']), presence('k1', 'laptop', [])],
      expected: { '10.8.0.2': wg('k2', 'phone') },
    },
    {
      case: 'the old owner claiming it again takes it back',
      events: [presence('k1', 'laptop', ['10.8.0.2/32']), presence('k2', 'phone', ['10.8.0.2/32']), presence('k1', 'laptop', ['10.8.0.2/32'])],
      expected: { '10.8.0.2': wg('k1', 'laptop') },
    },
    {
      case: 'a renamed device answers with its new name on every address',
      events: [presence('k1', 'laptop', ['10.8.0.2/32', 'fd00::2/128']), presence('k1', 'work-laptop', ['10.8.0.2/32', 'fd00::2/128'])],
      expected: { '10.8.0.2': wg('k1', 'work-laptop'), 'fd00::2': wg('k1', 'work-laptop') },
    },
  ])('$case', ({ events, expected }) => {
    const index = new DeviceIdentityIndex();
    for (const e of events) index.apply(e);
    for (const [ip, identity] of Object.entries(expected)) expect(index.identityFor(ip), ip).toEqual(identity);
  });

  it('returns one shared frozen object per device, kept while its identity does not change', () => {
    const index = new DeviceIdentityIndex();
    index.apply(presence('k1', 'laptop', ['10.8.0.2/32', 'fd00::2/128']));
    const identity = index.identityFor('10.8.0.2');
    expect(Object.isFrozen(identity)).toBe(true);
    expect(index.identityFor('fd00::2')).toBe(identity);
    expect(index.identityFor('::ffff:10.8.0.2')).toBe(identity);
    index.apply(presence('k1', 'laptop', ['10.8.0.2/32'], { type: 'DEVICE_OFFLINE' }));
    expect(index.identityFor('10.8.0.2')).toBe(identity);
  });

  it('tells its listeners which addresses an event changed, and nothing when it changed none', () => {
    const index = new DeviceIdentityIndex();
    const told: string[][] = [];
    const unsubscribe = index.onChange((addresses) => told.push([...addresses].sort()));
    index.apply(presence('k1', 'laptop', ['10.8.0.2/32']));
    index.apply(presence('k1', 'laptop', ['10.8.0.2/32'], { type: 'DEVICE_OFFLINE' }));
    index.apply(presence('k1', 'laptop', ['fd00::2/128']));
    unsubscribe();
    index.apply(presence('k1', 'laptop', []));
    expect(told).toEqual([
      ['10.8.0.2', '::ffff:10.8.0.2'],
      ['10.8.0.2', '::ffff:10.8.0.2', 'fd00::2'],
    ]);
  });
});

describe('DeviceIdentityCopy (the event thread\'s)', () => {
  it('mirrors the index from its entries, then from the changed addresses with their identity now', () => {
    const index = new DeviceIdentityIndex();
    const copy = new DeviceIdentityCopy();
    index.apply(presence('k1', 'laptop', ['10.8.0.2/32']));
    index.apply(presence('k2', 'phone', ['10.8.0.3/32']));
    copy.update(index.entries());
    let changed: readonly string[] = [];
    index.onChange((addresses) => (changed = addresses));
    index.apply(presence('k1', 'laptop', ['fd00::2/128']));
    copy.update(changed.map((ip) => [ip, index.identityFor(ip)] as const));
    for (const ip of ['10.8.0.2', '::ffff:10.8.0.2', '10.8.0.3', 'fd00::2', '192.0.2.1']) expect(copy.identityFor(ip), ip).toEqual(index.identityFor(ip));
    expect(copy.identityFor('10.8.0.3')).toEqual(wg('k2', 'phone'));
    expect(Object.isFrozen(copy.identityFor('fd00::2'))).toBe(true);
  });
});

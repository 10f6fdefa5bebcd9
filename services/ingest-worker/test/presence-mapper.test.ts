import { describe, expect, it } from 'vitest';
import type { PresenceEvent } from '@ghostdns/contracts';
import { hostAddress, PresenceEventMapper, type PresenceRejectReason } from '../src/presence-mapper.js';
import { OBSERVED_AT_US, presenceEvent } from './fixtures.js';

/** A mapper whose invalid-address reports the test reads. */
function recordingMapper(): { mapper: PresenceEventMapper; reports: { event_id: string; invalid: readonly unknown[] }[] } {
  const reports: { event_id: string; invalid: readonly unknown[] }[] = [];
  const mapper = new PresenceEventMapper((event, invalid) => reports.push({ event_id: event.event_id, invalid }));
  return { mapper, reports };
}

/** Builds an event with a field forced to a value its type does not allow. */
function withRaw(field: string, value: unknown): PresenceEvent {
  return { ...presenceEvent(), [field]: value };
}

describe('PresenceEventMapper: a valid event', () => {
  it('maps every column', () => {
    const { mapper, reports } = recordingMapper();
    const event = presenceEvent();
    expect(mapper.map(event)).toEqual({
      ok: true,
      row: {
        observed_at: '2024-05-01T11:59:00.000001Z',
        event_id: event.event_id,
        node_id: 'edge-1',
        source: 'wireguard',
        device_id: event.device_id,
        name: 'laptop',
        domain: null,
        interface: 'wg0',
        online: true,
        addresses: ['10.8.0.2', 'fd00:8::2'],
        last_handshake: '2024-05-01T11:58:55.000001Z',
      },
    });
    expect(reports).toEqual([]);
  });

  it.each([
    ['DEVICE_ONLINE', { type: 'DEVICE_ONLINE' }, { online: true }],
    ['DEVICE_OFFLINE', { type: 'DEVICE_OFFLINE' }, { online: false }],
    ['a Tailscale device without interface', { source: 'TAILSCALE', interface: null }, { source: 'tailscale', interface: null }],
    ['a custom domain', { domain: 'home.example.net' }, { domain: 'home.example.net' }],
    ['no name', { name: '' }, { name: '' }],
    ['no handshake yet', { last_handshake_us: null }, { last_handshake: null }],
    ['no addresses', { addresses: [] }, { addresses: [] }],
    ['an upper-case event id', { event_id: '0B7E8C4A-3C1E-4D5B-9F2A-6A0E1D2C3B4A' }, { event_id: '0b7e8c4a-3c1e-4d5b-9f2a-6a0e1d2c3b4a' }],
    ['a v1 event without domain', { domain: undefined }, { domain: null }],
  ] as const)('maps %s', (_name, overrides, expected) => {
    const result = recordingMapper().mapper.map({ ...presenceEvent(), ...(overrides as Partial<PresenceEvent>) });
    expect(result.ok && result.row).toMatchObject(expected);
  });
});

describe('PresenceEventMapper: addresses', () => {
  it.each([
    ['10.8.0.2', '10.8.0.2'],
    ['10.8.0.2/32', '10.8.0.2'],
    ['10.8.0.0/24', '10.8.0.0'],
    ['100.64.0.7/0', '100.64.0.7'],
    ['fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::1'],
    ['fd7a:115c:a1e0::1/128', 'fd7a:115c:a1e0::1'],
    ['::ffff:10.0.0.1/96', '::ffff:10.0.0.1'],
  ])('keeps the host part of %s', (address, host) => {
    expect(hostAddress(address)).toBe(host);
  });

  it.each([
    ['not an address', 'laptop'],
    ['an empty string', ''],
    ['an IPv4 prefix beyond 32', '10.8.0.2/33'],
    ['an IPv6 prefix beyond 128', 'fd00::1/129'],
    ['an empty prefix', '10.8.0.2/'],
    ['a signed prefix', '10.8.0.2/+8'],
    ['two prefixes', '10.8.0.2/32/32'],
    ['a zone id', 'fe80::1%wg0'],
    ['a port', '10.8.0.2:51820'],
    ['a number', 167_772_162],
    ['null', null],
  ])('drops %s', (_name, address) => {
    expect(hostAddress(address)).toBeNull();
  });

  it('drops the invalid addresses of an event, keeps the event, and reports them once', () => {
    const { mapper, reports } = recordingMapper();
    const event = withRaw('addresses', ['10.8.0.2/32', 'bogus', 'fd00:8::2', 42]);
    const result = mapper.map(event);
    expect(result.ok && result.row.addresses).toEqual(['10.8.0.2', 'fd00:8::2']);
    expect(reports).toEqual([{ event_id: event.event_id, invalid: ['bogus', 42] }]);
  });

  it('reports nothing for an event it refuses', () => {
    const { mapper, reports } = recordingMapper();
    expect(mapper.map(presenceEvent({ node_id: '', addresses: ['bogus'] })).ok).toBe(false);
    expect(reports).toEqual([]);
  });

  it('drops invalid addresses without a listener', () => {
    const result = new PresenceEventMapper().map(presenceEvent({ addresses: ['bogus'] }));
    expect(result.ok && result.row.addresses).toEqual([]);
  });
});

describe('PresenceEventMapper: rejected events', () => {
  const cases: [string, PresenceEvent, PresenceRejectReason][] = [
    ['event_id not a UUID', presenceEvent({ event_id: 'abc' }), 'invalid_event_id'],
    ['event_id missing', withRaw('event_id', undefined), 'invalid_event_id'],
    ['unknown type', withRaw('type', 'DEVICE_AWAY'), 'invalid_enum'],
    ['unknown source', withRaw('source', 'ZEROTIER'), 'invalid_enum'],
    ['source in lower case', withRaw('source', 'wireguard'), 'invalid_enum'],
    ['empty node_id', presenceEvent({ node_id: '' }), 'invalid_node'],
    ['empty device_id', presenceEvent({ device_id: '' }), 'invalid_device'],
    ['device_id with NUL', presenceEvent({ device_id: 'a\u0000b' }), 'invalid_device'],
    ['name not a string', withRaw('name', null), 'invalid_name'],
    ['name with NUL', presenceEvent({ name: 'lap\u0000top' }), 'invalid_name'],
    ['empty domain', presenceEvent({ domain: '' }), 'invalid_domain'],
    ['empty interface', presenceEvent({ interface: '' }), 'invalid_interface'],
    ['addresses not a list', withRaw('addresses', '10.8.0.2'), 'invalid_addresses'],
    ['negative observed_at', presenceEvent({ observed_at_us: -1 }), 'invalid_observed_at'],
    ['fractional observed_at', presenceEvent({ observed_at_us: OBSERVED_AT_US + 0.5 }), 'invalid_observed_at'],
    ['unsafe last handshake', presenceEvent({ last_handshake_us: 2 ** 60 }), 'invalid_last_handshake'],
  ];

  it.each(cases)('%s', (_name, event, reason) => {
    const result = recordingMapper().mapper.map(event);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.detail.length).toBeGreaterThan(0);
      expect(result.detail.length).toBeLessThanOrEqual(120);
    }
  });

  it('splits a batch into rows and rejections, keeping order', () => {
    const good1 = presenceEvent();
    const bad = presenceEvent({ node_id: '' });
    const good2 = presenceEvent({ type: 'DEVICE_OFFLINE' });
    const { rows, rejected } = recordingMapper().mapper.mapBatch([good1, bad, good2]);
    expect(rows.map((r) => r.event_id)).toEqual([good1.event_id, good2.event_id]);
    expect(rejected).toEqual([{ event: bad, reason: 'invalid_node', detail: 'node_id=""' }]);
  });
});

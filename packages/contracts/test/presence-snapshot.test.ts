import { describe, expect, it } from 'vitest';
import {
  decodePresenceSnapshot, encodePresenceSnapshot, presenceSnapshotKey, presenceSourceId, type PresenceSnapshot,
} from '../src/index.js';

const snapshot: PresenceSnapshot = {
  version: 1,
  nodeId: 'node-a',
  sourceId: 'wireguard',
  writtenAtUs: 1_700_000_000_000_000,
  online: [
    { source: 'WIREGUARD', deviceId: 'key-1', name: 'laptop', interface: 'wg0', addresses: ['10.8.0.2', 'fd00::2'], lastHandshakeUs: 1_699_999_990_000_000, domain: 'home.example' },
    { source: 'TAILSCALE', deviceId: 'n123', name: 'phone', interface: null, addresses: [], lastHandshakeUs: null, domain: null },
  ],
};

describe('presence snapshot', () => {
  it('is keyed by node and source id, the source id being the lower-cased PresenceSource', () => {
    expect(presenceSourceId('WIREGUARD')).toBe('wireguard');
    expect(presenceSourceId('TAILSCALE')).toBe('tailscale');
    expect(presenceSnapshotKey('node-a', presenceSourceId('WIREGUARD'))).toBe('presence:v1:node-a:wireguard');
  });

  it('round-trips', () => {
    expect(decodePresenceSnapshot(encodePresenceSnapshot(snapshot))).toEqual(snapshot);
  });

  it('reads a device written before domains existed as domain null', () => {
    const older: Record<string, unknown> = { ...snapshot.online[0] };
    delete older['domain'];
    const decoded = decodePresenceSnapshot(Buffer.from(JSON.stringify({ ...snapshot, online: [older] })));
    expect(decoded?.online).toEqual([{ ...snapshot.online[0], domain: null }]);
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '[1]'],
    ['another version', JSON.stringify({ ...snapshot, version: 2 })],
    ['no writtenAtUs', JSON.stringify({ ...snapshot, writtenAtUs: '1' })],
    ['a device of an unknown source', JSON.stringify({ ...snapshot, online: [{ ...snapshot.online[0], source: 'ZEROTIER' }] })],
    ['addresses that are not strings', JSON.stringify({ ...snapshot, online: [{ ...snapshot.online[0], addresses: [1] }] })],
    ['an interface that is not a string', JSON.stringify({ ...snapshot, online: [{ ...snapshot.online[0], interface: 0 }] })],
    ['a domain that is not a string', JSON.stringify({ ...snapshot, online: [{ ...snapshot.online[0], domain: 7 }] })],
  ])('rejects %s (null: read as no snapshot)', (_what, raw) => {
    expect(decodePresenceSnapshot(Buffer.from(raw))).toBeNull();
  });
});

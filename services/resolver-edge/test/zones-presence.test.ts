// Unit: PresenceNames on its own — global and instance names, and the snapshot
// check that makes names fail closed when presence-service stops vouching for
// them (a stubbed store; checks driven by hand, no timers).
import { encodePresenceSnapshot, presenceSnapshotKey, type PresenceEvent, type PresenceSnapshot } from '@ghostdns/contracts';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/metrics.js';
import { PresenceNames, type PresenceSnapshotReader } from '../src/zones/dynamic.js';
import { RrType } from '../src/zones/names.js';
import { LocalDataStore } from '../src/zones/store.js';

const SUFFIX = 'vpn.local';
const T0 = 1_700_000_000_000_000;
const KEY_A = presenceSnapshotKey('node-a', 'wireguard');

/** A store holding snapshots by key; `failing` makes every read reject. */
class SnapshotStore implements PresenceSnapshotReader {
  readonly values = new Map<string, Buffer>();
  failing = false;
  reads = 0;
  put(snapshot: Omit<PresenceSnapshot, 'version' | 'sourceId'> & { sourceId?: string }): void {
    const full: PresenceSnapshot = { version: 1, sourceId: 'wireguard', ...snapshot };
    this.values.set(presenceSnapshotKey(full.nodeId, full.sourceId), encodePresenceSnapshot(full));
  }
  async get(key: string): Promise<Buffer | null> {
    this.reads++;
    if (this.failing) throw new Error('ECONNREFUSED');
    return this.values.get(key) ?? null;
  }
}

let seq = 0;
const event = (type: PresenceEvent['type'], device: string, name: string, extra: Partial<PresenceEvent> = {}): PresenceEvent => ({
  event_id: `p${++seq}`, type, source: 'WIREGUARD', device_id: device, name, interface: 'wg0', addresses: ['10.8.0.2/32', 'fd00::2/128'],
  last_handshake_us: null, observed_at_us: T0, node_id: 'node-a', domain: null, ...extra,
});
const device = (deviceId: string, name: string): PresenceSnapshot['online'][number] => ({
  source: 'WIREGUARD', deviceId, name, interface: 'wg0', addresses: ['10.8.0.2'], lastHandshakeUs: T0,
});

function setup(snapshots: SnapshotStore | null = new SnapshotStore(), includeOffline = false): { names: PresenceNames; a: (name: string) => string[]; aaaa: (name: string) => string[] } {
  const store = new LocalDataStore();
  const names = new PresenceNames({ store, suffix: SUFFIX, logger: silentLogger, snapshots, includeOffline });
  const data = (name: string, type: number): string[] =>
    (store.lookup(name, type, { stream: false })?.answers ?? []).flatMap((r) => (typeof r.data === 'string' ? [r.data] : []));
  return { names, a: (name) => data(name, RrType.A), aaaa: (name) => data(name, RrType.AAAA) };
}

describe('PresenceNames: names', () => {
  it('answers the global name and, with an interface, the instance name <name>.<interface>.<suffix>', () => {
    const { names, a, aaaa } = setup(null);
    names.apply(event('DEVICE_ONLINE', 'k1', 'Laptop'));
    expect(a('laptop.vpn.local')).toEqual(['10.8.0.2']);
    expect(a('laptop.wg0.vpn.local')).toEqual(['10.8.0.2']);
    expect(aaaa('laptop.wg0.vpn.local')).toEqual(['fd00::2']);
    names.apply(event('DEVICE_OFFLINE', 'k1', 'Laptop', { addresses: [] }));
    expect(a('laptop.vpn.local')).toEqual([]);
    expect(a('laptop.wg0.vpn.local')).toEqual([]);
  });

  it('no instance name without an interface (Tailscale); interface characters that are no label become -', () => {
    const { names, a } = setup(null);
    names.apply(event('DEVICE_ONLINE', 'n1', 'phone', { source: 'TAILSCALE', interface: null, addresses: ['100.64.0.7'] }));
    names.apply(event('DEVICE_ONLINE', 'k2', 'nas', { interface: 'WG_Home.1', addresses: ['10.9.0.2'] }));
    expect(a('phone.vpn.local')).toEqual(['100.64.0.7']);
    expect(a('nas.wg-home-1.vpn.local')).toEqual(['10.9.0.2']);
    expect(names.instanceNameFor('nas.vpn.local', '__')).toBeNull();
  });

  it('a device moving to another interface leaves its old instance name', () => {
    const { names, a } = setup(null);
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop'));
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop', { interface: 'wg1' }));
    expect(a('laptop.wg0.vpn.local')).toEqual([]);
    expect(a('laptop.wg1.vpn.local')).toEqual(['10.8.0.2']);
  });
});

describe('PresenceNames: offline names (presence.includeOffline)', () => {
  it('answers <name>.offline.<suffix> while the device is offline, only that while it is', async () => {
    const snapshots = new SnapshotStore();
    const { names, a } = setup(snapshots, true);
    names.apply(event('DEVICE_OFFLINE', 'k1', 'laptop'));
    expect(a('laptop.offline.vpn.local')).toEqual(['10.8.0.2']);
    expect(a('laptop.vpn.local')).toEqual([]);
    // Offline names are no presence claim: no snapshot judges (or is read for) them.
    await names.checkSnapshots();
    expect(snapshots.reads).toBe(0);
    expect(a('laptop.offline.vpn.local')).toEqual(['10.8.0.2']);
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop'));
    expect(a('laptop.offline.vpn.local')).toEqual([]);
    expect(a('laptop.wg0.vpn.local')).toEqual(['10.8.0.2']);
  });

  it('none by default, and none for a device published under no name ("")', () => {
    const off = setup(null);
    off.names.apply(event('DEVICE_OFFLINE', 'k1', 'laptop'));
    expect(off.a('laptop.offline.vpn.local')).toEqual([]);
    const on = setup(null, true);
    on.names.apply(event('DEVICE_OFFLINE', 'k2', ''));
    expect(on.a('offline.vpn.local')).toEqual([]);
  });
});

describe('PresenceNames: snapshots (fail closed when presence-service stops vouching)', () => {
  it('keeps names its node still lists', async () => {
    const snapshots = new SnapshotStore();
    const { names, a } = setup(snapshots);
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop'));
    snapshots.put({ nodeId: 'node-a', writtenAtUs: T0 + 1, online: [device('k1', 'laptop')] });
    await names.checkSnapshots();
    expect(a('laptop.vpn.local')).toEqual(['10.8.0.2']);
  });

  it('withdraws every name of a node whose snapshot is gone, and brings them back when it returns', async () => {
    const snapshots = new SnapshotStore();
    const { names, a } = setup(snapshots);
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop'));
    names.apply(event('DEVICE_ONLINE', 'k9', 'desk', { node_id: 'node-b', addresses: ['10.7.0.9'] }));
    snapshots.put({ nodeId: 'node-b', writtenAtUs: T0 + 1, online: [device('k9', 'desk')] });
    await names.checkSnapshots();
    expect(a('laptop.vpn.local')).toEqual([]);
    expect(a('laptop.wg0.vpn.local')).toEqual([]);
    expect(a('desk.vpn.local')).toEqual(['10.7.0.9']);

    snapshots.put({ nodeId: 'node-a', writtenAtUs: T0 + 2, online: [device('k1', 'laptop')] });
    await names.checkSnapshots();
    expect(a('laptop.vpn.local')).toEqual(['10.8.0.2']);
  });

  it('withdraws a device a newer snapshot does not list; an older snapshot neither confirms nor denies', async () => {
    const snapshots = new SnapshotStore();
    const { names, a } = setup(snapshots);
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop'));
    snapshots.put({ nodeId: 'node-a', writtenAtUs: T0 - 1, online: [] });
    await names.checkSnapshots();
    expect(a('laptop.vpn.local')).toEqual(['10.8.0.2']);
    snapshots.put({ nodeId: 'node-a', writtenAtUs: T0 + 1, online: [] });
    await names.checkSnapshots();
    expect(a('laptop.vpn.local')).toEqual([]);
  });

  it('an unreadable or malformed snapshot withdraws (fail closed)', async () => {
    const snapshots = new SnapshotStore();
    const { names, a } = setup(snapshots);
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop'));
    snapshots.put({ nodeId: 'node-a', writtenAtUs: T0 + 1, online: [device('k1', 'laptop')] });
    snapshots.failing = true;
    await names.checkSnapshots();
    expect(a('laptop.vpn.local')).toEqual([]);
    snapshots.failing = false;
    await names.checkSnapshots();
    expect(a('laptop.vpn.local')).toEqual(['10.8.0.2']);
    snapshots.values.set(KEY_A, Buffer.from('{"version":1}'));
    await names.checkSnapshots();
    expect(a('laptop.vpn.local')).toEqual([]);
  });

  it('a new online event publishes again after a withdrawal; a shared name keeps the vouched device only', async () => {
    const snapshots = new SnapshotStore();
    const { names, a } = setup(snapshots);
    names.apply(event('DEVICE_ONLINE', 'k1', 'shared'));
    names.apply(event('DEVICE_ONLINE', 'k2', 'shared', { addresses: ['10.8.0.3'] }));
    snapshots.put({ nodeId: 'node-a', writtenAtUs: T0 + 1, online: [device('k2', 'shared')] });
    await names.checkSnapshots();
    expect(a('shared.vpn.local')).toEqual(['10.8.0.3']);
    names.apply(event('DEVICE_ONLINE', 'k1', 'shared', { observed_at_us: T0 + 2 }));
    expect(a('shared.vpn.local').sort()).toEqual(['10.8.0.2', '10.8.0.3']);
  });

  it('an event applied while a check reads is not judged by that read', async () => {
    const snapshots = new SnapshotStore();
    const { names, a } = setup(snapshots);
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop'));
    const check = names.checkSnapshots(); // reads: no snapshot yet
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop', { observed_at_us: T0 + 5 }));
    await check;
    expect(a('laptop.vpn.local')).toEqual(['10.8.0.2']);
  });

  it('reads nothing without devices or without a store; start/stop run the timer', async () => {
    const snapshots = new SnapshotStore();
    const { names } = setup(snapshots);
    await names.checkSnapshots();
    expect(snapshots.reads).toBe(0);
    const off = setup(null);
    off.names.apply(event('DEVICE_ONLINE', 'k1', 'laptop'));
    await off.names.checkSnapshots();
    expect(off.a('laptop.vpn.local')).toEqual(['10.8.0.2']);
    names.start();
    await names.stop();
  });
});

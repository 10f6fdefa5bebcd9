// Unit: PresenceNames on its own — global and instance names, custom domains,
// the identity index it feeds, and the snapshot check that makes names fail
// closed when presence-service stops vouching for them (a stubbed store;
// checks driven by hand, no timers).
import { encodePresenceSnapshot, presenceSnapshotKey, type PresenceEvent, type PresenceSnapshot } from '@ghostdns/contracts';
import { describe, expect, it } from 'vitest';
import { DeviceIdentityIndex } from '../src/device-identity.js';
import { silentLogger, type EdgeLogger } from '../src/metrics.js';
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
  source: 'WIREGUARD', deviceId, name, interface: 'wg0', addresses: ['10.8.0.2'], lastHandshakeUs: T0, domain: null,
});

/** Keeps the warnings; everything else is dropped. */
class WarningLogger implements EdgeLogger {
  readonly warnings: { obj: object; msg: string | undefined }[] = [];
  debug(): void {}
  info(): void {}
  error(): void {}
  warn(obj: object, msg?: string): void {
    this.warnings.push({ obj, msg });
  }
}

function setup(
  snapshots: SnapshotStore | null = new SnapshotStore(),
  includeOffline = false,
  extra: { logger?: EdgeLogger; devices?: DeviceIdentityIndex } = {},
): { names: PresenceNames; a: (name: string) => string[]; aaaa: (name: string) => string[] } {
  const store = new LocalDataStore();
  const names = new PresenceNames({ store, suffix: SUFFIX, logger: extra.logger ?? silentLogger, snapshots, includeOffline, identities: extra.devices });
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

describe('PresenceNames: custom domains (PresenceEvent.domain replaces the suffix)', () => {
  const HOME = 'home.example';
  it.each([
    {
      case: 'global and instance names go under the custom domain, none under the suffix',
      events: [event('DEVICE_ONLINE', 'k1', 'Laptop', { domain: HOME })],
      answers: { 'laptop.home.example': ['10.8.0.2'], 'laptop.wg0.home.example': ['10.8.0.2'], 'laptop.vpn.local': [], 'laptop.wg0.vpn.local': [] },
    },
    {
      case: 'a Tailscale device: the global name only',
      events: [event('DEVICE_ONLINE', 'n1', 'phone', { source: 'TAILSCALE', interface: null, addresses: ['100.64.0.7'], domain: HOME })],
      answers: { 'phone.home.example': ['100.64.0.7'], 'phone.vpn.local': [] },
    },
    {
      case: 'a name already ending in the custom domain is not doubled',
      events: [event('DEVICE_ONLINE', 'k1', 'laptop.home.example', { domain: HOME })],
      answers: { 'laptop.home.example': ['10.8.0.2'], 'laptop.wg0.home.example': ['10.8.0.2'], 'laptop.home.example.home.example': [] },
    },
    {
      case: 'offline (includeOffline): <name>.offline.<domain>',
      includeOffline: true,
      events: [event('DEVICE_OFFLINE', 'k1', 'laptop', { domain: HOME })],
      answers: { 'laptop.offline.home.example': ['10.8.0.2'], 'laptop.offline.vpn.local': [], 'laptop.home.example': [] },
    },
    {
      case: 'a domain change on a later event moves every name',
      events: [event('DEVICE_ONLINE', 'k1', 'laptop', { domain: HOME }), event('DEVICE_ONLINE', 'k1', 'laptop', { domain: 'office.example' })],
      answers: { 'laptop.office.example': ['10.8.0.2'], 'laptop.wg0.office.example': ['10.8.0.2'], 'laptop.home.example': [], 'laptop.wg0.home.example': [] },
    },
    {
      case: 'a later event without a domain moves the names back under the suffix',
      events: [event('DEVICE_ONLINE', 'k1', 'laptop', { domain: HOME }), event('DEVICE_ONLINE', 'k1', 'laptop')],
      answers: { 'laptop.vpn.local': ['10.8.0.2'], 'laptop.wg0.vpn.local': ['10.8.0.2'], 'laptop.home.example': [] },
    },
    {
      case: 'going offline withdraws the names under the custom domain',
      events: [event('DEVICE_ONLINE', 'k1', 'laptop', { domain: HOME }), event('DEVICE_OFFLINE', 'k1', 'laptop', { domain: HOME, addresses: [] })],
      answers: { 'laptop.home.example': [], 'laptop.wg0.home.example': [] },
    },
    {
      case: 'devices under the suffix and under a custom domain share no names',
      events: [event('DEVICE_ONLINE', 'k1', 'nas', { domain: HOME }), event('DEVICE_ONLINE', 'k2', 'nas', { addresses: ['10.8.0.3'] })],
      answers: { 'nas.home.example': ['10.8.0.2'], 'nas.vpn.local': ['10.8.0.3'] },
    },
  ])('$case', ({ events, answers, includeOffline }) => {
    const { names, a } = setup(null, includeOffline ?? false);
    for (const e of events) names.apply(e);
    for (const [name, addresses] of Object.entries(answers)) expect(a(name), name).toEqual(addresses);
  });

  it.each([
    { case: 'upper case', domain: 'Home.Example' },
    { case: 'a trailing dot', domain: 'home.example.' },
    { case: 'empty', domain: '' },
    { case: 'an empty label', domain: 'home..example' },
    { case: 'a label starting with -', domain: '-home.example' },
    { case: 'a label over 63 characters', domain: `${'h'.repeat(64)}.example` },
    { case: 'a space', domain: 'home example' },
  ])('a malformed custom domain ($case) is logged and the names go under the suffix', ({ domain }) => {
    const logger = new WarningLogger();
    const { names, a } = setup(null, false, { logger });
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop', { domain }));
    expect(a('laptop.vpn.local')).toEqual(['10.8.0.2']);
    expect(a('laptop.wg0.vpn.local')).toEqual(['10.8.0.2']);
    expect(logger.warnings).toEqual([{ obj: { device: 'k1', domain }, msg: expect.stringMatching(/custom domain/) as unknown }]);
  });

  it('names under a custom domain fail closed like the others when the snapshot is gone', async () => {
    const snapshots = new SnapshotStore();
    const { names, a } = setup(snapshots);
    names.apply(event('DEVICE_ONLINE', 'k1', 'laptop', { domain: HOME }));
    snapshots.put({ nodeId: 'node-a', writtenAtUs: T0 + 1, online: [device('k1', 'laptop')] });
    await names.checkSnapshots();
    expect(a('laptop.home.example')).toEqual(['10.8.0.2']);
    snapshots.values.clear();
    await names.checkSnapshots();
    expect(a('laptop.home.example')).toEqual([]);
    expect(a('laptop.wg0.home.example')).toEqual([]);
  });
});

describe('PresenceNames: device identities', () => {
  it('feeds the index every event it applies: offline ones without includeOffline, unnamed devices, bad domains', () => {
    const devices = new DeviceIdentityIndex();
    const { names, a } = setup(null, false, { devices });
    names.apply(event('DEVICE_OFFLINE', 'k1', 'laptop'));
    names.apply(event('DEVICE_ONLINE', 'k2', '', { addresses: ['10.8.0.3/32'] }));
    names.apply(event('DEVICE_ONLINE', 'k3', 'desk', { addresses: ['10.8.0.4/32'], domain: 'Bad..Domain' }));
    expect(a('laptop.vpn.local')).toEqual([]);
    expect(devices.identityFor('10.8.0.2')).toEqual({ source: 'WIREGUARD', device_id: 'k1', name: 'laptop' });
    expect(devices.identityFor('fd00::2')).toEqual({ source: 'WIREGUARD', device_id: 'k1', name: 'laptop' });
    expect(devices.identityFor('10.8.0.3')).toEqual({ source: 'WIREGUARD', device_id: 'k2', name: '' });
    expect(devices.identityFor('10.8.0.4')).toEqual({ source: 'WIREGUARD', device_id: 'k3', name: 'desk' });
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

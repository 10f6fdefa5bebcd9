import { describe, expect, it } from 'vitest';
import type { EventPublisher } from '@ghostdns/bus';
import { presenceSnapshotKey } from '@ghostdns/contracts';
import type { PresenceEvent, TopicName, TopicPayloads } from '@ghostdns/contracts';
import { createMetricsRegistry } from '@ghostdns/observability';
import { createMemoryKeyValueStore } from '@ghostdns/runtime';
import type { KeyValueStore } from '@ghostdns/runtime';
import { presenceInstruments } from '../src/metrics.js';
import type { PeerObservation } from '../src/presence-source.js';
import { isPeerOnline, PresenceTracker, readPresenceSnapshot } from '../src/tracker.js';
import { KEY } from './wg-keys.js';

const S = 1_000_000; // microseconds per second
const T0 = 1_700_000_000 * S;

describe('isPeerOnline', () => {
  const base = { lastHandshakeUs: T0, rxChangedAtUs: T0, persistentKeepaliveSec: null, nowUs: T0 + 10 * S, thresholdMs: 300_000 };
  it.each([
    { name: 'fresh handshake', input: {}, online: true },
    { name: 'never handshook', input: { lastHandshakeUs: null }, online: false },
    { name: 'handshake exactly at the threshold', input: { nowUs: T0 + 300 * S }, online: true },
    { name: 'handshake older than the threshold', input: { nowUs: T0 + 300 * S + 1 }, online: false },
    { name: 'keepalive 25 s, bytes moving', input: { persistentKeepaliveSec: 25, rxChangedAtUs: T0 + 5 * S }, online: true },
    { name: 'keepalive 25 s, bytes still for 50 s', input: { persistentKeepaliveSec: 25, nowUs: T0 + 50 * S }, online: true },
    { name: 'keepalive 25 s, bytes still for 51 s', input: { persistentKeepaliveSec: 25, nowUs: T0 + 51 * S }, online: false },
    { name: 'keepalive 0 is off', input: { persistentKeepaliveSec: 0, nowUs: T0 + 200 * S }, online: true },
  ])('$name -> $online', ({ input, online }) => {
    expect(isPeerOnline({ ...base, ...input })).toBe(online);
  });
});

class RecordingPublisher implements EventPublisher {
  readonly events: PresenceEvent[] = [];
  failNext = false;
  async publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('bus down');
    }
    if (topic === 'presence.events.v1') this.events.push(...(values as readonly PresenceEvent[]));
  }
}

const peer = (overrides: Partial<PeerObservation> = {}): PeerObservation => ({
  source: 'WIREGUARD',
  deviceId: KEY.laptop,
  name: 'laptop',
  domain: null,
  interface: 'wg0',
  addresses: ['10.8.0.2'],
  lastHandshakeUs: T0,
  observedAtUs: T0 + S,
  rxBytes: 100,
  persistentKeepaliveSec: null,
  ...overrides,
});

function setup(store: KeyValueStore = createMemoryKeyValueStore({ maxEntries: 100 })) {
  const publisher = new RecordingPublisher();
  const registry = createMetricsRegistry({ processMetrics: false });
  const logs: string[] = [];
  let id = 0;
  const tracker = new PresenceTracker({
    publisher,
    store,
    nodeId: 'node-a',
    thresholdMs: (iface) => (iface === 'wg-fast' ? 10_000 : 300_000),
    snapshotTtlMs: 300_000,
    instruments: presenceInstruments(registry),
    logger: { info: (_o, m) => logs.push(m), warn: (_o, m) => logs.push(m) },
    newEventId: () => `e${++id}`,
  });
  const types = () => publisher.events.map((e) => `${e.type}:${e.name}`);
  return { tracker, publisher, registry, store, logs, types };
}

describe('PresenceTracker', () => {
  it('publishes only transitions, with source, interface and last handshake', async () => {
    const { tracker, publisher, types } = setup();
    await tracker.observe('wireguard', [peer()]);
    await tracker.observe('wireguard', [peer({ observedAtUs: T0 + 2 * S })]);
    expect(types()).toEqual(['DEVICE_ONLINE:laptop']);
    expect(publisher.events[0]).toEqual({
      event_id: 'e1', type: 'DEVICE_ONLINE', source: 'WIREGUARD', device_id: KEY.laptop, name: 'laptop', interface: 'wg0',
      addresses: ['10.8.0.2'], last_handshake_us: T0, observed_at_us: T0 + S, node_id: 'node-a', domain: null,
    });
    await tracker.observe('wireguard', [peer({ observedAtUs: T0 + 301 * S })]);
    expect(types()).toEqual(['DEVICE_ONLINE:laptop', 'DEVICE_OFFLINE:laptop']);
    await tracker.observe('wireguard', [peer({ lastHandshakeUs: T0 + 400 * S, observedAtUs: T0 + 401 * S, rxBytes: 300 })]);
    expect(types()).toEqual(['DEVICE_ONLINE:laptop', 'DEVICE_OFFLINE:laptop', 'DEVICE_ONLINE:laptop']);
  });

  it('uses the threshold of the peer\'s interface', async () => {
    const { tracker, types } = setup();
    await tracker.observe('wireguard', [peer({ interface: 'wg-fast', observedAtUs: T0 + 11 * S }), peer({ deviceId: KEY.phone, name: 'phone', observedAtUs: T0 + 11 * S })]);
    expect(types()).toEqual(['DEVICE_OFFLINE:laptop', 'DEVICE_ONLINE:phone']);
  });

  it('keepalive: received bytes still for two intervals -> offline, moving again -> online', async () => {
    const { tracker, types } = setup();
    const at = (s: number, rx: number) => [peer({ persistentKeepaliveSec: 5, observedAtUs: T0 + s * S, rxBytes: rx })];
    await tracker.observe('wireguard', at(1, 100));
    await tracker.observe('wireguard', at(6, 200));
    await tracker.observe('wireguard', at(16, 200));
    expect(types()).toEqual(['DEVICE_ONLINE:laptop']);
    await tracker.observe('wireguard', at(17, 200));
    expect(types()).toEqual(['DEVICE_ONLINE:laptop', 'DEVICE_OFFLINE:laptop']);
    await tracker.observe('wireguard', at(18, 260));
    expect(types()).toEqual(['DEVICE_ONLINE:laptop', 'DEVICE_OFFLINE:laptop', 'DEVICE_ONLINE:laptop']);
  });

  it('a peer removed from the interface goes offline at the next poll; a rename republishes', async () => {
    const { tracker, types, publisher } = setup();
    await tracker.observe('wireguard', [peer(), peer({ deviceId: KEY.phone, name: 'phone', addresses: ['10.8.0.3'] })]);
    await tracker.observe('wireguard', [peer({ name: 'alice' })]);
    expect(types()).toEqual(['DEVICE_ONLINE:laptop', 'DEVICE_ONLINE:phone', 'DEVICE_ONLINE:alice', 'DEVICE_OFFLINE:phone']);
    expect(publisher.events.at(-1)?.device_id).toBe(KEY.phone);
    expect(tracker.peersOf('wireguard').size).toBe(1);
  });

  it('publishes the custom domain; a domain change republishes an online peer, not an offline one; a removed peer leaves with its domain', async () => {
    const { tracker, publisher } = setup();
    const seen = () => publisher.events.map((e) => `${e.type}:${e.name}.${e.domain ?? '(suffix)'}`);
    await tracker.observe('wireguard', [peer({ domain: 'home.example' })]);
    await tracker.observe('wireguard', [peer({ domain: 'home.example', observedAtUs: T0 + 2 * S })]);
    await tracker.observe('wireguard', [peer({ domain: null, observedAtUs: T0 + 3 * S })]);
    expect(seen()).toEqual(['DEVICE_ONLINE:laptop.home.example', 'DEVICE_ONLINE:laptop.(suffix)']);
    await tracker.observe('wireguard', [peer({ domain: null, observedAtUs: T0 + 301 * S })]);
    await tracker.observe('wireguard', [peer({ domain: 'lab.example', observedAtUs: T0 + 302 * S })]);
    expect(seen().slice(2)).toEqual(['DEVICE_OFFLINE:laptop.(suffix)']);
    await tracker.observe('wireguard', [peer({ domain: 'lab.example', lastHandshakeUs: T0 + 400 * S, observedAtUs: T0 + 401 * S })]);
    await tracker.observe('wireguard', []);
    expect(seen().slice(3)).toEqual(['DEVICE_ONLINE:laptop.lab.example', 'DEVICE_OFFLINE:laptop.lab.example']);
  });

  it('after a restart a peer whose custom domain changed while it was down is published online again, the others are not', async () => {
    const store = createMemoryKeyValueStore({ maxEntries: 100 });
    const phone = (overrides: Partial<PeerObservation> = {}) => peer({ deviceId: KEY.phone, name: 'phone', addresses: ['10.8.0.3'], domain: 'home.example', ...overrides });
    await setup(store).tracker.observe('wireguard', [peer(), phone()]);
    const restarted = setup(store);
    await restarted.tracker.observe('wireguard', [peer({ observedAtUs: T0 + 3 * S }), phone({ observedAtUs: T0 + 3 * S })]);
    expect(restarted.publisher.events).toEqual([]);
    const again = setup(store);
    await again.tracker.observe('wireguard', [peer({ observedAtUs: T0 + 6 * S }), phone({ observedAtUs: T0 + 6 * S, domain: 'lab.example' })]);
    expect(again.publisher.events.map((e) => [e.type, e.name, e.domain])).toEqual([['DEVICE_ONLINE', 'phone', 'lab.example']]);
  });

  it('first poll after a start publishes offline peers once, so no resolver keeps a stale name; later new offline peers are quiet', async () => {
    const { tracker, types } = setup();
    await tracker.observe('wireguard', [peer({ lastHandshakeUs: null })]);
    await tracker.observe('wireguard', [peer({ lastHandshakeUs: null }), peer({ deviceId: KEY.phone, name: 'phone', lastHandshakeUs: null })]);
    expect(types()).toEqual(['DEVICE_OFFLINE:laptop']);
  });

  it('a peer without a name is never online and is published offline under no name (""), whatever its handshake', async () => {
    const { tracker, publisher } = setup();
    await tracker.observe('wireguard', [peer({ name: null })]);
    expect(publisher.events.map((e) => [e.type, e.name])).toEqual([['DEVICE_OFFLINE', '']]);
  });

  it('follows the source\'s own verdict when it has one (Tailscale: connected to the control plane)', async () => {
    const { tracker, types } = setup();
    await tracker.observe('tailscale', [peer({ source: 'TAILSCALE', interface: null, lastHandshakeUs: null, reportedOnline: true })]);
    await tracker.observe('tailscale', [peer({ source: 'TAILSCALE', interface: null, lastHandshakeUs: T0, reportedOnline: false })]);
    expect(types()).toEqual(['DEVICE_ONLINE:laptop', 'DEVICE_OFFLINE:laptop']);
  });

  it('a failed publish commits nothing: the next poll publishes the transition again', async () => {
    const { tracker, publisher, types } = setup();
    publisher.failNext = true;
    await expect(tracker.observe('wireguard', [peer()])).rejects.toThrow('bus down');
    expect(tracker.peersOf('wireguard').size).toBe(0);
    await tracker.observe('wireguard', [peer()]);
    expect(types()).toEqual(['DEVICE_ONLINE:laptop']);
  });

  it('keeps the online set in the store with the expiry, and a restarted tracker starts from it', async () => {
    const store = createMemoryKeyValueStore({ maxEntries: 100 });
    const first = setup(store);
    await first.tracker.observe('wireguard', [peer(), peer({ deviceId: KEY.phone, name: 'phone', addresses: ['10.8.0.3'] })]);
    const snapshot = await readPresenceSnapshot(store, 'node-a', 'wireguard');
    expect(snapshot?.online.map((d) => d.name).sort()).toEqual(['laptop', 'phone']);
    expect(presenceSnapshotKey('node-a', 'wireguard')).toBe('presence:v1:node-a:wireguard');

    const restarted = setup(store);
    // laptop is still online (nothing to say), phone left while we were down.
    await restarted.tracker.observe('wireguard', [peer({ observedAtUs: T0 + 3 * S })]);
    expect(restarted.types()).toEqual(['DEVICE_OFFLINE:phone']);
  });

  it('a store that fails does not stop presence: events still go out, the failure is counted', async () => {
    const broken: KeyValueStore = {
      kind: 'redis',
      get: async () => Promise.reject(new Error('ECONNREFUSED')),
      getMany: async () => Promise.reject(new Error('ECONNREFUSED')),
      set: async () => Promise.reject(new Error('ECONNREFUSED')),
      delete: async () => Promise.reject(new Error('ECONNREFUSED')),
      isHealthy: () => false,
      close: async () => undefined,
    };
    const { tracker, types, registry } = setup(broken);
    await tracker.observe('wireguard', [peer()]);
    expect(types()).toEqual(['DEVICE_ONLINE:laptop']);
    expect(await registry.getSingleMetricAsString('ghostdns_presence_snapshot_failures_total')).toMatch(/ 1$/m);
  });

  it('metrics: peers per interface and state, handshake ages, transitions', async () => {
    const { tracker, registry } = setup();
    await tracker.observe('wireguard', [
      peer({ observedAtUs: T0 + 20 * S }),
      peer({ deviceId: KEY.phone, name: 'phone', lastHandshakeUs: null }),
      peer({ deviceId: KEY.office, name: 'office', interface: 'wg1' }),
    ]);
    await tracker.observe('wireguard', [peer({ observedAtUs: T0 + 21 * S })]);
    const text = await registry.metrics();
    expect(text).toContain('ghostdns_presence_peers{source="wireguard",interface="wg0",state="online"} 1');
    expect(text).toContain('ghostdns_presence_peers{source="wireguard",interface="wg0",state="offline"} 0');
    expect(text).toContain('ghostdns_presence_peers{source="wireguard",interface="wg1",state="online"} 0');
    expect(text).toContain('ghostdns_presence_handshake_age_seconds_bucket{le="30",source="wireguard",interface="wg0"} 2');
    expect(text).toContain('ghostdns_presence_transitions_total{source="wireguard",type="DEVICE_ONLINE"} 2');
    expect(text).toContain('ghostdns_presence_transitions_total{source="wireguard",type="DEVICE_OFFLINE"} 2');
  });
});

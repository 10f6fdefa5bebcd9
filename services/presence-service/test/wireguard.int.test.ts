import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventPublisher } from '@ghostdns/bus';
import type { PresenceEvent, TopicName, TopicPayloads } from '@ghostdns/contracts';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { createMemoryKeyValueStore, createRedisKeyValueStore } from '@ghostdns/runtime';
import type { KeyValueStore } from '@ghostdns/runtime';
import { requireComponent, waitFor } from '@ghostdns/testkit';
import { presenceInstruments } from '../src/metrics.js';
import { PresencePoller } from '../src/poller.js';
import { PresenceTracker, readPresenceSnapshot } from '../src/tracker.js';
import { wgQuickConfigDir, wgShowAllDump } from '../src/wireguard/command.js';
import { WireGuardSource } from '../src/wireguard/source.js';
import { startWireGuardLab, type WireGuardLab, type WireGuardLabOptions } from './support/wireguard-lab.js';

// Real wireguard-go interfaces handshaking in a namespace of their own, read by
// the real `wg show all dump`: the source, the tracker and the poll loop as they run.

class RecordingPublisher implements EventPublisher {
  readonly events: PresenceEvent[] = [];
  async publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void> {
    if (topic === 'presence.events.v1') this.events.push(...(values as readonly PresenceEvent[]));
  }
}

const logger = createLogger({ level: 'warn', name: 'presence-int' });
let lab: WireGuardLab | null = null;
let poller: PresencePoller | null = null;
let store: KeyValueStore | null = null;

afterEach(async () => {
  await poller?.stop();
  await lab?.close();
  await store?.close();
  poller = null;
  lab = null;
  store = null;
});

async function watch(options: WireGuardLabOptions & { thresholdSec: number; store: KeyValueStore }) {
  lab = await startWireGuardLab(options);
  const publisher = new RecordingPublisher();
  const tracker = new PresenceTracker({
    publisher,
    store: options.store,
    nodeId: `int-${lab.server}`,
    thresholdMs: () => options.thresholdSec * 1000,
    snapshotTtlMs: options.thresholdSec * 1000,
    instruments: presenceInstruments(createMetricsRegistry({ processMetrics: false })),
    logger,
  });
  const source = new WireGuardSource({ dump: wgShowAllDump(), configs: wgQuickConfigDir(lab.configDir), interfaces: [lab.server] });
  poller = new PresencePoller([source], tracker, 200, logger);
  const key = lab.clientPublicKey;
  const transitions = (): string[] => publisher.events.filter((e) => e.device_id === key).map((e) => e.type);
  const waitForTransitions = (expected: string[], description: string) =>
    waitFor(() => transitions().join() === expected.join(), { timeoutMs: 30_000, intervalMs: 100, description });
  return { lab, publisher, tracker, transitions, waitForTransitions, nodeId: `int-${lab.server}` };
}

describe('WireGuard presence against real interfaces', () => {
  it('a handshaking peer comes online under its wg-quick name; once it stops, it goes offline when the threshold passes', async () => {
    store = createRedisKeyValueStore({ url: requireComponent('redis'), logger });
    const { lab: wg, publisher, nodeId } = await watch({ serverKeepaliveSec: null, clientKeepaliveSec: 1, thresholdSec: 3, store });
    wg.nameClient('Road Warrior');
    await wg.startClient();
    poller?.start();
    // The first poll may come before the handshake: the peer is then published offline once (restart reconciliation).
    await waitFor(() => publisher.events.some((e) => e.type === 'DEVICE_ONLINE'), { timeoutMs: 30_000, intervalMs: 100, description: 'DEVICE_ONLINE' });
    const online = publisher.events.find((e) => e.type === 'DEVICE_ONLINE');
    expect(online).toMatchObject({ source: 'WIREGUARD', device_id: wg.clientPublicKey, name: 'road-warrior', interface: wg.server, addresses: ['10.203.0.2', 'fd03::2'] });
    expect(online?.last_handshake_us).toBeGreaterThan(0);
    expect((await readPresenceSnapshot(store, nodeId, 'wireguard'))?.online.map((d) => d.name)).toEqual(['road-warrior']);

    await wg.stopClient();
    await waitFor(() => publisher.events.at(-1)?.type === 'DEVICE_OFFLINE', { timeoutMs: 30_000, intervalMs: 100, description: 'DEVICE_OFFLINE after the threshold' });
    expect(publisher.events.at(-1)?.device_id).toBe(wg.clientPublicKey);
    await waitFor(async () => (await readPresenceSnapshot(store as KeyValueStore, nodeId, 'wireguard'))?.online.length === 0, {
      timeoutMs: 5_000, intervalMs: 100, description: 'the snapshot to be empty',
    });
  });

  it('keepalive rule: a peer whose bytes stop goes offline long before the threshold, comes back on its next handshake, and goes when removed', async () => {
    const { lab: wg, transitions, waitForTransitions } = await watch({
      serverKeepaliveSec: 2, clientKeepaliveSec: 1, thresholdSec: 300, store: (store = createMemoryKeyValueStore({ maxEntries: 100 })),
    });
    await wg.startClient();
    poller?.start();
    await waitFor(() => transitions().includes('DEVICE_ONLINE'), { timeoutMs: 30_000, intervalMs: 100, description: 'DEVICE_ONLINE' });
    const before = transitions();
    await wg.stopClient();
    // With a 300 s threshold, only the keepalive rule can take it offline within the deadline.
    await waitForTransitions([...before, 'DEVICE_OFFLINE'], 'DEVICE_OFFLINE by the keepalive rule');
    await wg.startClient();
    await waitForTransitions([...before, 'DEVICE_OFFLINE', 'DEVICE_ONLINE'], 'DEVICE_ONLINE after a new handshake');
    await promisify(execFile)('wg', ['set', wg.server, 'peer', wg.clientPublicKey, 'remove']);
    await waitForTransitions([...before, 'DEVICE_OFFLINE', 'DEVICE_ONLINE', 'DEVICE_OFFLINE'], 'DEVICE_OFFLINE once the peer is removed');
  });
});

import { randomUUID } from 'node:crypto';
import type { EventPublisher } from '@ghostdns/bus';
import { decodePresenceSnapshot, encodePresenceSnapshot, presenceSnapshotKey, Topics } from '@ghostdns/contracts';
import type { PresenceEvent, PresenceEventType, PresenceSnapshot, SnapshotDevice } from '@ghostdns/contracts';
import type { KeyValueStore } from '@ghostdns/runtime';
import { PresenceError } from './errors.js';
import type { PresenceInstruments } from './metrics.js';
import { labelKey } from './names.js';
import type { ObservationSink, PeerObservation } from './presence-source.js';

export interface PresenceRuleInput {
  readonly lastHandshakeUs: number | null;
  /** When the peer's received-bytes counter last changed (first sight counts as a change). */
  readonly rxChangedAtUs: number;
  readonly persistentKeepaliveSec: number | null;
  readonly nowUs: number;
  readonly thresholdMs: number;
}

/**
 * Online means: a handshake no older than the threshold (the seed's rule; a live
 * peer re-handshakes every 2 minutes, wg REKEY_AFTER_TIME), and, when the peer
 * has a persistent keepalive, received bytes that changed within the last two
 * keepalive intervals (a departed laptop goes in under a minute, not five).
 */
export function isPeerOnline(input: PresenceRuleInput): boolean {
  if (input.lastHandshakeUs === null) return false;
  if (input.nowUs - input.lastHandshakeUs > input.thresholdMs * 1000) return false;
  const keepalive = input.persistentKeepaliveSec;
  if (keepalive !== null && keepalive > 0 && input.nowUs - input.rxChangedAtUs > 2 * keepalive * 1_000_000) return false;
  return true;
}

/** Reads a snapshot; null when absent or expired. Rejects with GHOSTDNS_PRESENCE_SNAPSHOT_FAILED. */
export async function readPresenceSnapshot(store: KeyValueStore, nodeId: string, sourceId: string): Promise<PresenceSnapshot | null> {
  try {
    const raw = await store.get(presenceSnapshotKey(nodeId, sourceId));
    // A malformed snapshot counts as none: the tracker starts from scratch, resolvers withdraw.
    return raw === null ? null : decodePresenceSnapshot(raw);
  } catch (err) {
    throw new PresenceError('GHOSTDNS_PRESENCE_SNAPSHOT_FAILED', `cannot read the presence snapshot of ${sourceId}`, { cause: err });
  }
}

/** A peer as the tracker last decided it. */
export interface TrackedPeer {
  readonly observation: PeerObservation;
  readonly online: boolean;
  readonly rxChangedAtUs: number;
}

/** What one poll changes: the next state and the events that publish it. */
export interface PresencePlan {
  readonly next: ReadonlyMap<string, TrackedPeer>;
  readonly events: readonly PresenceEvent[];
  /** Peers gone from the source since the previous poll (their names go with them). */
  readonly removed: readonly TrackedPeer[];
}

export interface TrackerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PresenceTrackerOptions {
  readonly publisher: EventPublisher;
  readonly store: KeyValueStore;
  readonly nodeId: string;
  /** Handshake threshold of a peer on this interface (null for sources without interfaces). */
  readonly thresholdMs: (interfaceName: string | null) => number;
  /** Lifetime of the stored snapshot: if presence-service dies, it is gone after this (names fail closed). */
  readonly snapshotTtlMs: number;
  readonly instruments: PresenceInstruments;
  readonly logger: TrackerLogger;
  readonly newEventId?: () => string;
}

function sameIdentity(a: PeerObservation, b: PeerObservation): boolean {
  return a.name === b.name && a.domain === b.domain && a.addresses.length === b.addresses.length && a.addresses.every((address, i) => b.addresses[i] === address);
}

/**
 * The presence state machine (the ObservationSink of the poll loop). Per source
 * it keeps each peer's last decision, publishes DEVICE_ONLINE / DEVICE_OFFLINE
 * only on transitions (and DEVICE_ONLINE again when an online peer's name,
 * custom domain or addresses change), and writes the online set to the key-value store with an
 * expiry. State is committed only after the bus took the events, so a failed
 * publish is retried by the next poll.
 *
 * After a restart the first poll of a source starts from the stored snapshot:
 * a peer that was online and is now gone or offline is published offline; every
 * other offline peer is published offline once, which corrects any resolver
 * still holding an online name from before the restart.
 */
export class PresenceTracker implements ObservationSink {
  private readonly bySource = new Map<string, ReadonlyMap<string, TrackedPeer>>();
  private readonly gaugeSeries = new Map<string, Set<string>>();
  private readonly newEventId: () => string;

  constructor(private readonly options: PresenceTrackerOptions) {
    this.newEventId = options.newEventId ?? randomUUID;
  }

  /** The current decisions of a source (empty before its first poll). */
  peersOf(sourceId: string): ReadonlyMap<string, TrackedPeer> {
    return this.bySource.get(sourceId) ?? new Map();
  }

  async observe(sourceId: string, peers: readonly PeerObservation[]): Promise<void> {
    await this.apply(sourceId, peers);
  }

  /** observe(), resolving with what it decided and published (`ghostdns haddns update`). */
  async apply(sourceId: string, peers: readonly PeerObservation[]): Promise<PresencePlan> {
    const plan = await this.plan(sourceId, peers);
    if (plan.events.length > 0) await this.options.publisher.publish(Topics.presence, plan.events);
    this.bySource.set(sourceId, plan.next);
    for (const event of plan.events) {
      this.options.instruments.transitions.inc({ source: sourceId, type: event.type });
      this.options.logger.info({ source: sourceId, device: event.device_id, name: event.name, domain: event.domain, interface: event.interface }, `presence: ${event.type}`);
    }
    this.recordPeers(sourceId, plan.next);
    await this.writeSnapshot(sourceId, plan.next);
    return plan;
  }

  /** Decides one poll without publishing or committing anything (also `ghostdns haddns update --dry-run`). */
  async plan(sourceId: string, peers: readonly PeerObservation[]): Promise<PresencePlan> {
    const known = this.bySource.get(sourceId);
    const firstPoll = known === undefined;
    const previous = known ?? (await this.restore(sourceId, peers[0]?.observedAtUs ?? Date.now() * 1000));
    const next = new Map<string, TrackedPeer>();
    const events: PresenceEvent[] = [];
    for (const peer of peers) {
      const key = labelKey(peer.interface, peer.deviceId);
      const before = previous.get(key);
      const rxChangedAtUs =
        before !== undefined && before.observation.rxBytes !== null && before.observation.rxBytes === peer.rxBytes
          ? before.rxChangedAtUs
          : peer.observedAtUs;
      const online =
        peer.name !== null &&
        (peer.reportedOnline ??
          isPeerOnline({
            lastHandshakeUs: peer.lastHandshakeUs,
            rxChangedAtUs,
            persistentKeepaliveSec: peer.persistentKeepaliveSec,
            nowUs: peer.observedAtUs,
            thresholdMs: this.options.thresholdMs(peer.interface),
          }));
      next.set(key, { observation: peer, online, rxChangedAtUs });
      const transition =
        before === undefined ? online || firstPoll : before.online !== online || (online && !sameIdentity(before.observation, peer));
      if (transition) events.push(this.event(online ? 'DEVICE_ONLINE' : 'DEVICE_OFFLINE', peer, peer.observedAtUs));
    }
    const removed: TrackedPeer[] = [];
    const nowUs = peers[0]?.observedAtUs ?? Date.now() * 1000;
    for (const [key, before] of previous) {
      if (next.has(key)) continue;
      removed.push(before);
      if (before.online) events.push(this.event('DEVICE_OFFLINE', before.observation, nowUs));
    }
    return { next, events, removed };
  }

  private event(type: PresenceEventType, peer: PeerObservation, observedAtUs: number): PresenceEvent {
    return {
      event_id: this.newEventId(),
      type,
      source: peer.source,
      device_id: peer.deviceId,
      // A peer without a name (unnamed, or its mapping disabled) is published under none: consumers skip "".
      name: peer.name ?? '',
      interface: peer.interface,
      addresses: [...peer.addresses],
      last_handshake_us: peer.lastHandshakeUs,
      observed_at_us: observedAtUs,
      node_id: this.options.nodeId,
      domain: peer.domain,
    };
  }

  /** The online peers of the stored snapshot, as the previous state of a source's first poll. */
  private async restore(sourceId: string, nowUs: number): Promise<Map<string, TrackedPeer>> {
    const restored = new Map<string, TrackedPeer>();
    let snapshot: PresenceSnapshot | null;
    try {
      snapshot = await readPresenceSnapshot(this.options.store, this.options.nodeId, sourceId);
    } catch (err) {
      this.options.logger.warn({ source: sourceId, err }, 'presence: no snapshot to start from; offline peers are published offline');
      return restored;
    }
    for (const device of snapshot?.online ?? []) {
      const observation: PeerObservation = {
        source: device.source,
        deviceId: device.deviceId,
        name: device.name,
        domain: device.domain,
        interface: device.interface,
        addresses: device.addresses,
        lastHandshakeUs: device.lastHandshakeUs,
        observedAtUs: nowUs,
        rxBytes: null,
        persistentKeepaliveSec: null,
      };
      restored.set(labelKey(device.interface, device.deviceId), { observation, online: true, rxChangedAtUs: nowUs });
    }
    return restored;
  }

  private recordPeers(sourceId: string, peers: ReadonlyMap<string, TrackedPeer>): void {
    const { peers: gauge, handshakeAge } = this.options.instruments;
    const counts = new Map<string, { online: number; offline: number }>();
    for (const { observation, online } of peers.values()) {
      const iface = observation.interface ?? '';
      const count = counts.get(iface) ?? { online: 0, offline: 0 };
      if (online) count.online++;
      else count.offline++;
      counts.set(iface, count);
      if (observation.lastHandshakeUs !== null) {
        handshakeAge.observe({ source: sourceId, interface: iface }, Math.max(0, (observation.observedAtUs - observation.lastHandshakeUs) / 1e6));
      }
    }
    // Interfaces that vanished drop to zero rather than keep their last count.
    for (const iface of this.gaugeSeries.get(sourceId) ?? []) {
      if (!counts.has(iface)) counts.set(iface, { online: 0, offline: 0 });
    }
    for (const [iface, count] of counts) {
      gauge.set({ source: sourceId, interface: iface, state: 'online' }, count.online);
      gauge.set({ source: sourceId, interface: iface, state: 'offline' }, count.offline);
    }
    this.gaugeSeries.set(sourceId, new Set(counts.keys()));
  }

  private async writeSnapshot(sourceId: string, peers: ReadonlyMap<string, TrackedPeer>): Promise<void> {
    const online: SnapshotDevice[] = [];
    for (const { observation, online: isOnline } of peers.values()) {
      if (!isOnline || observation.name === null) continue;
      online.push({
        source: observation.source,
        deviceId: observation.deviceId,
        name: observation.name,
        interface: observation.interface,
        addresses: observation.addresses,
        lastHandshakeUs: observation.lastHandshakeUs,
        domain: observation.domain,
      });
    }
    const snapshot: PresenceSnapshot = { version: 1, nodeId: this.options.nodeId, sourceId, writtenAtUs: Date.now() * 1000, online };
    try {
      await this.options.store.set(presenceSnapshotKey(this.options.nodeId, sourceId), encodePresenceSnapshot(snapshot), this.options.snapshotTtlMs);
    } catch (err) {
      // The events are out; only the restart shortcut and outside readers miss this round.
      this.options.instruments.snapshotFailures.inc();
      this.options.logger.warn({ source: sourceId, err }, 'presence: snapshot not written');
    }
  }
}

// The presence snapshot: the set of devices a presence-service node last saw
// online through one source, kept in the runtime's key-value store (Redis when
// distributed) with an expiry tied to the handshake threshold. presence-service
// writes it after every poll; resolver-edge reads it to withdraw names whose
// node stopped vouching for them (a dead presence-service fails closed).
import type { PresenceSource } from './events.js';

const SOURCES: readonly PresenceSource[] = ['WIREGUARD', 'TAILSCALE'];

/** One device in the snapshot: an online device as last published. */
export interface SnapshotDevice {
  readonly source: PresenceSource;
  readonly deviceId: string;
  readonly name: string;
  readonly interface: string | null;
  readonly addresses: readonly string[];
  readonly lastHandshakeUs: number | null;
  /** Custom domain (PresenceEvent.domain); null = the suffix. Absent in snapshots written before it existed: read as null. */
  readonly domain: string | null;
}

export interface PresenceSnapshot {
  readonly version: 1;
  readonly nodeId: string;
  /** presenceSourceId() of the source. */
  readonly sourceId: string;
  /** Epoch microseconds on the writing node's clock (the clock of its PresenceEvent.observed_at_us). */
  readonly writtenAtUs: number;
  readonly online: readonly SnapshotDevice[];
}

/** The id a source polls, logs and keys its snapshot under: "wireguard", "tailscale". */
export function presenceSourceId(source: PresenceSource): string {
  return source.toLowerCase();
}

/**
 * Store key of one node's snapshot of one source (one presence-service per
 * host: keyed by node); the store adds its prefix (ghostdns:). A consumer of
 * PresenceEvents finds it with presenceSnapshotKey(event.node_id, presenceSourceId(event.source)).
 */
export function presenceSnapshotKey(nodeId: string, sourceId: string): string {
  return `presence:v1:${nodeId}:${sourceId}`;
}

export function encodePresenceSnapshot(snapshot: PresenceSnapshot): Buffer {
  return Buffer.from(JSON.stringify(snapshot), 'utf8');
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function readDevice(value: unknown): SnapshotDevice | null {
  if (!isRecord(value)) return null;
  const { source, deviceId, name, addresses, lastHandshakeUs } = value;
  const iface = value['interface'];
  if (!SOURCES.includes(source as PresenceSource) || !isString(deviceId) || !isString(name)) return null;
  if (iface !== null && !isString(iface)) return null;
  if (!Array.isArray(addresses) || !addresses.every(isString)) return null;
  if (lastHandshakeUs !== null && typeof lastHandshakeUs !== 'number') return null;
  const domain = value['domain'] ?? null;
  if (domain !== null && !isString(domain)) return null;
  return { source: source as PresenceSource, deviceId, name, interface: iface, addresses, lastHandshakeUs, domain };
}

/** The snapshot in `raw`, or null when it is not a well-formed version 1 snapshot (a store is not trusted blindly). */
export function decodePresenceSnapshot(raw: Buffer): PresenceSnapshot | null {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(value) || value['version'] !== 1) return null;
  const { nodeId, sourceId, writtenAtUs, online } = value;
  if (!isString(nodeId) || !isString(sourceId) || typeof writtenAtUs !== 'number' || !Array.isArray(online)) return null;
  const devices: SnapshotDevice[] = [];
  for (const entry of online) {
    const device = readDevice(entry);
    if (device === null) return null;
    devices.push(device);
  }
  return { version: 1, nodeId, sourceId, writtenAtUs, online: devices };
}

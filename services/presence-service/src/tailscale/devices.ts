// Tailscale devices as the two readers report them, mapped onto one shape:
//   API v2 `GET /api/v2/tailnet/{tailnet}/devices` -> { devices: [{ id, nodeId, name (the MagicDNS
//     FQDN), hostname, addresses, os, lastSeen, connectedToControl, tags, ... }] }, every device in one
//     response (no pagination);
//   `tailscale status --json` -> { Self: Peer, Peer: { <node key>: Peer }, MagicDNSSuffix } with Peer =
//     { ID, HostName, DNSName (FQDN with a trailing dot), TailscaleIPs, OS, Online, LastSeen, Tags,
//     CapMap / Capabilities }.
// Fields are checked, never trusted: a device without an id is skipped and reported.

import { isIP } from 'node:net';
import type { TailscaleDeviceView } from '@ghostdns/contracts';

/** The Tailscale node attribute that lets a node expose services through Funnel. */
export const FUNNEL_CAPABILITY = 'https://tailscale.com/cap/funnel';

export interface TailscaleDevice {
  /** The stable node id (API nodeId, status ID): the PresenceEvent device_id. */
  readonly nodeId: string;
  readonly hostName: string;
  /** MagicDNS name without the trailing dot (laptop.tail1234.ts.net); null when the data has none. */
  readonly fqdn: string | null;
  /** Tailscale IPv4 and IPv6 addresses. */
  readonly addresses: readonly string[];
  readonly os: string | null;
  /** Epoch microseconds the control plane last saw the device; null when never or not shown. */
  readonly lastSeenUs: number | null;
  /** Connected to the control plane right now; null when the data does not say. */
  readonly online: boolean | null;
  readonly tags: readonly string[];
  /** Whether the node may expose services through Funnel (its node attribute); null when the data does not show it. */
  readonly funnel: boolean | null;
}

export interface ParsedDevices {
  readonly devices: readonly TailscaleDevice[];
  /** How many entries were skipped as malformed. */
  readonly skipped: number;
}

/** The device as records-api serves it (GhostScale's field names; see contracts' TailscaleDeviceView). */
export function tailscaleDeviceView(device: TailscaleDevice): TailscaleDeviceView {
  const ipv4 = device.addresses.find((a) => isIP(a) === 4) ?? null;
  const ipv6 = device.addresses.find((a) => isIP(a) === 6) ?? null;
  return {
    node_id: device.nodeId,
    name: device.hostName,
    fqdn: device.fqdn,
    tailscale_ip: ipv4 ?? device.addresses[0] ?? null,
    ipv4,
    ipv6,
    online: device.online,
    os: device.os,
    last_seen: device.lastSeenUs === null ? null : new Date(device.lastSeenUs / 1000).toISOString(),
    tags: [...device.tags],
    funnel: device.funnel,
  };
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const flag = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);

/** RFC 3339 to epoch microseconds; Go's zero time (0001-01-01) and garbage are null. */
function timeUs(value: unknown): number | null {
  const raw = text(value);
  if (raw === null) return null;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) && ms > 0 ? ms * 1000 : null;
}

const withoutDot = (name: string | null): string | null => (name === null ? null : name.replace(/\.$/, '') || null);

/** The body of GET /api/v2/tailnet/{tailnet}/devices; throws when it is not `{ devices: [...] }`. */
export function parseApiDevices(body: unknown): ParsedDevices {
  if (!isObject(body) || !Array.isArray(body['devices'])) throw new Error('the response has no "devices" array');
  const devices: TailscaleDevice[] = [];
  let skipped = 0;
  for (const entry of body['devices']) {
    const nodeId = isObject(entry) ? text(entry['nodeId']) : null;
    if (!isObject(entry) || nodeId === null) {
      skipped++;
      continue;
    }
    const fqdn = withoutDot(text(entry['name']));
    devices.push({
      nodeId,
      hostName: text(entry['hostname']) ?? fqdn?.split('.')[0] ?? nodeId,
      fqdn,
      addresses: strings(entry['addresses']),
      os: text(entry['os']),
      lastSeenUs: timeUs(entry['lastSeen']),
      online: flag(entry['connectedToControl']),
      tags: strings(entry['tags']),
      funnel: null,
    });
  }
  return { devices, skipped };
}

function statusPeer(peer: unknown): TailscaleDevice | null {
  if (!isObject(peer)) return null;
  const nodeId = text(peer['ID']);
  if (nodeId === null) return null;
  const fqdn = withoutDot(text(peer['DNSName']));
  const capabilities = [...strings(peer['Capabilities']), ...(isObject(peer['CapMap']) ? Object.keys(peer['CapMap']) : [])];
  return {
    nodeId,
    hostName: text(peer['HostName']) ?? fqdn?.split('.')[0] ?? nodeId,
    fqdn,
    addresses: strings(peer['TailscaleIPs']),
    os: text(peer['OS']),
    lastSeenUs: timeUs(peer['LastSeen']),
    online: flag(peer['Online']),
    tags: strings(peer['Tags']),
    // Only this node's own capabilities are in its status: for peers an absent attribute says nothing.
    funnel: capabilities.includes(FUNNEL_CAPABILITY) ? true : null,
  };
}

/** The output of `tailscale status --json`: Self and every Peer; throws when it is not such an object. */
export function parseStatusJson(body: unknown): ParsedDevices {
  if (!isObject(body) || (body['Peer'] !== undefined && body['Peer'] !== null && !isObject(body['Peer']))) {
    throw new Error('not the output of tailscale status --json');
  }
  const devices: TailscaleDevice[] = [];
  let skipped = 0;
  const entries = [body['Self'], ...Object.values(isObject(body['Peer']) ? body['Peer'] : {})].filter((e) => e !== undefined && e !== null);
  for (const entry of entries) {
    const device = statusPeer(entry);
    if (device === null) skipped++;
    else devices.push(device);
  }
  return { devices, skipped };
}

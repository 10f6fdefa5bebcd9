// The tailnet's devices as presence-service last read them (Tailscale API v2 or
// `tailscale status --json`), kept in the runtime's key-value store for
// records-api's GET /api/v1/tailscale/devices. Field names are GhostScale's
// (../shared/seeds/ghostdns-ghostscale-integration.md: name, fqdn,
// tailscale_ip, ipv4, online, os, last_seen); the rest is extra.

export interface TailscaleDeviceView {
  /** Tailscale's stable node id. */
  node_id: string;
  /** Host name as the device reports it. */
  name: string;
  /** MagicDNS name without the trailing dot, or null. */
  fqdn: string | null;
  /** The device's Tailscale IPv4 address (100.64.0.0/10), or its first address when it has no IPv4. */
  tailscale_ip: string | null;
  /** The Tailscale IPv4 address again (GhostScale reads `ipv4`); the public endpoint is not in the data. */
  ipv4: string | null;
  /** The Tailscale IPv6 address (fd7a:115c:a1e0::/48), or null. */
  ipv6: string | null;
  online: boolean | null;
  os: string | null;
  /** RFC 3339, or null when never seen. */
  last_seen: string | null;
  tags: string[];
  /** May expose services through Funnel; null when the data does not show it. */
  funnel: boolean | null;
}

interface StoredDevices {
  version: 1;
  written_at: string;
  devices: TailscaleDeviceView[];
}

/** Store key (the store adds its `ghostdns:` prefix): one tailnet per deployment. */
export const TAILSCALE_DEVICES_KEY = 'presence:v1:tailscale-devices';

export function encodeTailscaleDevices(devices: readonly TailscaleDeviceView[], writtenAt: Date): Buffer {
  const stored: StoredDevices = { version: 1, written_at: writtenAt.toISOString(), devices: [...devices] };
  return Buffer.from(JSON.stringify(stored));
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const textOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';

function isDevice(value: unknown): value is TailscaleDeviceView {
  return (
    isObject(value) &&
    typeof value['node_id'] === 'string' &&
    typeof value['name'] === 'string' &&
    textOrNull(value['fqdn']) &&
    textOrNull(value['tailscale_ip']) &&
    textOrNull(value['ipv4']) &&
    textOrNull(value['ipv6']) &&
    (value['online'] === null || typeof value['online'] === 'boolean') &&
    textOrNull(value['os']) &&
    textOrNull(value['last_seen']) &&
    Array.isArray(value['tags']) &&
    value['tags'].every((t) => typeof t === 'string') &&
    (value['funnel'] === null || typeof value['funnel'] === 'boolean')
  );
}

/** The stored devices, or null when the bytes are not a version-1 device list (a reader must not trust the store). */
export function decodeTailscaleDevices(raw: Buffer): TailscaleDeviceView[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  if (!isObject(parsed) || parsed['version'] !== 1 || !Array.isArray(parsed['devices'])) return null;
  return parsed['devices'].every(isDevice) ? parsed['devices'] : null;
}

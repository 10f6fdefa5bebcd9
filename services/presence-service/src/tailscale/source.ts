import { presenceSourceId } from '@ghostdns/contracts';
import { PresenceError } from '../errors.js';
import type { PeerMappingReader } from '../mappings.js';
import { assignLabels, labelKey, sanitizeLabel } from '../names.js';
import type { PeerObservation, PresenceSource } from '../presence-source.js';
import type { ParsedDevices, TailscaleDevice } from './devices.js';
import { TailscaleRateLimited, type TailscaleDeviceReader } from './readers.js';

export interface TailscaleSourceOptions {
  readonly reader: TailscaleDeviceReader;
  /** Hostname mappings (the database); without them a device is named by its MagicDNS short name. */
  readonly mappings?: PeerMappingReader;
  readonly onSkipped?: (count: number) => void;
  /** Every successful read's devices (records-api serves them as GET /api/v1/tailscale/devices). */
  readonly onDevices?: (devices: readonly TailscaleDevice[]) => void;
  readonly now?: () => number;
}

/** The MagicDNS short name: the first label of the FQDN, else the host name. */
export function magicDnsShortName(device: TailscaleDevice): string {
  return device.fqdn?.split('.')[0] ?? device.hostName;
}

/**
 * Presence source over Tailscale (the API's devices or the local status). A
 * device is published under its MagicDNS short name (`<short>.<suffix>`, so
 * MagicDNS names answer under our suffix too) or its mapping (name, custom domain), at its
 * Tailscale IPs, while the control plane says it is online; where the data does
 * not say, its last-seen time goes through the handshake threshold instead.
 * After a 429 the source does not call again before Retry-After: those polls
 * reject (unknown, the previous state is kept).
 */
export class TailscaleSource implements PresenceSource {
  readonly id = presenceSourceId('TAILSCALE');
  private readonly now: () => number;
  private retryAtMs = 0;

  constructor(private readonly options: TailscaleSourceOptions) {
    this.now = options.now ?? Date.now;
  }

  async poll(): Promise<PeerObservation[]> {
    const waitMs = this.retryAtMs - this.now();
    if (waitMs > 0) {
      throw new PresenceError('GHOSTDNS_PRESENCE_TAILSCALE_RATE_LIMITED', `Tailscale asked to wait: next call in ${Math.ceil(waitMs / 1000)} s`);
    }
    let parsed: ParsedDevices;
    try {
      parsed = await this.options.reader.read();
    } catch (err) {
      if (err instanceof TailscaleRateLimited) this.retryAtMs = this.now() + err.retryAfterMs;
      throw err;
    }
    if (parsed.skipped > 0) this.options.onSkipped?.(parsed.skipped);
    this.options.onDevices?.(parsed.devices);
    const observedAtUs = this.now() * 1000;
    const mappings = (await this.options.mappings?.read(this.id)) ?? new Map<string, never>();
    const candidates = parsed.devices.map((device) => {
      const mapping = mappings.get(device.nodeId);
      const label = mapping?.name ?? sanitizeLabel(magicDnsShortName(device)) ?? `ts-${device.nodeId.toLowerCase().replace(/[^a-z0-9]+/g, '')}`;
      return { device, label, domain: mapping?.customDomain ?? null, enabled: mapping?.enabled ?? true };
    });
    const labels = assignLabels(
      candidates.filter(({ enabled }) => enabled).map(({ device, label, domain }) => ({ deviceId: device.nodeId, interface: null, label, domain })),
    );
    return candidates.map(({ device, domain }) => ({
      source: 'TAILSCALE',
      deviceId: device.nodeId,
      name: labels.get(labelKey(null, device.nodeId)) ?? null,
      domain,
      interface: null,
      addresses: [...device.addresses],
      lastHandshakeUs: device.lastSeenUs,
      observedAtUs,
      rxBytes: null,
      persistentKeepaliveSec: null,
      ...(device.online === null ? {} : { reportedOnline: device.online }),
    }));
  }
}

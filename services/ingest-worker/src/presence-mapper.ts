import { isIP } from 'node:net';
import type { PresenceEvent, PresenceEventType } from '@ghostdns/contracts';
import { checks, EventMapper, hasKey, PRESENCE_SOURCE_IDS, reasonList, UUID_RE, type Checks } from './mapping.js';
import type { PresenceHistoryRow } from './row.js';

/** Why a presence event was refused. Bounded set: used as a metric label. */
export type PresenceRejectReason =
  | 'invalid_event_id'
  | 'invalid_enum'
  | 'invalid_node'
  | 'invalid_device'
  | 'invalid_name'
  | 'invalid_domain'
  | 'invalid_interface'
  | 'invalid_addresses'
  | 'invalid_observed_at'
  | 'invalid_last_handshake';

export const PRESENCE_REJECT_REASONS = reasonList<PresenceRejectReason>({
  invalid_event_id: true,
  invalid_enum: true,
  invalid_node: true,
  invalid_device: true,
  invalid_name: true,
  invalid_domain: true,
  invalid_interface: true,
  invalid_addresses: true,
  invalid_observed_at: true,
  invalid_last_handshake: true,
});

const reject: Checks<PresenceRejectReason>['reject'] = checks.reject;
const text: Checks<PresenceRejectReason>['text'] = checks.text;
const textOrEmpty: Checks<PresenceRejectReason>['textOrEmpty'] = checks.textOrEmpty;
const timestamp: Checks<PresenceRejectReason>['timestamp'] = checks.timestamp;

const TYPES: Record<PresenceEventType, true> = { DEVICE_ONLINE: true, DEVICE_OFFLINE: true };

/**
 * The host part of a tunnel address, with or without a prefix length
 * (`10.0.0.2/32` -> `10.0.0.2`), or null when it is no address inet can hold.
 */
export function hostAddress(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const slash = value.indexOf('/');
  const host = slash === -1 ? value : value.slice(0, slash);
  const family = isIP(host);
  // inet has no zone ids (fe80::1%wg0) and net.isIP would accept them.
  if (family === 0 || host.includes('%')) return null;
  if (slash !== -1) {
    const prefix = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return null;
  }
  return host;
}

/** Told the addresses of an event that were dropped (the event itself is kept). */
export type InvalidAddressListener = (event: PresenceEvent, invalid: readonly unknown[]) => void;

/**
 * PresenceEvent -> presence_history row (see EventMapper: rejections, never
 * throws). Addresses are a device's list of tunnel addresses: one that inet
 * cannot hold is dropped and reported to the listener rather than refusing the
 * transition, which is still true without it.
 */
export class PresenceEventMapper extends EventMapper<PresenceEvent, PresenceHistoryRow, PresenceRejectReason> {
  constructor(private readonly onInvalidAddresses: InvalidAddressListener = () => undefined) {
    super();
  }

  protected toRow(event: PresenceEvent): PresenceHistoryRow {
    if (typeof event !== 'object' || event === null) reject('invalid_event_id', 'event', event);
    if (typeof event.event_id !== 'string' || !UUID_RE.test(event.event_id)) reject('invalid_event_id', 'event_id', event.event_id);
    if (!hasKey(TYPES, event.type)) reject('invalid_enum', 'type', event.type);
    if (!hasKey(PRESENCE_SOURCE_IDS, event.source)) reject('invalid_enum', 'source', event.source);
    const observedAt = timestamp(event.observed_at_us, 'observed_at_us', 'invalid_observed_at');
    const lastHandshake =
      event.last_handshake_us === null || event.last_handshake_us === undefined
        ? null
        : timestamp(event.last_handshake_us, 'last_handshake_us', 'invalid_last_handshake');
    const nodeId = text(event.node_id, 'node_id', 'invalid_node');
    const deviceId = text(event.device_id, 'device_id', 'invalid_device');
    const name = textOrEmpty(event.name, 'name', 'invalid_name');
    const domain = event.domain ?? null;
    if (domain !== null) text(domain, 'domain', 'invalid_domain');
    const iface = event.interface ?? null;
    if (iface !== null) text(iface, 'interface', 'invalid_interface');
    return {
      observed_at: observedAt,
      event_id: event.event_id.toLowerCase(),
      node_id: nodeId,
      source: PRESENCE_SOURCE_IDS[event.source],
      device_id: deviceId,
      name,
      domain,
      interface: iface,
      online: event.type === 'DEVICE_ONLINE',
      // Last: the listener hears only of addresses of an event that is kept.
      addresses: this.addresses(event),
      last_handshake: lastHandshake,
    };
  }

  private addresses(event: PresenceEvent): string[] {
    const values: unknown = event.addresses;
    if (!Array.isArray(values)) return reject('invalid_addresses', 'addresses', values);
    const hosts: string[] = [];
    const invalid: unknown[] = [];
    for (const value of values) {
      const host = hostAddress(value);
      if (host === null) invalid.push(value);
      else hosts.push(host);
    }
    if (invalid.length > 0) this.onInvalidAddresses(event, invalid);
    return hosts;
  }
}

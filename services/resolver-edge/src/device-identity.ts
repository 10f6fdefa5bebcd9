// Identity behind NAT: the VPN device a client address belongs to, as
// presence-service last published it. The local-data stage feeds every
// presence event it applies into one DeviceIdentityIndex per process; query
// events look their client_ip up where they are built (never on the answer
// path), so a lookup is one Map.get returning a shared frozen object.
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import type { DeviceIdentity, PresenceEvent } from '@ghostdns/contracts';
import { isIpv4Mapped, parseIpv6 } from './access/ip.js';

export interface DeviceIdentityLookup {
  /** The device behind `clientIp` exactly as events write client_ip, or null. */
  identityFor(clientIp: string): DeviceIdentity | null;
}

/** For builders given no index (file backfills: today's devices say nothing about past queries). */
export const noDeviceIdentities: DeviceIdentityLookup = { identityFor: () => null };

/** An address and the identity it has now; null: it is no device's any more. */
export type DeviceIdentityEntry = readonly [address: string, identity: DeviceIdentity | null];

/** Told the addresses whose identity an event changed; must not throw. */
export type DeviceIdentityListener = (addresses: readonly string[]) => void;

interface IndexedDevice {
  readonly identity: DeviceIdentity;
  readonly keys: ReadonlySet<string>;
}

/**
 * Address → device, from presence events: the last event per device wins, an
 * address another device now claims moves to it, addresses missing from a
 * device's newer event are dropped. Offline devices keep their identity (a
 * NATed client's queries are still its own while presence-service calls it
 * offline); devices published under no name ("") have one too, named "".
 */
export class DeviceIdentityIndex implements DeviceIdentityLookup {
  private readonly byAddress = new Map<string, DeviceIdentity>();
  private readonly byDevice = new Map<string, IndexedDevice>();
  private readonly listeners = new Set<DeviceIdentityListener>();

  identityFor(clientIp: string): DeviceIdentity | null {
    return this.byAddress.get(clientIp) ?? null;
  }

  entries(): DeviceIdentityEntry[] {
    return [...this.byAddress];
  }

  /** Returns the unsubscriber. */
  onChange(listener: DeviceIdentityListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  apply(event: PresenceEvent): void {
    const previous = this.byDevice.get(event.device_id);
    const identity =
      previous !== undefined && previous.identity.source === event.source && previous.identity.name === event.name
        ? previous.identity
        : Object.freeze<DeviceIdentity>({ source: event.source, device_id: event.device_id, name: event.name });
    const keys = addressKeys(event.addresses);
    const changed: string[] = [];
    if (previous !== undefined) {
      for (const key of previous.keys) {
        // An address another device claimed since is that device's now.
        if (keys.has(key) || this.byAddress.get(key) !== previous.identity) continue;
        this.byAddress.delete(key);
        changed.push(key);
      }
    }
    for (const key of keys) {
      if (this.byAddress.get(key) === identity) continue;
      this.byAddress.set(key, identity);
      changed.push(key);
    }
    this.byDevice.set(event.device_id, { identity, keys });
    if (changed.length === 0) return;
    for (const listener of this.listeners) listener(changed);
  }
}

/** The event thread's copy of the index, kept up to date by the entries the answer thread posts. */
export class DeviceIdentityCopy implements DeviceIdentityLookup {
  private readonly byAddress = new Map<string, DeviceIdentity>();

  update(entries: readonly DeviceIdentityEntry[]): void {
    for (const [address, identity] of entries) {
      if (identity === null) this.byAddress.delete(address);
      else this.byAddress.set(address, Object.freeze(identity));
    }
  }

  identityFor(clientIp: string): DeviceIdentity | null {
    return this.byAddress.get(clientIp) ?? null;
  }
}

const words = new Uint32Array(4);

/**
 * Every string an event's client_ip can hold for the addresses of a presence
 * event (host part of a CIDR), so a lookup never has to normalise: every
 * builder writes client_ip as inet_ntop does (node's sockets, BIND's log, the
 * dnstap tap's addressText), so an IPv4 device is its address, or
 * `::ffff:a.b.c.d` when a dual-stack socket received it.
 */
export function addressKeys(addresses: readonly string[]): Set<string> {
  const keys = new Set<string>();
  for (const raw of addresses) {
    const ip = raw.split('/')[0]?.trim() ?? '';
    if (isIPv4(ip)) {
      addIpv4Keys(keys, ip);
    } else if (isIPv6(ip) && parseIpv6(ip, words)) {
      if (isIpv4Mapped(words)) {
        const v4 = words[3] ?? 0;
        addIpv4Keys(keys, `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`);
        continue;
      }
      keys.add(new SocketAddress({ address: ip, family: 'ipv6' }).address);
    }
  }
  return keys;
}

function addIpv4Keys(keys: Set<string>, ip: string): void {
  keys.add(ip);
  keys.add(`::ffff:${ip}`);
}

// Dynamic records (records-api, topic records.changes.v1) and presence-aware
// names (presence-service, topic presence.events.v1), applied to the store as
// each batch arrives. Handlers never throw: a bad event is logged and skipped,
// since a rejected batch would be redelivered forever.
import { isIPv4, isIPv6 } from 'node:net';
import { decodePresenceSnapshot, presenceSnapshotKey, presenceSourceId } from '@ghostdns/contracts';
import type { PresenceEvent, PresenceSnapshot, RecordChangeEvent } from '@ghostdns/contracts';
import type { KeyValueStore } from '@ghostdns/runtime';
import type { DeviceIdentityIndex } from '../device-identity.js';
import type { EdgeLogger } from '../metrics.js';
import { canonicalName, RrType, typeCode } from './names.js';
import type { LocalDataStore } from './store.js';
import type { ZoneRecord } from './zone-file.js';

/** Presence names live only while the device is online: keep caches short. */
export const PRESENCE_TTL = 5;
const MAX_TTL = 0x7fffffff;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/;

/** One value of a dynamic record in the store's form; throws on a bad value. */
export function dynamicRecord(name: string, type: string, ttl: number, value: string): ZoneRecord {
  const base = { name, ttl: Math.min(Math.max(Math.trunc(ttl), 0), MAX_TTL), class: 'IN' as const };
  const v = value.trim();
  const host = (s: string | undefined): string => {
    const n = canonicalName(s ?? '');
    if (!HOSTNAME.test(n)) throw new Error(`bad host name "${s ?? ''}"`);
    return n;
  };
  const u16 = (s: string | undefined): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new Error(`bad number "${s ?? ''}"`);
    return n;
  };
  switch (type.toUpperCase()) {
    case 'A':
      if (!isIPv4(v)) throw new Error(`bad A address "${v}"`);
      return { ...base, type: 'A', data: v };
    case 'AAAA':
      if (!isIPv6(v)) throw new Error(`bad AAAA address "${v}"`);
      return { ...base, type: 'AAAA', data: v };
    case 'CNAME':
      return { ...base, type: 'CNAME', data: host(v) };
    case 'PTR':
      return { ...base, type: 'PTR', data: host(v) };
    case 'TXT': {
      // RFC 1035 §3.3.14: character-strings of at most 255 bytes each.
      const bytes = Buffer.from(v, 'utf8');
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length || chunks.length === 0; i += 255) chunks.push(bytes.subarray(i, i + 255));
      return { ...base, type: 'TXT', data: chunks };
    }
    case 'MX': {
      const [pref, exchange, extra] = v.split(/\s+/);
      if (extra !== undefined) throw new Error(`bad MX "${v}"`);
      return { ...base, type: 'MX', data: { preference: u16(pref), exchange: host(exchange) } };
    }
    case 'SRV': {
      const [priority, weight, port, target, extra] = v.split(/\s+/);
      if (extra !== undefined) throw new Error(`bad SRV "${v}"`);
      return { ...base, type: 'SRV', data: { priority: u16(priority), weight: u16(weight), port: u16(port), target: host(target) } };
    }
    default:
      throw new Error(`unsupported dynamic record type ${type}`);
  }
}

/** Applies one record change; returns false (and logs) when it was skipped. */
export function applyRecordChange(store: LocalDataStore, event: RecordChangeEvent, logger: EdgeLogger): boolean {
  const name = canonicalName(event.name);
  if (!HOSTNAME.test(name)) {
    logger.warn({ name: event.name, eventId: event.event_id }, 'record change with a bad name skipped');
    return false;
  }
  const type = event.type.toUpperCase();
  if (event.op === 'DELETE') {
    if (type === '' || type === 'ANY') store.deleteDynamicName(name);
    else store.setDynamic(name, typeCode(type), []);
    return true;
  }
  const code = typeCode(type);
  try {
    // RFC 2181 §5.2: one TTL per RRset.
    const records = event.values.map((v) => dynamicRecord(name, type, event.ttl, v));
    if (code === RrType.CNAME && records.length > 1) throw new Error('a CNAME RRset holds one record');
    store.setDynamic(name, code, records);
    return true;
  } catch (err) {
    logger.warn({ name, type, eventId: event.event_id, err: err instanceof Error ? err.message : String(err) }, 'record change skipped');
    return false;
  }
}

/** How often PresenceNames checks the snapshots of the nodes whose names it serves. */
export const PRESENCE_SNAPSHOT_CHECK_MS = 1000;

/** The part of the runtime's key-value store PresenceNames reads snapshots through. */
export type PresenceSnapshotReader = Pick<KeyValueStore, 'get'>;

interface PresenceAddress {
  readonly type: 'A' | 'AAAA';
  readonly ip: string;
}

/** A device some node published online (or offline, with includeOffline). */
interface PresenceDevice {
  /**
   * Online: `<name>.<domain>` and, with an interface, `<name>.<interface>.<domain>`; offline:
   * `<name>.offline.<domain>` — domain being the device's custom domain, else the suffix.
   */
  readonly names: readonly string[];
  /** Offline devices are not presence claims: no snapshot judges them. */
  readonly online: boolean;
  readonly addresses: readonly PresenceAddress[];
  /** The snapshot of the node and source that published it. */
  readonly snapshotKey: string;
  readonly observedAtUs: number;
  /** Sequence number of the event that put it here (a check started before it does not judge it). */
  readonly appliedSeq: number;
  /** False while its node's snapshot does not list it: its names are withdrawn, not forgotten. */
  vouched: boolean;
}

export interface PresenceNamesOptions {
  readonly store: LocalDataStore;
  readonly suffix: string;
  readonly logger: EdgeLogger;
  /**
   * Where presence-service keeps its snapshots, when this process shares them
   * (Redis); null turns the check off and names follow the events alone.
   */
  readonly snapshots: PresenceSnapshotReader | null;
  /** Also answer `<name>.offline.<suffix>` for devices last reported offline (presence.includeOffline). */
  readonly includeOffline?: boolean;
  readonly checkIntervalMs?: number;
  /** Given every event applied, published or not: a device's identity does not depend on its names. */
  readonly identities?: DeviceIdentityIndex;
}

/**
 * Presence state: the last event per device wins (the topic is keyed by
 * device_id, so per-device order holds); a name answers the addresses of all
 * its online devices.
 *
 * Events alone would keep a name forever once presence-service died, so every
 * second the snapshot of each node (and source) with online devices is read
 * (the expiring online set presence-service rewrites each poll): no snapshot
 * (expired, unreadable, malformed) withdraws all its names, a snapshot written
 * after a device's event that does not list it withdraws that device's. Names
 * fail closed. A withdrawn device comes back when its snapshot lists it again
 * (a store outage is not permanent).
 */
export class PresenceNames {
  /** device_id -> the device while published (online; offline too with includeOffline). */
  private readonly devices = new Map<string, PresenceDevice>();
  /** name -> ids of the devices that answer it. */
  private readonly byName = new Map<string, Set<string>>();
  /** Snapshot keys last found missing (logged once per outage). */
  private readonly missing = new Set<string>();
  private readonly suffix: string;
  private readonly logger: EdgeLogger;
  private applied = 0;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(private readonly options: PresenceNamesOptions) {
    this.suffix = options.suffix;
    this.logger = options.logger;
  }

  /** `<name>.<domain>` (default: the suffix) in canonical form, or null when the device name is not a host name. */
  nameFor(deviceName: string, domain = this.suffix): string | null {
    const base = canonicalName(deviceName.trim()).replace(/[^a-z0-9.-]+/g, '-');
    const full = base === domain || base.endsWith(`.${domain}`) ? base : `${base}.${domain}`;
    return HOSTNAME.test(full) && full !== domain ? full : null;
  }

  /** `<name>.<interface>.<domain>` for a global name `<name>.<domain>`, or null when the interface makes no label. */
  instanceNameFor(globalName: string, interfaceName: string, domain = this.suffix): string | null {
    const label = canonicalName(interfaceName).replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
    return label === '' ? null : this.underDomain(globalName, label, domain);
  }

  /** `<name>.<label>.<domain>` for a global name `<name>.<domain>`, or null when that is no host name. */
  private underDomain(globalName: string, label: string, domain: string): string | null {
    const full = `${globalName.slice(0, -domain.length - 1)}.${label}.${domain}`;
    return HOSTNAME.test(full) ? full : null;
  }

  /** The device's custom domain when it is a lower-case host name, else the suffix: a bad domain must not unpublish the device. */
  private domainOf(event: PresenceEvent): string {
    if (event.domain === null) return this.suffix;
    if (HOSTNAME.test(event.domain)) return event.domain;
    this.logger.warn({ device: event.device_id, domain: event.domain }, 'presence custom domain is not a lower-case host name; names go under the suffix');
    return this.suffix;
  }

  apply(event: PresenceEvent): void {
    this.options.identities?.apply(event);
    const previous = this.devices.get(event.device_id);
    if (previous) {
      this.devices.delete(event.device_id);
      for (const name of previous.names) this.byName.get(name)?.delete(event.device_id);
      this.refresh(previous.names);
    }
    const online = event.type === 'DEVICE_ONLINE';
    if (!online && this.options.includeOffline !== true) return;
    const domain = this.domainOf(event);
    const name = this.nameFor(event.name, domain);
    if (name === null) {
      // "" is a device published under no name (presence-service: unnamed or disabled).
      if (online) this.logger.warn({ device: event.device_id, name: event.name }, 'presence name is not a host name; not published');
      return;
    }
    const instance = online && event.interface !== null ? this.instanceNameFor(name, event.interface, domain) : null;
    const offlineName = online ? null : this.underDomain(name, 'offline', domain);
    const names = [...(online ? [name] : []), ...(instance === null ? [] : [instance]), ...(offlineName === null ? [] : [offlineName])];
    const addresses: PresenceAddress[] = [];
    for (const raw of event.addresses) {
      // WireGuard reports allowed IPs as CIDRs (10.8.0.2/32): the address is what resolves.
      const ip = raw.split('/')[0]?.trim() ?? '';
      if (isIPv4(ip)) addresses.push({ type: 'A', ip });
      else if (isIPv6(ip)) addresses.push({ type: 'AAAA', ip });
    }
    this.devices.set(event.device_id, {
      names,
      addresses,
      online,
      snapshotKey: presenceSnapshotKey(event.node_id, presenceSourceId(event.source)),
      observedAtUs: event.observed_at_us,
      appliedSeq: ++this.applied,
      vouched: true,
    });
    for (const n of names) {
      let set = this.byName.get(n);
      if (!set) this.byName.set(n, (set = new Set()));
      set.add(event.device_id);
    }
    this.refresh(names);
  }

  /** Starts the snapshot checks (none without a snapshot reader). */
  start(): void {
    if (this.options.snapshots === null || this.timer !== null) return;
    const interval = this.options.checkIntervalMs ?? PRESENCE_SNAPSHOT_CHECK_MS;
    const tick = (): void => {
      this.checking = this.checkSnapshots().finally(() => {
        this.checking = null;
        if (this.timer !== null) this.timer = setTimeout(tick, interval).unref();
      });
    };
    this.timer = setTimeout(tick, interval).unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.checking;
  }

  /** One check of every snapshot the published devices depend on. Never throws. */
  async checkSnapshots(): Promise<void> {
    const reader = this.options.snapshots;
    if (reader === null || this.devices.size === 0) return;
    const startedAt = this.applied;
    const keys = [...new Set([...this.devices.values()].filter((d) => d.online).map((d) => d.snapshotKey))];
    if (keys.length === 0) return;
    const snapshots = new Map<string, PresenceSnapshot | null>();
    await Promise.all(
      keys.map(async (key) => {
        try {
          const raw = await reader.get(key);
          snapshots.set(key, raw === null ? null : decodePresenceSnapshot(raw));
        } catch (err) {
          // Unreadable is not "still online": fail closed until it can be read again.
          snapshots.set(key, null);
          if (!this.missing.has(key)) this.logger.warn({ key, err }, 'presence snapshot unreadable; its names are withdrawn');
          this.missing.add(key);
        }
      }),
    );
    for (const [key, snapshot] of snapshots) {
      if (snapshot === null && !this.missing.has(key)) {
        this.missing.add(key);
        this.logger.warn({ key }, 'presence snapshot gone (presence-service stopped?); its names are withdrawn');
      } else if (snapshot !== null && this.missing.delete(key)) {
        this.logger.info({ key }, 'presence snapshot back');
      }
    }
    for (const [id, device] of this.devices) {
      // Events applied while we were reading are newer than what we read.
      if (!device.online || device.appliedSeq > startedAt) continue;
      const snapshot = snapshots.get(device.snapshotKey);
      if (snapshot === undefined) continue;
      const listed = snapshot !== null && snapshot.online.some((d) => d.deviceId === id);
      // A snapshot older than the event may predate it: it neither confirms nor denies.
      const vouched = listed || (snapshot !== null && snapshot.writtenAtUs < device.observedAtUs && device.vouched);
      if (vouched === device.vouched) continue;
      device.vouched = vouched;
      this.refresh(device.names);
    }
  }

  private refresh(names: readonly string[]): void {
    for (const name of names) {
      const ids = this.byName.get(name);
      const records: ZoneRecord[] = [];
      for (const id of ids ?? []) {
        const device = this.devices.get(id);
        if (device === undefined || !device.vouched) continue;
        for (const { type, ip } of device.addresses) records.push({ name, ttl: PRESENCE_TTL, class: 'IN', type, data: ip });
      }
      if (ids && ids.size === 0) this.byName.delete(name);
      this.options.store.setPresence(name, records);
    }
  }
}

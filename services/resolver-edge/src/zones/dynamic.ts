// Dynamic records (records-api, topic records.changes.v1) and presence-aware
// names (presence-service, topic presence.events.v1), applied to the store as
// each batch arrives. Handlers never throw: a bad event is logged and skipped,
// since a rejected batch would be redelivered forever.
import { isIPv4, isIPv6 } from 'node:net';
import type { PresenceEvent, RecordChangeEvent } from '@ghostdns/contracts';
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

/**
 * Presence state: the last event per device wins (the topic is keyed by
 * device_id, so per-device order holds); a name answers the addresses of all
 * its online devices.
 */
export class PresenceNames {
  /** device_id -> its name and addresses while online. */
  private readonly devices = new Map<string, { name: string; records: ZoneRecord[] }>();
  /** name -> online device ids. */
  private readonly byName = new Map<string, Set<string>>();

  constructor(
    private readonly store: LocalDataStore,
    private readonly suffix: string,
    private readonly logger: EdgeLogger,
  ) {}

  /** `<name>.<suffix>` in canonical form, or null when the device name is not a host name. */
  nameFor(deviceName: string): string | null {
    const base = canonicalName(deviceName.trim()).replace(/[^a-z0-9.-]+/g, '-');
    const full = base === this.suffix || base.endsWith(`.${this.suffix}`) ? base : `${base}.${this.suffix}`;
    return HOSTNAME.test(full) && full !== this.suffix ? full : null;
  }

  apply(event: PresenceEvent): void {
    const previous = this.devices.get(event.device_id);
    if (previous) {
      this.devices.delete(event.device_id);
      this.byName.get(previous.name)?.delete(event.device_id);
      this.refresh(previous.name);
    }
    if (event.type !== 'DEVICE_ONLINE') return;
    const name = this.nameFor(event.name);
    if (name === null) {
      this.logger.warn({ device: event.device_id, name: event.name }, 'presence name is not a host name; not published');
      return;
    }
    const records: ZoneRecord[] = [];
    for (const raw of event.addresses) {
      // WireGuard reports allowed IPs as CIDRs (10.8.0.2/32): the address is what resolves.
      const ip = raw.split('/')[0]?.trim() ?? '';
      if (isIPv4(ip)) records.push({ name, ttl: PRESENCE_TTL, class: 'IN', type: 'A', data: ip });
      else if (isIPv6(ip)) records.push({ name, ttl: PRESENCE_TTL, class: 'IN', type: 'AAAA', data: ip });
    }
    this.devices.set(event.device_id, { name, records });
    let set = this.byName.get(name);
    if (!set) this.byName.set(name, (set = new Set()));
    set.add(event.device_id);
    this.refresh(name);
  }

  private refresh(name: string): void {
    const ids = this.byName.get(name);
    const records: ZoneRecord[] = [];
    for (const id of ids ?? []) records.push(...(this.devices.get(id)?.records ?? []));
    if (ids && ids.size === 0) this.byName.delete(name);
    this.store.setPresence(name, records);
  }
}

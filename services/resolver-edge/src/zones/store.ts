// LocalDataStore: every piece of local data in one place, fed by zone files,
// secondary zones (AXFR), dynamic records (records-api) and presence names.
//
// Layout: zones by apex (a closest-enclosing-zone lookup walks the query's
// labels, one Map probe per label, never scanning the zones), each zone a
// Map name -> type -> RRset built once per load and swapped whole (a reload is
// atomic for queries); dynamic and presence records in two overlay maps
// name -> type -> RRset, consulted first, so they add to or override a zone's
// data without touching it. Empty non-terminals are precomputed (zones) or
// reference-counted (overlays) so NXDOMAIN vs NODATA (RFC 8020) is O(1).
import type dnsPacket from 'dns-packet';
import { Rcode } from '../dns/wire.js';
import { canonicalName, isInZone, parentName, RrType, typeCode } from './names.js';
import type { ZoneRecord } from './zone-file.js';

export interface RRset {
  readonly type: number;
  readonly records: readonly ZoneRecord[];
  /** Rotate the order per answer (round-robin over dynamic values). */
  readonly rotate: boolean;
  cursor: number;
}

type Node = Map<number, RRset>;

export type ZoneKind = 'primary' | 'secondary' | 'presence';
export type ZoneStatus = 'loaded' | 'loading' | 'expired';

export type SoaRecord = ZoneRecord & { type: 'SOA'; data: Required<dnsPacket.SoaData> };

function isSoa(r: ZoneRecord): r is SoaRecord {
  if (r.type !== 'SOA') return false;
  const d = r.data;
  return [d.serial, d.refresh, d.retry, d.expire, d.minimum].every((n) => typeof n === 'number');
}

/** One version of a zone's data, immutable once built. */
export class ZoneData {
  readonly nodes = new Map<string, Node>();
  readonly ents = new Set<string>();
  readonly cuts = new Set<string>();

  private constructor(
    readonly apex: string,
    readonly soa: SoaRecord,
    /** In load order, SOA excluded: what AXFR sends between the two SOAs. */
    readonly records: readonly ZoneRecord[],
  ) {}

  /** `records` must hold exactly one SOA, at `apex`; every owner inside the zone. */
  static build(apex: string, records: readonly ZoneRecord[]): ZoneData {
    const soa = records.find((r): r is SoaRecord => isSoa(r) && r.name === apex);
    if (soa === undefined) throw new Error(`zone ${apex} has no SOA`);
    const rest = records.filter((r) => r !== soa && r.type !== 'SOA');
    const zone = new ZoneData(apex, soa, rest);
    for (const r of records) {
      if (r !== soa && r.type === 'SOA') continue;
      zone.add(r);
    }
    for (const name of zone.nodes.keys()) {
      if (name !== apex && zone.nodes.get(name)?.has(RrType.NS)) zone.cuts.add(name);
      for (let p = parentName(name); p !== null && p.length > apex.length; p = parentName(p)) {
        if (!zone.nodes.has(p)) zone.ents.add(p);
      }
    }
    return zone;
  }

  private add(r: ZoneRecord): void {
    let node = this.nodes.get(r.name);
    if (!node) this.nodes.set(r.name, (node = new Map<number, RRset>()));
    const code = typeCode(r.type);
    const set = node.get(code);
    // Duplicate RRs collapse (RFC 2181 §5), as BIND does when loading.
    if (set) {
      if (!set.records.some((x) => sameRdata(x, r))) (set.records as ZoneRecord[]).push(r);
    } else node.set(code, { type: code, records: [r], rotate: false, cursor: 0 });
  }

  get serial(): number {
    return this.soa.data.serial;
  }

  /** The delegation point closest to the apex between it (exclusive) and `name` (inclusive). */
  findCut(name: string): string | null {
    if (this.cuts.size === 0) return null;
    let cut: string | null = null;
    for (let n: string | null = name; n !== null && n.length > this.apex.length; n = parentName(n)) {
      if (this.cuts.has(n)) cut = n;
    }
    return cut;
  }
}

function sameRdata(a: ZoneRecord, b: ZoneRecord): boolean {
  return JSON.stringify(a.data) === JSON.stringify(b.data);
}

export interface ZoneEntry {
  readonly apex: string;
  readonly kind: ZoneKind;
  status: ZoneStatus;
  data: ZoneData | null;
}

export interface LookupResult {
  rcode: number;
  /** Authoritative answer (false for referrals and SERVFAIL). */
  aa: boolean;
  answers: ZoneRecord[];
  authorities: ZoneRecord[];
  additionals: ZoneRecord[];
}

export interface LookupOptions {
  /** Stream transport: ANY may be answered in full (RFC 8482 §4.1). */
  stream: boolean;
}

/** Longest CNAME chain followed inside the local data. */
const MAX_CHAIN = 12;

export class LocalDataStore {
  private readonly zones = new Map<string, ZoneEntry>();
  private readonly dynamic = new Map<string, Node>();
  private readonly presence = new Map<string, Node>();
  /** Overlay names strictly below each name (overlay empty non-terminals). */
  private readonly overlayBelow = new Map<string, number>();
  /** Zones and overlay names per top-level label: most queries are ruled out by one probe. */
  private readonly tlds = new Map<string, number>();

  get isEmpty(): boolean {
    return this.zones.size === 0 && this.dynamic.size === 0 && this.presence.size === 0;
  }

  /**
   * Cheap pre-check on the query's name as on the wire (any case): false means
   * no local data can match, so the stage hands on without normalising the name.
   */
  mayHold(name: string): boolean {
    if (this.tlds.has('')) return true; // a root zone holds everything
    const tld = name.slice(name.lastIndexOf('.') + 1);
    return this.tlds.has(tld) || this.tlds.has(tld.toLowerCase());
  }

  private countTld(name: string, delta: number): void {
    const tld = name === '' ? '' : name.slice(name.lastIndexOf('.') + 1);
    const n = (this.tlds.get(tld) ?? 0) + delta;
    if (n <= 0) this.tlds.delete(tld);
    else this.tlds.set(tld, n);
  }

  // ---- zones -------------------------------------------------------------

  /** Declares a zone (answers SERVFAIL until data arrives, e.g. a secondary not yet transferred). */
  declareZone(apex: string, kind: ZoneKind): ZoneEntry {
    const existing = this.zones.get(apex);
    if (existing) return existing;
    const entry: ZoneEntry = { apex, kind, status: 'loading', data: null };
    this.zones.set(apex, entry);
    this.countTld(apex, 1);
    return entry;
  }

  /** Swaps in a new version of a zone (atomic for queries: one assignment). */
  setZoneData(apex: string, kind: ZoneKind, data: ZoneData): void {
    const entry = this.declareZone(apex, kind);
    entry.data = data;
    entry.status = 'loaded';
  }

  setZoneStatus(apex: string, status: ZoneStatus): void {
    const entry = this.zones.get(apex);
    if (entry) entry.status = status;
  }

  removeZone(apex: string): void {
    if (this.zones.delete(apex)) this.countTld(apex, -1);
  }

  zone(apex: string): ZoneEntry | null {
    return this.zones.get(apex) ?? null;
  }

  zoneApexes(): string[] {
    return [...this.zones.keys()];
  }

  /** Closest enclosing zone of a canonical name: one probe per label. */
  findZone(name: string): ZoneEntry | null {
    if (this.zones.size === 0) return null;
    for (let n: string | null = name; n !== null; n = parentName(n)) {
      const z = this.zones.get(n);
      if (z) return z;
    }
    return null;
  }

  // ---- overlays ----------------------------------------------------------

  /** Replaces (name, type) in the dynamic layer; an empty list deletes it. */
  setDynamic(name: string, type: number, records: readonly ZoneRecord[]): void {
    this.setOverlay(this.dynamic, name, type, records, true);
  }

  /** Deletes every type of `name` from the dynamic layer. */
  deleteDynamicName(name: string): void {
    for (const type of [...(this.dynamic.get(name)?.keys() ?? [])]) this.setOverlay(this.dynamic, name, type, [], true);
  }

  /** Sets the presence addresses of `name`; empty: the name is gone (NXDOMAIN). */
  setPresence(name: string, records: readonly ZoneRecord[]): void {
    const byType = new Map<number, ZoneRecord[]>([[RrType.A, []], [RrType.AAAA, []]]);
    for (const r of records) byType.get(typeCode(r.type))?.push(r);
    for (const [type, list] of byType) this.setOverlay(this.presence, name, type, list, list.length > 1);
  }

  private hasOverlay(name: string): boolean {
    return (this.dynamic.get(name)?.size ?? 0) > 0 || (this.presence.get(name)?.size ?? 0) > 0;
  }

  private setOverlay(layer: Map<string, Node>, name: string, type: number, records: readonly ZoneRecord[], rotate: boolean): void {
    const had = this.hasOverlay(name);
    let node = layer.get(name);
    if (records.length === 0) {
      node?.delete(type);
      if (node && node.size === 0) layer.delete(name);
    } else {
      if (!node) layer.set(name, (node = new Map<number, RRset>()));
      node.set(type, { type, records: [...records], rotate: rotate && records.length > 1, cursor: 0 });
    }
    const has = this.hasOverlay(name);
    if (had === has) return;
    this.countTld(name, has ? 1 : -1);
    for (let p = parentName(name); p !== null; p = parentName(p)) {
      const count = (this.overlayBelow.get(p) ?? 0) + (has ? 1 : -1);
      if (count <= 0) this.overlayBelow.delete(p);
      else this.overlayBelow.set(p, count);
    }
  }

  // ---- lookups -----------------------------------------------------------

  /** null: not local data, the next stage answers. */
  lookup(qname: string, qtype: number, options: LookupOptions): LookupResult | null {
    const entry = this.findZone(qname);
    if (entry === null) {
      if (!this.hasOverlay(qname)) return null;
      return this.answer(null, qname, qtype, options);
    }
    if (entry.status !== 'loaded' || entry.data === null) return servfail();
    const zone = entry.data;
    const cut = zone.findCut(qname);
    // RFC 4035 §3.1.4.1: DS at a cut is the parent's data, answered here.
    if (cut !== null && !(cut === qname && qtype === RrType.DS)) return this.referral(zone, cut);
    return this.answer(zone, qname, qtype, options);
  }

  private rrset(zone: ZoneData | null, name: string, type: number): RRset | undefined {
    return this.dynamic.get(name)?.get(type) ?? this.presence.get(name)?.get(type) ?? zone?.nodes.get(name)?.get(type);
  }

  private exists(zone: ZoneData | null, name: string): boolean {
    if (this.hasOverlay(name) || this.overlayBelow.has(name)) return true;
    return zone !== null && (zone.nodes.has(name) || zone.ents.has(name));
  }

  /** RFC 4592 §3.3.1: `*.<closest encloser>`, when the name does not exist. */
  private wildcard(zone: ZoneData, name: string): string | null {
    for (let p = parentName(name); p !== null && isInZone(p, zone.apex); p = parentName(p)) {
      if (this.exists(zone, p)) {
        const star = p === '' ? '*' : `*.${p}`;
        return zone.nodes.has(star) ? star : null;
      }
    }
    return null;
  }

  private answer(zone: ZoneData | null, qname: string, qtype: number, options: LookupOptions): LookupResult {
    const result: LookupResult = { rcode: Rcode.NOERROR, aa: true, answers: [], authorities: [], additionals: [] };
    let name = qname;
    let negative = false;
    const seen = new Set<string>([qname]);
    for (let hop = 0; hop < MAX_CHAIN; hop++) {
      let source = name;
      if (!this.exists(zone, name)) {
        const star = zone === null ? null : this.wildcard(zone, name);
        if (star === null) {
          // RFC 6604 §3: the rcode speaks for the last name of a CNAME chain.
          result.rcode = Rcode.NXDOMAIN;
          negative = true;
          break;
        }
        source = star;
      }
      if (qtype === RrType.ANY) {
        if (!this.pushAny(zone, source, name, options, result)) negative = true;
        break;
      }
      const set = this.rrset(zone, source, qtype);
      if (set !== undefined) {
        pushSet(set, name, result.answers);
        break;
      }
      const cname = qtype === RrType.CNAME ? undefined : this.rrset(zone, source, RrType.CNAME);
      if (cname === undefined) {
        negative = true;
        break;
      }
      pushSet(cname, name, result.answers);
      const first = cname.records[0];
      const target = first?.type === 'CNAME' ? canonicalName(first.data) : '';
      // Only chase inside the same data; past it the client's resolver follows the CNAME.
      const inside = zone === null ? this.findZone(target) === null && this.hasOverlay(target) : isInZone(target, zone.apex) && zone.findCut(target) === null;
      if (!inside || seen.has(target)) break;
      seen.add(target);
      name = target;
    }
    if (negative && zone !== null) result.authorities.push(negativeSoa(zone.soa));
    if (zone !== null) this.addAdditionals(zone, result.answers, result.additionals);
    return result;
  }

  private pushAny(zone: ZoneData | null, source: string, owner: string, options: LookupOptions, result: LookupResult): boolean {
    const types = new Set<number>();
    for (const node of [this.dynamic.get(source), this.presence.get(source), zone?.nodes.get(source)]) {
      for (const t of node?.keys() ?? []) types.add(t);
    }
    if (types.size === 0) return false;
    // RFC 8482 §4.2: over UDP one RRset is enough (no amplification); streams get everything.
    const chosen = options.stream ? [...types].sort((a, b) => a - b) : [Math.min(...types)];
    for (const t of chosen) {
      const set = this.rrset(zone, source, t);
      if (set) pushSet(set, owner, result.answers);
    }
    return true;
  }

  private referral(zone: ZoneData, cut: string): LookupResult {
    const ns = zone.nodes.get(cut)?.get(RrType.NS);
    const result: LookupResult = { rcode: Rcode.NOERROR, aa: false, answers: [], authorities: [], additionals: [] };
    if (ns) pushSet(ns, cut, result.authorities);
    this.addAdditionals(zone, result.authorities, result.additionals);
    return result;
  }

  /** Addresses of NS/MX/SRV targets held in the same zone (RFC 1035 §3.3.1 additional processing, glue). */
  private addAdditionals(zone: ZoneData, from: readonly ZoneRecord[], into: ZoneRecord[]): void {
    const done = new Set<string>();
    for (const r of from) {
      const target = additionalTarget(r);
      if (target === null || done.has(target) || !isInZone(target, zone.apex)) continue;
      done.add(target);
      for (const t of [RrType.A, RrType.AAAA]) {
        const set = this.rrset(zone, target, t);
        if (set) into.push(...set.records);
      }
    }
  }
}

function additionalTarget(r: ZoneRecord): string | null {
  if (r.type === 'NS') return canonicalName(r.data);
  if (r.type === 'MX') return canonicalName(r.data.exchange);
  if (r.type === 'SRV') return canonicalName(r.data.target);
  return null;
}

function pushSet(set: RRset, owner: string, into: ZoneRecord[]): void {
  const n = set.records.length;
  const start = set.rotate ? set.cursor++ % n : 0;
  if (set.rotate && set.cursor >= n) set.cursor = 0;
  for (let i = 0; i < n; i++) {
    const r = set.records[(start + i) % n];
    into.push(r.name === owner ? r : { ...r, name: owner });
  }
}

/** RFC 2308 §3: the negative TTL is the lesser of the SOA's TTL and MINIMUM. */
export function negativeSoa(soa: SoaRecord): ZoneRecord {
  return { ...soa, ttl: Math.min(soa.ttl, soa.data.minimum) };
}

function servfail(): LookupResult {
  return { rcode: Rcode.SERVFAIL, aa: false, answers: [], authorities: [], additionals: [] };
}

// allow-query / allow-recursion address match lists (BIND's "acl trusted").
// Parsed once with ipaddr.js into sorted, merged numeric ranges; a client is
// matched by one binary search over those ranges, without parsing CIDRs or
// allocating per query.
import ipaddr from 'ipaddr.js';
import type { IpFamily } from '../dns/address.js';
import { ResolverEdgeError } from '../errors.js';
import { parseClientAddress } from './ip.js';

const TWO_32 = 2 ** 32;
const MASK_128 = (1n << 128n) - 1n;

interface Range<T> {
  start: T;
  end: T;
}

/** Sorts and merges overlapping or adjacent ranges (10.0.0.0/9 + 10.128.0.0/9 = 10.0.0.0/8). */
function mergeV4(ranges: Range<number>[]): Range<number>[] {
  ranges.sort((a, b) => a.start - b.start);
  const out: Range<number>[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

function mergeV6(ranges: Range<bigint>[]): Range<bigint>[] {
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Range<bigint>[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** Strict parsing: IPv4 only in four-part decimal (no "10/8", "0xa.1", "127.1"). */
function parseEntry(entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const slash = entry.indexOf('/');
  const host = slash < 0 ? entry : entry.slice(0, slash);
  if (!host.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(host)) throw new Error('not a four-part IPv4 address');
  if (slash >= 0) return ipaddr.parseCIDR(entry);
  const addr = ipaddr.parse(entry);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

/** A compiled address match list: any of its CIDRs matches. */
export class AddressMatchList {
  /** IPv4: range starts/ends, sorted, disjoint. */
  private readonly v4Start: Float64Array;
  private readonly v4End: Float64Array;
  /** IPv6: range starts/ends as four big-endian words each, sorted, disjoint. */
  private readonly v6Start: Uint32Array;
  private readonly v6End: Uint32Array;
  private readonly v6Count: number;
  private readonly words = new Uint32Array(4);
  /** The entries as configured, for logs. */
  readonly entries: readonly string[];

  /**
   * Entries are CIDRs (`10.0.0.0/8`, `fc00::/7`), single addresses (`192.0.2.1`,
   * `::1`), `any` or `none`. IPv4-mapped IPv6 prefixes (`::ffff:10.0.0.0/104`)
   * are folded into IPv4, as mapped clients are.
   */
  constructor(entries: readonly string[], what = 'acl') {
    this.entries = [...entries];
    const v4: Range<number>[] = [];
    const v6: Range<bigint>[] = [];
    for (const raw of entries) {
      const entry = raw.trim();
      if (entry === 'none') continue;
      if (entry === 'any') {
        v4.push({ start: 0, end: TWO_32 - 1 });
        v6.push({ start: 0n, end: MASK_128 });
        continue;
      }
      let addr: ipaddr.IPv4 | ipaddr.IPv6;
      let bits: number;
      try {
        [addr, bits] = parseEntry(entry);
      } catch (err) {
        throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_ACL', `${what}: not an address or CIDR: ${entry}`, { cause: err });
      }
      if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        addr = (addr as ipaddr.IPv6).toIPv4Address();
        bits -= 96;
      }
      const bytes = addr.toByteArray();
      if (addr.kind() === 'ipv4') {
        const value = bytes.reduce((acc, b) => acc * 256 + b, 0);
        const size = 2 ** (32 - bits);
        const start = Math.floor(value / size) * size;
        v4.push({ start, end: start + size - 1 });
      } else {
        const value = bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
        const hostMask = (1n << BigInt(128 - bits)) - 1n;
        const start = value & ~hostMask & MASK_128;
        v6.push({ start, end: start | hostMask });
      }
    }
    const m4 = mergeV4(v4);
    this.v4Start = Float64Array.from(m4, (r) => r.start);
    this.v4End = Float64Array.from(m4, (r) => r.end);
    const m6 = mergeV6(v6);
    this.v6Count = m6.length;
    this.v6Start = new Uint32Array(m6.length * 4);
    this.v6End = new Uint32Array(m6.length * 4);
    m6.forEach((r, i) => {
      for (let w = 0; w < 4; w++) {
        const shift = BigInt(96 - 32 * w);
        this.v6Start[i * 4 + w] = Number((r.start >> shift) & 0xffffffffn);
        this.v6End[i * 4 + w] = Number((r.end >> shift) & 0xffffffffn);
      }
    });
  }

  /** Number of disjoint ranges after merging (IPv4, IPv6). */
  get rangeCounts(): { v4: number; v6: number } {
    return { v4: this.v4Start.length, v6: this.v6Count };
  }

  /**
   * `family` is what the socket reported; the address string decides, so an
   * IPv4-mapped client on a dual-stack socket is matched as IPv4. An
   * unparseable address never matches.
   */
  matches(address: string, _family?: IpFamily): boolean {
    const words = this.words;
    const kind = parseClientAddress(address, words);
    if (kind === 4) return this.matchV4(words[3] ?? 0);
    if (kind === 6) return this.matchV6(words);
    return false;
  }

  matchV4(value: number): boolean {
    const starts = this.v4Start;
    let lo = 0;
    let hi = starts.length - 1;
    // Last range whose start <= value.
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] ?? 0) <= value) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found >= 0 && value <= (this.v4End[found] ?? -1);
  }

  matchV6(words: Uint32Array): boolean {
    const starts = this.v6Start;
    let lo = 0;
    let hi = this.v6Count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareWords(starts, mid * 4, words) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found >= 0 && compareWords(this.v6End, found * 4, words) >= 0;
  }
}

/** Sign of (table[at..at+4] - words), lexicographic over big-endian words. */
function compareWords(table: Uint32Array, at: number, words: Uint32Array): number {
  for (let w = 0; w < 4; w++) {
    const a = table[at + w] ?? 0;
    const b = words[w] ?? 0;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

/**
 * The synchronous ACL decision, shared by the pipeline's stages and the UDP
 * fast path (which answers cache hits before the pipeline and must refuse the
 * same clients).
 */
export class AccessChecker {
  readonly query: AddressMatchList;
  readonly recursion: AddressMatchList;

  constructor(acl: { allowQuery: readonly string[]; allowRecursion: readonly string[] }) {
    this.query = new AddressMatchList(acl.allowQuery, 'acl.allowQuery');
    this.recursion = new AddressMatchList(acl.allowRecursion, 'acl.allowRecursion');
  }

  allowQuery(address: string, family?: IpFamily): boolean {
    return this.query.matches(address, family);
  }

  /**
   * BIND semantics: recursion (and the cache, whose default ACL follows
   * allow-recursion) needs both lists; local data only allow-query.
   */
  allowRecursion(address: string, family?: IpFamily): boolean {
    return this.recursion.matches(address, family) && this.query.matches(address, family);
  }
}

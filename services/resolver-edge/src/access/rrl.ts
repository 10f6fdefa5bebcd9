// Response rate limiting in the manner of BIND 9's RRL (ARM "Response Rate
// Limiting"; the technique of Vixie & Schryver). A spoofed-source flood makes a
// resolver reflect and amplify identical answers at a victim; limiting how
// often the *same* answer goes to one client prefix stops that while a real
// client, which asks for many different names, is never limited. UDP only: a
// TCP (or DoT/DoH) client has completed a handshake, so its address is real.
import { LRUCache } from 'lru-cache';
import { noopResolverMetrics, type ResolverMetrics, type RrlVerdict } from '../metrics.js';
import type { IpFamily } from '../dns/address.js';
import { parseClientAddress } from './ip.js';
import { HEADER_LENGTH } from '../dns/wire.js';

export interface RrlOptions {
  /** Responses per second per (prefix, response class); 0 disables limiting. */
  responsesPerSecond: number;
  /** Seconds over which a client's debt is remembered (BIND's `window`). */
  window: number;
  /** Every Nth limited response is sent truncated instead of dropped; 0: drop all. */
  slip: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  /** Accounts kept (least recently used ones are forgotten); BIND's max-table-size. */
  maxEntries?: number;
}

interface Account {
  /** Credits left; negative = debt, bounded by -window × rate. */
  balance: number;
  lastMs: number;
  slipCount: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;
const MAX_POINTER_HOPS = 32;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over a (possibly compressed) name's wire bytes, ASCII case folded
 * (RFC 4343). Returns -1 when the name is malformed.
 */
function hashName(msg: Buffer, offset: number, seed: number): number {
  let h = seed;
  let pos = offset;
  let hops = 0;
  for (;;) {
    if (pos >= msg.length) return -1;
    const len = msg[pos] ?? 0;
    if (len === 0) return h >>> 0;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length || ++hops > MAX_POINTER_HOPS) return -1;
      pos = ((len & 0x3f) << 8) | (msg[pos + 1] ?? 0);
      continue;
    }
    if ((len & 0xc0) !== 0 || pos + 1 + len > msg.length) return -1;
    h = Math.imul(h ^ len, FNV_PRIME);
    for (let i = pos + 1; i <= pos + len; i++) {
      let c = msg[i] ?? 0;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    pos += 1 + len;
  }
}

/** Offset just past a name (not following pointers), or -1. */
function skipName(msg: Buffer, offset: number): number {
  let pos = offset;
  for (;;) {
    if (pos >= msg.length) return -1;
    const len = msg[pos] ?? 0;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= msg.length ? pos + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    pos += 1 + len;
  }
}

/** Offset of the owner name of the first SOA in the authority section, or -1. */
function authoritySoaOwner(msg: Buffer, questionEnd: number): number {
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  let pos = questionEnd;
  for (let i = 0; i < ancount + nscount; i++) {
    const owner = pos;
    pos = skipName(msg, pos);
    if (pos < 0 || pos + 10 > msg.length) return -1;
    const type = msg.readUInt16BE(pos);
    const rdlength = msg.readUInt16BE(pos + 8);
    if (i >= ancount && type === 6) return owner;
    pos += 10 + rdlength;
  }
  return -1;
}

/** The response class tags (BIND: rrl rtype). */
const CLASS_POSITIVE = 0x51;
const CLASS_NODATA = 0x52;
const CLASS_NXDOMAIN = 0x53;
const CLASS_ERROR = 0x54;

/**
 * Decides, per UDP response, whether it is sent, dropped, or "slipped" (sent as
 * an empty TC=1 answer so a real client retries over TCP, RFC 1035 §4.2.1).
 *
 * Accounts are keyed by the client's prefix and the response class: qname +
 * qtype for answers and NODATA, the zone (SOA owner) for NXDOMAIN so random
 * subdomains of one zone share an account, and one "error" account per prefix
 * (SERVFAIL, REFUSED, FORMERR...). Credits are BIND's: each account regains
 * `rate` credits per second, capped at `rate` (the burst); each response costs
 * one; below zero the response is limited and the debt may grow to
 * `window × rate`, so a flood keeps being limited until it has stopped for up
 * to `window` seconds. No timers: credits are computed from the elapsed time
 * when an account is next touched; memory is bounded by an LRU of accounts.
 */
export class ResponseRateLimiter {
  readonly enabled: boolean;
  private readonly rate: number;
  private readonly maxDebt: number;
  private readonly slip: number;
  private readonly v4Mask: number;
  private readonly v6Prefix: number;
  private readonly accounts: LRUCache<string, Account>;
  private readonly words = new Uint32Array(4);
  private readonly metrics: ResolverMetrics;

  constructor(options: RrlOptions, metrics: ResolverMetrics = noopResolverMetrics) {
    this.enabled = options.responsesPerSecond > 0;
    this.rate = options.responsesPerSecond;
    this.maxDebt = -options.window * options.responsesPerSecond;
    this.slip = options.slip;
    this.v4Mask = options.ipv4PrefixLength >= 32 ? 0xffffffff : ~(0xffffffff >>> options.ipv4PrefixLength) >>> 0;
    this.v6Prefix = options.ipv6PrefixLength;
    this.accounts = new LRUCache<string, Account>({ max: options.maxEntries ?? DEFAULT_MAX_ENTRIES });
    this.metrics = metrics;
  }

  /** Accounts currently remembered. */
  get size(): number {
    return this.accounts.size;
  }

  /**
   * `response` is the wire answer about to be sent to `clientAddress` over UDP;
   * `nowMs` any monotonic millisecond clock (performance.now()).
   */
  verdict(clientAddress: string, _family: IpFamily, response: Buffer, nowMs: number): RrlVerdict {
    if (!this.enabled) return 'send';
    const prefix = this.prefixKey(clientAddress);
    const cls = prefix === null ? -1 : responseClassHash(response);
    // An unreadable address or response is not accounted (it cannot be keyed;
    // the handler never produces such responses).
    if (cls < 0 || prefix === null) {
      this.metrics.rrlResponse('send');
      return 'send';
    }
    const key = `${prefix}|${cls}`;
    let account = this.accounts.get(key);
    if (account === undefined) {
      account = { balance: this.rate, lastMs: nowMs, slipCount: 0 };
      this.accounts.set(key, account);
    } else if (nowMs > account.lastMs) {
      account.balance = Math.min(this.rate, account.balance + ((nowMs - account.lastMs) * this.rate) / 1000);
      account.lastMs = nowMs;
    }
    account.balance -= 1;
    if (account.balance >= 0) {
      this.metrics.rrlResponse('send');
      return 'send';
    }
    if (account.balance < this.maxDebt) account.balance = this.maxDebt;
    // BIND never slips error responses: an empty truncated REFUSED/SERVFAIL
    // helps no real client.
    const isError = (cls & 0xff) === CLASS_ERROR;
    if (this.slip > 0 && !isError && ++account.slipCount >= this.slip) {
      account.slipCount = 0;
      this.metrics.rrlResponse('slip');
      return 'slip';
    }
    this.metrics.rrlResponse('drop');
    return 'drop';
  }

  private prefixKey(address: string): string | null {
    const words = this.words;
    const family = parseClientAddress(address, words);
    if (family === 4) return `4:${((words[3] ?? 0) & this.v4Mask) >>> 0}`;
    if (family === 6) {
      let key = '6:';
      let bits = this.v6Prefix;
      for (let w = 0; w < 4 && bits > 0; w++, bits -= 32) {
        const mask = bits >= 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0;
        key += (((words[w] ?? 0) & mask) >>> 0).toString(16) + ':';
      }
      return key;
    }
    return null;
  }
}

/**
 * A hash of the response class, with the class tag in the low byte so the
 * caller can tell errors apart; -1 when the response cannot be read.
 */
function responseClassHash(response: Buffer): number {
  if (response.length < HEADER_LENGTH) return -1;
  const rcode = (response[3] ?? 0) & 0x0f;
  if (rcode !== 0 && rcode !== 3) return CLASS_ERROR;
  if (response.readUInt16BE(4) !== 1) return CLASS_ERROR;
  const questionEnd = skipName(response, HEADER_LENGTH);
  if (questionEnd < 0 || questionEnd + 4 > response.length) return -1;
  const qtype = response.readUInt16BE(questionEnd);
  if (rcode === 3) {
    const soa = authoritySoaOwner(response, questionEnd + 4);
    const h = soa >= 0 ? hashName(response, soa, FNV_OFFSET) : parentHash(response);
    return h < 0 ? -1 : tag(h, CLASS_NXDOMAIN);
  }
  const h = hashName(response, HEADER_LENGTH, Math.imul(FNV_OFFSET ^ qtype, FNV_PRIME));
  if (h < 0) return -1;
  return tag(h, response.readUInt16BE(6) > 0 ? CLASS_POSITIVE : CLASS_NODATA);
}

/**
 * NXDOMAIN without an SOA (locally generated, e.g. a blocklist answer): the
 * qname's last two labels stand in for the zone, so a random-subdomain flood
 * still shares one account.
 */
function parentHash(response: Buffer): number {
  const offsets: number[] = [];
  let pos = HEADER_LENGTH;
  for (;;) {
    const len = response[pos] ?? 0;
    if (len === 0 || (len & 0xc0) !== 0) break;
    offsets.push(pos);
    pos += 1 + len;
    if (pos >= response.length) return -1;
  }
  const start = offsets.length > 2 ? (offsets[offsets.length - 2] ?? HEADER_LENGTH) : HEADER_LENGTH;
  return hashName(response, start, FNV_OFFSET);
}

function tag(hash: number, cls: number): number {
  return ((hash & 0xffffff00) | cls) >>> 0;
}

/**
 * The slipped form of a response: its header with TC=1 (RFC 1035 §4.1.1), the
 * question echoed, no records (the OPT record goes too). The rcode is kept.
 */
export function buildSlipResponse(response: Buffer): Buffer {
  if (response.length < HEADER_LENGTH) return Buffer.from(response);
  const nameEnd = response.readUInt16BE(4) >= 1 ? plainNameEnd(response, HEADER_LENGTH) : -1;
  // A question with a pointer cannot be echoed alone; the header is enough for a retry over TCP.
  const qEnd = nameEnd >= 0 && nameEnd + 4 <= response.length ? nameEnd + 4 : HEADER_LENGTH;
  const out = Buffer.alloc(qEnd);
  response.copy(out, 0, 0, qEnd);
  out[2] = (out[2] ?? 0) | 0x02;
  out.writeUInt16BE(qEnd > HEADER_LENGTH ? 1 : 0, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

/** Offset just past an uncompressed name, or -1 (pointer, bad label, truncated). */
function plainNameEnd(msg: Buffer, offset: number): number {
  let pos = offset;
  while (pos < msg.length) {
    const len = msg[pos] ?? 0;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) !== 0) return -1;
    pos += 1 + len;
  }
  return -1;
}

// Byte-level helpers of the answer cache. Nothing here builds a DNS object
// graph: a query's cache key is read straight from its bytes, and a stored
// answer is described by the offsets of its TTL fields so a hit is one copy
// plus a few byte writes (RFC 1035 §4.1).
import { escapeLabel } from '../dns/wire.js';

const HEADER = 12;
const TYPE_OPT = 41;
const TYPE_SOA = 6;
/** RFC 1035 §3.1: a name is at most 255 octets on the wire. */
const MAX_NAME = 255;
/** RFC 1035 §4.2.1: without EDNS a UDP answer is at most 512 octets. */
export const CLASSIC_UDP_SIZE = 512;
/**
 * Largest UDP answer the fast path sends whatever the client advertises (DNS
 * flag day 2020, avoids IP fragmentation); bigger ones take the full path,
 * which truncates with the same bound.
 */
export const UDP_ANSWER_CAP = 1232;

/** Bits of the last key byte. */
export const KEY_EDNS = 1;
export const KEY_DO = 2;
export const KEY_CD = 4;

/**
 * What parseQueryKey learnt about a query. One instance is reused for every
 * packet on the fast path (single-threaded, read before the next call).
 */
export class ParsedQuery {
  /** qname (wire form, ASCII lower-cased) + qtype + qclass + flag byte, as a latin1 string. */
  key = '';
  /** Wire length of the question name (offset 12 up to and including the root label). */
  nameLength = 0;
  qtype = 0;
  qclass = 0;
  /** What a UDP answer may take: the client's payload size, at least 512 (RFC 6891 §6.2.3, §6.2.5), at most UDP_ANSWER_CAP. */
  udpSize = CLASSIC_UDP_SIZE;
  flags = 0;
}

const scratch = Buffer.allocUnsafe(MAX_NAME + 5);

/**
 * Reads the cache key of a plain query: opcode QUERY, QR clear, one question
 * with an uncompressed name, no answer/authority records and at most one
 * additional record, which must be an EDNS(0) OPT (RFC 6891) ending the
 * message. Anything else (TSIG, EDNS version ≠ 0, pointers, trailing bytes)
 * returns false and takes the full path, which knows how to answer it.
 */
export function parseQueryKey(msg: Buffer, out: ParsedQuery): boolean {
  const length = msg.length;
  if (length < HEADER + 5) return false;
  // QR=0, opcode 0; the rest of byte 2 (AA, TC, RD) does not matter for a query.
  if ((msg[2] & 0xf8) !== 0) return false;
  if (msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0) return false;
  const arcount = msg[11];
  if (arcount > 1) return false;

  let pos = HEADER;
  let n = 0;
  for (;;) {
    if (pos >= length) return false;
    const len = msg[pos];
    if (len === 0) break;
    // 0xc0 pointers (legal but never useful in a question) and the reserved 0x40/0x80 label types.
    if (len > 63) return false;
    if (pos + 1 + len >= length || n + 1 + len >= MAX_NAME) return false;
    scratch[n++] = len;
    for (let i = pos + 1, end = pos + 1 + len; i < end; i++) {
      const c = msg[i];
      // DNS names compare case-insensitively in ASCII only (RFC 4343 §3).
      scratch[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    pos += 1 + len;
  }
  scratch[n++] = 0;
  pos += 1;
  if (pos + 4 > length) return false;
  const nameLength = pos - HEADER;
  scratch[n++] = msg[pos];
  scratch[n++] = msg[pos + 1];
  scratch[n++] = msg[pos + 2];
  scratch[n++] = msg[pos + 3];
  const qtype = (msg[pos] << 8) | msg[pos + 1];
  const qclass = (msg[pos + 2] << 8) | msg[pos + 3];
  pos += 4;

  let flags = 0;
  let udpSize = CLASSIC_UDP_SIZE;
  if (arcount === 1) {
    // OPT: root owner, TYPE 41, CLASS = payload size, TTL = ext-rcode, version, DO|Z, RDLEN, options.
    if (pos + 11 > length) return false;
    if (msg[pos] !== 0 || msg[pos + 1] !== 0 || msg[pos + 2] !== TYPE_OPT) return false;
    if (msg[pos + 6] !== 0) return false; // EDNS version 0 only; BADVERS is the full path's job
    const rdlen = (msg[pos + 9] << 8) | msg[pos + 10];
    if (pos + 11 + rdlen !== length) return false;
    const size = (msg[pos + 3] << 8) | msg[pos + 4];
    udpSize = size > UDP_ANSWER_CAP ? UDP_ANSWER_CAP : size > CLASSIC_UDP_SIZE ? size : CLASSIC_UDP_SIZE;
    flags = KEY_EDNS | ((msg[pos + 7] & 0x80) !== 0 ? KEY_DO : 0);
  } else if (pos !== length) {
    return false;
  }
  if ((msg[3] & 0x10) !== 0) flags |= KEY_CD;
  scratch[n++] = flags;

  out.key = scratch.toString('latin1', 0, n);
  out.nameLength = nameLength;
  out.qtype = qtype;
  out.qclass = qclass;
  out.udpSize = udpSize;
  out.flags = flags;
  return true;
}

/** Lower-case dotted form of a wire name taken from a key (for events): no trailing dot, root is '.'. */
export function keyName(key: string): string {
  let out = '';
  let pos = 0;
  for (;;) {
    const len = key.charCodeAt(pos);
    if (!(len > 0)) break;
    if (out !== '') out += '.';
    out += escapeLabel(key.slice(pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return out === '' ? '.' : out;
}


/** Skips a (possibly compressed) name; returns the offset after it, or -1. */
function skipName(msg: Buffer, pos: number): number {
  for (let labels = 0; labels < 128; labels++) {
    if (pos >= msg.length) return -1;
    const len = msg[pos];
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= msg.length ? pos + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    pos += 1 + len;
  }
  return -1;
}

/** The layout of an upstream answer, as the cache needs it. */
export interface AnswerLayout {
  rcode: number;
  truncated: boolean;
  ancount: number;
  /** Offsets of the TTL field of every record except OPT, in message order. */
  ttlOffsets: number[];
  /** The TTL read at each offset. */
  ttls: number[];
  /** Offset of the first authority record's TTL index in ttlOffsets (answer section count of non-OPT RRs). */
  authorityStart: number;
  /** Index range [authorityStart, authorityEnd) in ttlOffsets of the authority section. */
  authorityEnd: number;
  /** min(SOA TTL, SOA MINIMUM) of the first SOA in the authority section (RFC 2308 §5), or -1. */
  soaNegativeTtl: number;
  /** Offset of the OPT record's RDLENGTH field, -1 without OPT. */
  optRdlenOffset: number;
  /** True when the OPT record is the last thing in the message. */
  optLast: boolean;
}

/**
 * Walks an answer once (at fill time, off the hit path). Returns null if it
 * is not a well-formed response whose question is, uncompressed at offset
 * 12, the key's name, type and class (name compared case-insensitively).
 */
export function scanAnswer(msg: Buffer, nameLength: number, key: string): AnswerLayout | null {
  const questionLength = nameLength + 4;
  if (msg.length < HEADER + questionLength) return null;
  if ((msg[2] & 0x80) === 0) return null;
  const qd = (msg[4] << 8) | msg[5];
  if (qd !== 1) return null;
  // The stored question must be the key's (so a hit can copy the client's name bytes over it).
  for (let i = 0; i < questionLength; i++) {
    const c = msg[HEADER + i];
    // Only the name compares case-insensitively; label length bytes (≤ 63) are unaffected.
    const lower = i < nameLength && c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (lower !== key.charCodeAt(i)) return null;
  }
  const ancount = (msg[6] << 8) | msg[7];
  const nscount = (msg[8] << 8) | msg[9];
  const arcount = (msg[10] << 8) | msg[11];
  const layout: AnswerLayout = {
    rcode: msg[3] & 0x0f,
    truncated: (msg[2] & 0x02) !== 0,
    ancount,
    ttlOffsets: [],
    ttls: [],
    authorityStart: 0,
    authorityEnd: 0,
    soaNegativeTtl: -1,
    optRdlenOffset: -1,
    optLast: false,
  };
  let pos = HEADER + questionLength;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    if (i === ancount) layout.authorityStart = layout.ttlOffsets.length;
    if (i === ancount + nscount) layout.authorityEnd = layout.ttlOffsets.length;
    pos = skipName(msg, pos);
    if (pos < 0 || pos + 10 > msg.length) return null;
    const type = msg.readUInt16BE(pos);
    const ttlOffset = pos + 4;
    const rdlen = msg.readUInt16BE(pos + 8);
    const rdata = pos + 10;
    const end = rdata + rdlen;
    if (end > msg.length) return null;
    if (type === TYPE_OPT) {
      if (i < ancount + nscount || layout.optRdlenOffset >= 0) return null; // RFC 6891 §6.1.1: one OPT, additional section
      layout.optRdlenOffset = pos + 8;
      layout.optLast = end === msg.length;
    } else {
      // RFC 2181 §8: a TTL with the top bit set is treated as zero.
      const raw = msg.readUInt32BE(ttlOffset);
      const ttl = raw > 0x7fffffff ? 0 : raw;
      layout.ttlOffsets.push(ttlOffset);
      layout.ttls.push(ttl);
      if (type === TYPE_SOA && i >= ancount && i < ancount + nscount && layout.soaNegativeTtl < 0 && rdlen >= 22) {
        const minimum = msg.readUInt32BE(end - 4);
        layout.soaNegativeTtl = Math.min(ttl, minimum > 0x7fffffff ? 0 : minimum);
      }
    }
    pos = end;
  }
  if (total <= ancount) layout.authorityStart = layout.ttlOffsets.length;
  if (total <= ancount + nscount) layout.authorityEnd = layout.ttlOffsets.length;
  if (pos !== msg.length) return null; // trailing garbage: not ours to replay
  return layout;
}

/** Writes a 32-bit big-endian value without Buffer's bounds-check wrapper (offsets come from scanAnswer). */
export function writeU32(buf: Buffer, offset: number, value: number): void {
  buf[offset] = value >>> 24;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

// Minimal DNS wire helpers for the hot path (RFC 1035 §4.1). Only the header and
// the question are ever parsed; upstream answers are relayed byte-for-byte with
// just the 2 ID bytes patched.
import type { HeaderFlags } from '@ghostdns/contracts';

export const HEADER_LENGTH = 12;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED',
  6: 'YXDOMAIN', 7: 'YXRRSET', 8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE',
};

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

const QTYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV',
  35: 'NAPTR', 41: 'OPT', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 50: 'NSEC3', 64: 'SVCB',
  65: 'HTTPS', 99: 'SPF', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};

/** CoreDNS reports unknown types as "other"; keeps label cardinality bounded. */
export function qtypeLabel(qtype: number): string {
  return QTYPE_NAMES[qtype] ?? 'other';
}

export interface DnsHeader {
  id: number;
  qr: boolean;
  opcode: number;
  flags: HeaderFlags;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export interface DnsQuestion {
  /** Name as on the wire (case preserved), dotted, no trailing dot; '' for the root. */
  name: string;
  type: number;
  class: number;
  /** Offset just past the question in the message. */
  end: number;
}

/** Returns null when fewer than 12 bytes: nothing can be answered. */
export function readHeader(msg: Buffer): DnsHeader | null {
  if (msg.length < HEADER_LENGTH) return null;
  const b2 = msg[2] ?? 0;
  const b3 = msg[3] ?? 0;
  return {
    id: msg.readUInt16BE(0),
    qr: (b2 & 0x80) !== 0,
    opcode: (b2 >> 3) & 0x0f,
    flags: {
      qr: (b2 & 0x80) !== 0,
      aa: (b2 & 0x04) !== 0,
      tc: (b2 & 0x02) !== 0,
      rd: (b2 & 0x01) !== 0,
      ra: (b3 & 0x80) !== 0,
      ad: (b3 & 0x20) !== 0,
      cd: (b3 & 0x10) !== 0,
    },
    rcode: b3 & 0x0f,
    qdcount: msg.readUInt16BE(4),
    ancount: msg.readUInt16BE(6),
    nscount: msg.readUInt16BE(8),
    arcount: msg.readUInt16BE(10),
  };
}

const MAX_NAME_LENGTH = 255;
const MAX_POINTER_HOPS = 32;

/**
 * Reads the first question (RFC 1035 §4.1.2). Returns null when it is not
 * well formed (truncated, bad label type, name too long, pointer loop).
 */
export function readQuestion(msg: Buffer, offset = HEADER_LENGTH): DnsQuestion | null {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  let wireLength = 1;
  let hops = 0;
  for (;;) {
    if (pos >= msg.length) return null;
    const len = msg[pos] ?? 0;
    if (len === 0) {
      pos += 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= msg.length) return null;
      if (++hops > MAX_POINTER_HOPS) return null;
      const target = ((len & 0x3f) << 8) | (msg[pos + 1] ?? 0);
      if (end < 0) end = pos + 2;
      if (target >= pos) return null; // pointers only point backwards
      pos = target;
      continue;
    }
    if (kind !== 0) return null; // 0x40 / 0x80: obsolete or reserved label types
    if (pos + 1 + len > msg.length) return null;
    wireLength += len + 1;
    if (wireLength > MAX_NAME_LENGTH) return null;
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  if (end < 0) end = pos;
  if (end + 4 > msg.length) return null;
  return {
    name: labels.map(escapeLabel).join('.'),
    type: msg.readUInt16BE(end),
    class: msg.readUInt16BE(end + 2),
    end: end + 4,
  };
}

/** Presentation format (RFC 1035 §5.1) for the rare odd bytes; ordinary labels pass through. */
export function escapeLabel(label: string): string {
  if (!/[^\x21-\x7e]|[.\\]/.test(label)) return label;
  let out = '';
  for (const ch of label) {
    const code = ch.charCodeAt(0);
    if (ch === '.' || ch === '\\') out += `\\${ch}`;
    else if (code <= 0x20 || code >= 0x7f) out += `\\${code.toString().padStart(3, '0')}`;
    else out += ch;
  }
  return out;
}

/** Event/metrics form of a name: lower-case, no trailing dot, root is '.'. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return lower === '' ? '.' : lower;
}

/** Same question (RFC 5452 §9.1): name case-insensitively, type and class exactly. */
export function sameQuestion(a: DnsQuestion, b: DnsQuestion): boolean {
  return a.type === b.type && a.class === b.class && a.name.toLowerCase() === b.name.toLowerCase();
}

/** Copy of msg with the 16-bit ID replaced. */
export function withId(msg: Buffer, id: number): Buffer {
  const copy = Buffer.from(msg);
  copy.writeUInt16BE(id & 0xffff, 0);
  return copy;
}

/** Patches the 16-bit ID in place (the buffer must be ours). */
export function patchIdInPlace(msg: Buffer, id: number): Buffer {
  msg.writeUInt16BE(id & 0xffff, 0);
  return msg;
}

/**
 * A locally generated response with no records: the client's header (ID,
 * opcode, RD, CD) with QR set, RA set, the given rcode and, when the question
 * was readable, the question echoed back. EDNS is not echoed (RFC 6891 §7
 * allows the omission for FORMERR; for other locally generated errors the
 * client falls back as it would with any non-EDNS server).
 */
export function buildLocalResponse(query: Buffer, header: DnsHeader, question: DnsQuestion | null, rcode: number): Buffer {
  const qBytes = question ? query.subarray(HEADER_LENGTH, question.end) : Buffer.alloc(0);
  // A compressed question name would point outside the echoed bytes: do not echo it.
  const echo = question !== null && !hasPointer(qBytes, question) ? qBytes : Buffer.alloc(0);
  const out = Buffer.alloc(HEADER_LENGTH + echo.length);
  out.writeUInt16BE(header.id, 0);
  const b2 = 0x80 | ((header.opcode & 0x0f) << 3) | (header.flags.rd ? 0x01 : 0);
  const b3 = 0x80 | (header.flags.cd ? 0x10 : 0) | (rcode & 0x0f);
  out[2] = b2;
  out[3] = b3;
  out.writeUInt16BE(echo.length > 0 ? 1 : 0, 4);
  echo.copy(out, HEADER_LENGTH);
  return out;
}

function hasPointer(qBytes: Buffer, question: DnsQuestion): boolean {
  // A name without pointers is exactly the labels' length + 1 terminal byte + 4.
  let pos = 0;
  while (pos < qBytes.length) {
    const len = qBytes[pos] ?? 0;
    if (len === 0) return false;
    if ((len & 0xc0) !== 0) return true;
    pos += len + 1;
  }
  return question.end - HEADER_LENGTH !== qBytes.length;
}

/**
 * Offset just past the (possibly compressed) name at `pos`, or -1 when it runs
 * off the message or uses a reserved label type. A pointer ends the name, so
 * no loop is possible.
 */
export function skipName(msg: Buffer, pos: number): number {
  for (;;) {
    if (pos >= msg.length) return -1;
    const len = msg[pos] ?? 0;
    if (len === 0) return pos + 1;
    const kind = len & 0xc0;
    if (kind === 0xc0) return pos + 2 <= msg.length ? pos + 2 : -1;
    if (kind !== 0) return -1;
    pos += 1 + len;
  }
}

const TYPE_SOA = 6;
const TYPE_OPT = 41;

/**
 * How long a response may be reused: the lowest TTL in the answer and
 * authority sections; for a negative answer the SOA's min(TTL, MINIMUM)
 * (RFC 2308 §5). OPT is not a record and is skipped. null when the message has
 * no records to take a lifetime from, or cannot be walked.
 */
export function minResponseTtl(msg: Buffer): number | null {
  if (msg.length < HEADER_LENGTH) return null;
  const qdcount = msg.readUInt16BE(4);
  const records = msg.readUInt16BE(6) + msg.readUInt16BE(8);
  let pos = HEADER_LENGTH;
  for (let i = 0; i < qdcount; i++) {
    pos = skipName(msg, pos);
    if (pos < 0) return null;
    pos += 4;
  }
  let min = -1;
  for (let i = 0; i < records; i++) {
    pos = skipName(msg, pos);
    if (pos < 0 || pos + 10 > msg.length) return null;
    const type = msg.readUInt16BE(pos);
    // RFC 2181 §8: a TTL with the top bit set is read as zero.
    let ttl = msg.readUInt32BE(pos + 4);
    if (ttl > 0x7fffffff) ttl = 0;
    const rdlength = msg.readUInt16BE(pos + 8);
    const rdata = pos + 10;
    if (rdata + rdlength > msg.length) return null;
    if (type === TYPE_SOA && rdlength >= 22) ttl = Math.min(ttl, msg.readUInt32BE(rdata + rdlength - 4));
    if (type !== TYPE_OPT && (min < 0 || ttl < min)) min = ttl;
    pos = rdata + rdlength;
  }
  return min < 0 ? null : min;
}

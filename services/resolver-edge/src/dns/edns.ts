// EDNS(0) on the hot path (RFC 6891): read the client's OPT pseudo-RR without
// decoding the message, answer BADVERS for versions we do not speak, and fit
// an answer into what a UDP client can receive (RFC 6891 §7, RFC 2181 §9).
import type { ClientInfo } from './resolver.js';
import { HEADER_LENGTH, skipName, type DnsHeader, type DnsQuestion } from './wire.js';

export const OPT_TYPE = 41;
/** RFC 1035 §4.2.1: the limit for a client that did not send OPT. */
export const CLASSIC_UDP_SIZE = 512;
/**
 * Upper bound for UDP answers whatever the client advertises: the DNS flag
 * day 2020 value, which avoids IP fragmentation on common paths (RFC 9715).
 */
export const DEFAULT_UDP_SIZE_CAP = 1232;
/** Extended RCODE 16 (RFC 6891 §9): upper 8 bits 1 in the OPT TTL, lower 4 bits 0 in the header. */
export const RCODE_BADVERS = 16;

export type EdnsStatus =
  /** No OPT RR: a classic client. */
  | 'none'
  | 'ok'
  /** Version > 0: must be answered BADVERS (RFC 6891 §6.1.3). */
  | 'badvers'
  /** More than one OPT, OPT outside the additional section, non-root owner, or unreadable RRs (RFC 6891 §6.1.1). */
  | 'formerr';

export interface EdnsInfo {
  readonly status: EdnsStatus;
  /** The requestor's UDP payload size as sent (0 when absent). */
  readonly udpSize: number;
  readonly version: number;
  /** DO bit (RFC 3225). */
  readonly dnssecOk: boolean;
  /** Offset of the OPT RR in the message, -1 when absent. */
  readonly optOffset: number;
}

const NO_EDNS: EdnsInfo = Object.freeze({ status: 'none', udpSize: 0, version: 0, dnssecOk: false, optOffset: -1 });
const BAD_EDNS: EdnsInfo = Object.freeze({ status: 'formerr', udpSize: 0, version: 0, dnssecOk: false, optOffset: -1 });

/**
 * Reads the OPT RR of a message. Cheap for the common cases: a message with no
 * answer, authority or additional records returns at once without a walk;
 * otherwise each record is skipped by its length, names are never decoded.
 * `questionEnd` (from readQuestion) saves walking the question again.
 */
export function readEdns(msg: Buffer, header: DnsHeader, questionEnd = -1): EdnsInfo {
  if (header.arcount === 0 && header.ancount === 0 && header.nscount === 0) return NO_EDNS;
  let pos = questionEnd;
  if (pos < 0) {
    pos = HEADER_LENGTH;
    for (let i = 0; i < header.qdcount; i++) {
      pos = skipName(msg, pos);
      if (pos < 0 || pos + 4 > msg.length) return BAD_EDNS;
      pos += 4;
    }
  }
  const beforeAdditional = header.ancount + header.nscount;
  const total = beforeAdditional + header.arcount;
  let found: EdnsInfo = NO_EDNS;
  for (let i = 0; i < total; i++) {
    const start = pos;
    pos = skipName(msg, pos);
    if (pos < 0 || pos + 10 > msg.length) return BAD_EDNS;
    const type = msg.readUInt16BE(pos);
    const rdlength = msg.readUInt16BE(pos + 8);
    if (type === OPT_TYPE) {
      // Only one, only in the additional section, owned by the root (RFC 6891 §6.1.1).
      if (i < beforeAdditional || found !== NO_EDNS || pos !== start + 1 || msg[start] !== 0) return BAD_EDNS;
      const flagsHi = msg[pos + 6] ?? 0;
      const version = msg[pos + 5] ?? 0;
      found = {
        status: version === 0 ? 'ok' : 'badvers',
        udpSize: msg.readUInt16BE(pos + 2),
        version,
        dnssecOk: (flagsHi & 0x80) !== 0,
        optOffset: start,
      };
    }
    pos += 10 + rdlength;
    if (pos > msg.length) return BAD_EDNS;
  }
  return found;
}

/**
 * The largest UDP answer this client can take: 512 without EDNS, otherwise
 * its advertised size, never below 512 (RFC 6891 §6.2.5) and never above `cap`.
 */
export function maxUdpResponseSize(edns: EdnsInfo, cap = DEFAULT_UDP_SIZE_CAP): number {
  if (edns.status === 'none' || edns.status === 'formerr') return CLASSIC_UDP_SIZE;
  return Math.max(CLASSIC_UDP_SIZE, Math.min(edns.udpSize, Math.max(cap, CLASSIC_UDP_SIZE)));
}

/**
 * The response cut down to header, question and (when `keepOpt`) the OPT RR
 * with TC=1 when it does not fit into `maxSize`; the response itself otherwise.
 * The client is expected to retry over TCP (RFC 2181 §9, RFC 7766 §5); the OPT
 * is kept so it still learns our size and any extended RCODE (RFC 6891 §7).
 * Sections are never partially kept: a client must not cache a cut RRset.
 */
export function truncateForUdp(response: Buffer, maxSize: number, keepOpt = true): Buffer {
  if (response.length <= maxSize || response.length < HEADER_LENGTH) return response;
  const qdcount = response.readUInt16BE(4);
  const ancount = response.readUInt16BE(6);
  const nscount = response.readUInt16BE(8);
  const arcount = response.readUInt16BE(10);
  let pos = HEADER_LENGTH;
  for (let i = 0; i < qdcount; i++) {
    pos = skipName(response, pos);
    if (pos < 0 || pos + 4 > response.length) return minimalTruncated(response, HEADER_LENGTH, 0);
    pos += 4;
  }
  const questionEnd = pos;
  let opt: Buffer | null = null;
  if (keepOpt) {
    for (let i = 0; i < ancount + nscount + arcount; i++) {
      pos = skipName(response, pos);
      if (pos < 0 || pos + 10 > response.length) break;
      const rdlength = response.readUInt16BE(pos + 8);
      const end = pos + 10 + rdlength;
      if (end > response.length) break;
      if (i >= ancount + nscount && response.readUInt16BE(pos) === OPT_TYPE) {
        opt = response.subarray(pos, end); // without the owner name: re-emitted as the root
        break;
      }
      pos = end;
    }
  }
  const room = maxSize - questionEnd;
  if (opt !== null && 1 + opt.length > room) {
    // Options (cookies, padding ...) are the first to go; the bare OPT still tells the size.
    opt = 1 + 10 <= room ? Buffer.concat([opt.subarray(0, 8), Buffer.from([0, 0])]) : null;
  }
  const out = Buffer.allocUnsafe(questionEnd + (opt === null ? 0 : 1 + opt.length));
  response.copy(out, 0, 0, questionEnd);
  out[2] = (out[2] ?? 0) | 0x02;
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(opt === null ? 0 : 1, 10);
  if (opt !== null) {
    out[questionEnd] = 0;
    opt.copy(out, questionEnd + 1);
  }
  return out;
}

function minimalTruncated(response: Buffer, length: number, qdcount: number): Buffer {
  const out = Buffer.from(response.subarray(0, length));
  out[2] = (out[2] ?? 0) | 0x02;
  out.writeUInt16BE(qdcount, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

/**
 * What the UDP server sends: the response unchanged unless it is bigger than
 * the client can receive, then truncated with TC. Stream transports take
 * anything up to 65535 bytes. Costs nothing for answers of 512 bytes or less.
 */
export function fitForTransport(response: Buffer, query: Buffer, client: Pick<ClientInfo, 'transport'>, cap = DEFAULT_UDP_SIZE_CAP): Buffer {
  if (client.transport !== 'UDP' || response.length <= CLASSIC_UDP_SIZE || query.length < HEADER_LENGTH) return response;
  const edns = readEdns(query, {
    qdcount: query.readUInt16BE(4),
    ancount: query.readUInt16BE(6),
    nscount: query.readUInt16BE(8),
    arcount: query.readUInt16BE(10),
  } as DnsHeader);
  const hasOpt = edns.status === 'ok' || edns.status === 'badvers';
  return truncateForUdp(response, maxUdpResponseSize(edns, cap), hasOpt);
}

/**
 * BADVERS answer (RFC 6891 §6.1.3): header with RCODE 0 (the lower 4 bits of
 * 16), the question echoed, and our own OPT with version 0 and the upper 8
 * bits of the extended RCODE set to 1.
 */
export function buildBadversResponse(query: Buffer, header: DnsHeader, question: DnsQuestion, udpSize = DEFAULT_UDP_SIZE_CAP): Buffer {
  const qLen = question.end - HEADER_LENGTH;
  const out = Buffer.alloc(HEADER_LENGTH + qLen + 11);
  out.writeUInt16BE(header.id, 0);
  out[2] = 0x80 | ((header.opcode & 0x0f) << 3) | (header.flags.rd ? 0x01 : 0);
  out[3] = 0x80 | (header.flags.cd ? 0x10 : 0) | (RCODE_BADVERS & 0x0f);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 10);
  query.copy(out, HEADER_LENGTH, HEADER_LENGTH, question.end);
  let pos = HEADER_LENGTH + qLen;
  out[pos++] = 0; // root owner
  out.writeUInt16BE(OPT_TYPE, pos);
  out.writeUInt16BE(udpSize, pos + 2);
  out[pos + 4] = RCODE_BADVERS >> 4;
  out[pos + 5] = 0; // version 0: the one we speak
  out.writeUInt16BE(0, pos + 6);
  out.writeUInt16BE(0, pos + 8);
  return out;
}

// Answers for blocked names, built on the wire without a DNS library: a blocked
// answer is as common as a cache hit on an ad-heavy network.
import dnsPacket from 'dns-packet';
import type { ResolveRequest } from '../dns/resolver.js';
import { buildLocalResponse, HEADER_LENGTH, Rcode } from '../dns/wire.js';
import type { RpzRecord } from './rpz.js';

/** TTL of blocked answers and of the synthetic SOA: a removed block is honoured within a minute. */
export const BLOCKED_TTL = 60;

const TYPE_A = 1;
const TYPE_SOA = 6;
const TYPE_AAAA = 28;
const CLASS_IN = 1;

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter((l) => l.length > 0);
  const out = Buffer.alloc(parts.reduce((n, l) => n + l.length + 1, 1));
  let pos = 0;
  for (const label of parts) {
    out[pos++] = label.length;
    pos += out.write(label, pos, 'latin1');
  }
  return out;
}

/**
 * RDATA of the synthetic SOA (RFC 1035 §3.3.13) put in the authority section
 * of blocked NXDOMAIN/NODATA answers so downstream caches can cache the
 * negative answer for BLOCKED_TTL (RFC 2308 §3, §5). The names are under
 * .invalid (RFC 6761 §6.4) so it is never mistaken for a real zone's.
 */
const SOA_RDATA = (() => {
  const mname = encodeName('blocked.ghostdns.invalid');
  const rname = encodeName('hostmaster.ghostdns.invalid');
  const nums = Buffer.alloc(20);
  nums.writeUInt32BE(1, 0); // serial
  nums.writeUInt32BE(3600, 4); // refresh
  nums.writeUInt32BE(600, 8); // retry
  nums.writeUInt32BE(86_400, 12); // expire
  nums.writeUInt32BE(BLOCKED_TTL, 16); // minimum: the negative TTL
  return Buffer.concat([mname, rname, nums]);
})();

export type BlockResponse = 'nxdomain' | 'null' | 'refused';

/** True when the local response echoed the question at its original offset (so pointers into it are valid). */
function echoedQuestion(response: Buffer): boolean {
  return response.readUInt16BE(4) === 1;
}

function withRecord(base: Buffer, section: 'answer' | 'authority', rr: Buffer): Buffer {
  const out = Buffer.concat([base, rr]);
  out.writeUInt16BE(1, section === 'answer' ? 6 : 8);
  return out;
}

/** An RR whose owner is a compression pointer (RFC 1035 §4.1.4) into the echoed question. */
function rr(ownerOffset: number, type: number, rdata: Buffer): Buffer {
  const out = Buffer.alloc(12 + rdata.length);
  out.writeUInt16BE(0xc000 | ownerOffset, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt16BE(CLASS_IN, 4);
  out.writeUInt32BE(BLOCKED_TTL, 6);
  out.writeUInt16BE(rdata.length, 10);
  rdata.copy(out, 12);
  return out;
}

const NULL_V4 = Buffer.alloc(4);
const NULL_V6 = Buffer.alloc(16);

/**
 * The blocked answer: NXDOMAIN + synthetic SOA; null IP (0.0.0.0 for A, :: for
 * AAAA, NODATA + SOA for any other type); or REFUSED (no records).
 * `soaOwnerOffset` is the wire offset, inside the query's question, of the
 * name that matched (the SOA owner), so it costs two bytes.
 */
export function buildBlockedResponse(request: ResolveRequest, mode: BlockResponse, soaOwnerOffset: number): Buffer {
  const { query, header, question } = request;
  switch (mode) {
    case 'refused':
      return buildLocalResponse(query, header, question, Rcode.REFUSED);
    case 'nxdomain':
      return negative(request, Rcode.NXDOMAIN, soaOwnerOffset);
    case 'null': {
      if (question.type !== TYPE_A && question.type !== TYPE_AAAA) return negative(request, Rcode.NOERROR, soaOwnerOffset);
      const base = buildLocalResponse(query, header, question, Rcode.NOERROR);
      if (!echoedQuestion(base)) return base;
      return withRecord(base, 'answer', rr(HEADER_LENGTH, question.type, question.type === TYPE_A ? NULL_V4 : NULL_V6));
    }
  }
}

export function negative(request: ResolveRequest, rcode: number, soaOwnerOffset: number): Buffer {
  const base = buildLocalResponse(request.query, request.header, request.question, rcode);
  if (!echoedQuestion(base) || soaOwnerOffset < HEADER_LENGTH) return base;
  return withRecord(base, 'authority', rr(soaOwnerOffset, TYPE_SOA, SOA_RDATA));
}

const TYPE_NAMES: Record<number, RpzRecord['type']> = { 1: 'A', 28: 'AAAA', 5: 'CNAME', 16: 'TXT' };

/**
 * RPZ local data (off the hot path: dns-packet). Records of the query type
 * answer it; a CNAME answers any type (the caller may chase it); otherwise
 * NODATA. `extra` are records appended after (a chased CNAME's answers).
 */
export function buildLocalDataResponse(
  request: ResolveRequest,
  records: readonly RpzRecord[],
  extra: readonly dnsPacket.Answer[] = [],
  rcode: number = Rcode.NOERROR,
): Buffer {
  const decoded = dnsPacket.decode(request.query);
  const q = decoded.questions?.[0];
  const qname = q?.name ?? request.question.name;
  const wanted = TYPE_NAMES[request.question.type];
  const cname = records.find((r) => r.type === 'CNAME');
  const matching = cname !== undefined ? [cname] : records.filter((r) => r.type === wanted);
  const answers: dnsPacket.Answer[] = matching.map((r) => toAnswer(qname, r));
  const flags = (request.header.flags.rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE | (request.header.flags.cd ? dnsPacket.CHECKING_DISABLED : 0);
  return dnsPacket.encode({
    type: 'response',
    id: request.header.id,
    flags: flags | (rcode & 0x0f),
    questions: q !== undefined ? [q] : [],
    answers: [...answers, ...extra],
  });
}

function toAnswer(name: string, r: RpzRecord): dnsPacket.Answer {
  switch (r.type) {
    case 'A':
      return { type: 'A', name, ttl: r.ttl, data: String(r.data) };
    case 'AAAA':
      return { type: 'AAAA', name, ttl: r.ttl, data: String(r.data) };
    case 'CNAME':
      return { type: 'CNAME', name, ttl: r.ttl, data: String(r.data) };
    case 'TXT':
      return { type: 'TXT', name, ttl: r.ttl, data: Array.isArray(r.data) ? r.data : [r.data] };
  }
}

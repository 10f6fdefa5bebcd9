// Wire encoding of local answers. This is the slow path (dns-packet encodes
// the records): local answers are few and cheap next to a forwarded miss.
import dnsPacket from 'dns-packet';
import type { ResolveRequest } from '../dns/resolver.js';
import { HEADER_LENGTH } from '../dns/wire.js';
import type { LookupResult } from './store.js';
import type { ZoneRecord } from './zone-file.js';

export interface ClientEdns {
  udpPayloadSize: number;
  dnssecOk: boolean;
}

/** RFC 1035 §4.2.1: without EDNS a UDP answer is at most 512 bytes. */
const CLASSIC_UDP_LIMIT = 512;
/** What we advertise and honour at most over UDP (DNS Flag Day 2020: no fragmentation). */
export const EDNS_UDP_PAYLOAD = 1232;

/** The client's OPT record (RFC 6891), or null. Only called for local answers. */
export function readClientEdns(query: Buffer): ClientEdns | null {
  if (query.length < HEADER_LENGTH || query.readUInt16BE(10) === 0) return null;
  try {
    const packet = dnsPacket.decode(query);
    for (const rr of packet.additionals ?? []) {
      if (rr.type === 'OPT') return { udpPayloadSize: rr.udpPayloadSize, dnssecOk: (rr.flags & dnsPacket.DNSSEC_OK) !== 0 };
    }
  } catch {
    // An unreadable additional section is answered as if it had no OPT.
  }
  return null;
}

/** The client's question bytes, echoed verbatim (0x20 case included) when they hold no pointer. */
export function questionBytes(request: ResolveRequest): Buffer {
  const { query, question } = request;
  let pos = HEADER_LENGTH;
  for (;;) {
    const len = query[pos] ?? 0;
    if (len === 0) return query.subarray(HEADER_LENGTH, question.end);
    if ((len & 0xc0) !== 0) break;
    pos += len + 1;
  }
  const encoded = dnsPacket.encode({ type: 'query', questions: [{ name: question.name, type: 'A', class: 'IN' }] }).subarray(HEADER_LENGTH);
  encoded.writeUInt16BE(question.type, encoded.length - 4);
  encoded.writeUInt16BE(question.class, encoded.length - 2);
  return encoded;
}

/** Records of one section in wire form (dns-packet does not compress names). */
export function encodeRecords(records: readonly dnsPacket.Answer[]): Buffer {
  if (records.length === 0) return Buffer.alloc(0);
  return dnsPacket.encode({ type: 'response', answers: [...records] }).subarray(HEADER_LENGTH);
}

export interface HeaderBits {
  aa: boolean;
  tc: boolean;
  rcode: number;
}

/** Header for a response to `request`: its ID, opcode, RD and CD, with QR and RA set. */
export function responseHeader(request: ResolveRequest, bits: HeaderBits, counts: [number, number, number, number]): Buffer {
  const h = Buffer.alloc(HEADER_LENGTH);
  const { header } = request;
  h.writeUInt16BE(header.id, 0);
  h[2] = 0x80 | ((header.opcode & 0x0f) << 3) | (bits.aa ? 0x04 : 0) | (bits.tc ? 0x02 : 0) | (header.flags.rd ? 0x01 : 0);
  h[3] = 0x80 | (header.flags.cd ? 0x10 : 0) | (bits.rcode & 0x0f);
  h.writeUInt16BE(counts[0], 4);
  h.writeUInt16BE(counts[1], 6);
  h.writeUInt16BE(counts[2], 8);
  h.writeUInt16BE(counts[3], 10);
  return h;
}

function optRecord(edns: ClientEdns): dnsPacket.Answer {
  // RFC 3225 §3: DO is copied into the response.
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: EDNS_UDP_PAYLOAD,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: edns.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
    flag_do: edns.dnssecOk,
    options: [],
  };
}

/**
 * The full response for a lookup result. Over UDP it respects the client's
 * size (RFC 6891 §7, capped at 1232): first the additional section is dropped
 * (RFC 2181 §9: no TC for that), then everything, with TC set.
 */
export function encodeLookup(request: ResolveRequest, result: LookupResult, edns: ClientEdns | null): Buffer {
  const q = questionBytes(request);
  const opt = edns ? [optRecord(edns)] : [];
  const build = (answers: readonly ZoneRecord[], authorities: readonly ZoneRecord[], additionals: readonly ZoneRecord[], tc: boolean): Buffer => {
    const sections = [encodeRecords(answers), encodeRecords(authorities), encodeRecords([...additionals, ...opt])];
    const header = responseHeader(request, { aa: result.aa, tc, rcode: result.rcode }, [1, answers.length, authorities.length, additionals.length + opt.length]);
    return Buffer.concat([header, q, ...sections]);
  };
  const full = build(result.answers, result.authorities, result.additionals, false);
  if (request.client.transport !== 'UDP') return full;
  const limit = edns ? Math.min(Math.max(edns.udpPayloadSize, CLASSIC_UDP_LIMIT), EDNS_UDP_PAYLOAD) : CLASSIC_UDP_LIMIT;
  if (full.length <= limit) return full;
  const lean = build(result.answers, result.authorities, [], false);
  if (lean.length <= limit) return lean;
  return build([], [], [], true);
}

/** A response with no records and the given rcode (AXFR refusals, NOTAUTH). */
export function encodeEmpty(request: ResolveRequest, rcode: number, aa = false): Buffer {
  const q = questionBytes(request);
  return Buffer.concat([responseHeader(request, { aa, tc: false, rcode }, [1, 0, 0, 0]), q]);
}

// A compact binary record of one answered query: what QueryEventProducer.build
// reads, written on the answer thread into a reusable buffer with no object
// allocation, and turned into a QueryEvent on the event thread. Little-endian,
// length-prefixed, never leaves the process (the contract on the bus is Avro).
import type { CacheStatus, DnsTransport, PolicyAction, QueryEvent } from '@ghostdns/contracts';
import type { DeviceIdentityLookup } from '../device-identity.js';
import type { AnsweredQuery } from '../dns/handler.js';
import { normalizeName } from '../dns/wire.js';

export const TRANSPORTS = ['UDP', 'TCP', 'DOT', 'DOH'] as const satisfies readonly DnsTransport[];
export const CACHE_STATUSES = ['HIT', 'MISS', 'STALE', 'PREFETCH', 'NONE', 'UNKNOWN'] as const satisfies readonly CacheStatus[];
export const POLICY_ACTIONS = [
  'PASS', 'BLOCKED', 'ALLOWLISTED', 'REFUSED', 'RATE_LIMITED', 'LOCAL_DATA',
] as const satisfies readonly PolicyAction[];

const HAS_QUESTION = 1;
const HAS_UPSTREAM = 2;
const HAS_UPSTREAM_LATENCY = 4;
const HAS_HEADER = 8;

const FIXED_BYTES = 44;
/** IP text (45 for IPv6 with an IPv4 tail), a presentation name with escapes (4 × 255), an upstream label. */
const MAX_CLIENT_BYTES = 64;
const MAX_NAME_BYTES = 1024;
const MAX_UPSTREAM_BYTES = 255;
export const MAX_ANSWER_RECORD_BYTES = FIXED_BYTES + 1 + MAX_CLIENT_BYTES + 2 + MAX_NAME_BYTES + 1 + MAX_UPSTREAM_BYTES;

function indexOf<T extends string>(table: readonly T[], value: T): number {
  const i = table.indexOf(value);
  return i < 0 ? 0 : i;
}

/** Writes `text` as UTF-8 after a length field of `lengthBytes`, cut at `max` bytes; returns the next offset. */
function writeText(buf: Buffer, offset: number, text: string, lengthBytes: 1 | 2, max: number): number {
  const start = offset + lengthBytes;
  const written = buf.write(text, start, Math.min(max, buf.length - start), 'utf8');
  if (lengthBytes === 1) buf[offset] = written;
  else buf.writeUInt16LE(written, offset);
  return start + written;
}

/**
 * Appends the record of one answer at `offset` (the caller guarantees
 * MAX_ANSWER_RECORD_BYTES of room) and returns the offset after it.
 */
export function writeAnswerRecord(buf: Buffer, offset: number, answer: AnsweredQuery, responseTimeUs: number): number {
  const response = answer.response;
  const question = answer.question;
  let bits = 0;
  if (question !== null) bits |= HAS_QUESTION;
  if (answer.upstream !== null) bits |= HAS_UPSTREAM;
  if (answer.upstreamLatencyUs !== null) bits |= HAS_UPSTREAM_LATENCY;
  if (response.length >= 12) bits |= HAS_HEADER;
  buf[offset + 2] = indexOf(TRANSPORTS, answer.client.transport);
  buf[offset + 3] = indexOf(CACHE_STATUSES, answer.cacheStatus);
  buf[offset + 4] = indexOf(POLICY_ACTIONS, answer.policyAction);
  buf[offset + 5] = bits;
  buf.writeUInt16LE(answer.client.port & 0xffff, offset + 6);
  buf.writeDoubleLE(answer.queryTimeUs, offset + 8);
  buf.writeDoubleLE(responseTimeUs, offset + 16);
  buf.writeDoubleLE(answer.upstreamLatencyUs ?? 0, offset + 24);
  buf.writeUInt16LE(question === null ? 0 : question.type, offset + 32);
  buf.writeUInt16LE(question === null ? 0 : question.class, offset + 34);
  // Header bytes 2-3 (flags, opcode, rcode) and ANCOUNT, copied as they are on the wire.
  buf.writeUInt16LE(response.length >= 12 ? response.readUInt16BE(2) : 0, offset + 36);
  buf.writeUInt16LE(response.length >= 12 ? response.readUInt16BE(6) : 0, offset + 38);
  buf.writeUInt32LE(response.length, offset + 40);
  let at = writeText(buf, offset + FIXED_BYTES, answer.client.address, 1, MAX_CLIENT_BYTES);
  at = writeText(buf, at, question === null ? '' : question.name, 2, MAX_NAME_BYTES);
  at = writeText(buf, at, answer.upstream ?? '', 1, MAX_UPSTREAM_BYTES);
  buf.writeUInt16LE(at - offset, offset);
  return at;
}

/** Identity the event thread stamps on every event. */
export interface EventIdentity {
  node: { id: string; pop: string };
  newEventId(): string;
}

/**
 * Decodes the records in buf[0, length) into QueryEvents, exactly as
 * QueryEventProducer.build would have built them with the same `devices`. A
 * record whose length field is impossible ends the batch (the rest is counted
 * by the caller as lost).
 */
export function readAnswerRecords(
  buf: Buffer, length: number, identity: EventIdentity, devices: DeviceIdentityLookup, out: QueryEvent[],
): number {
  let offset = 0;
  let read = 0;
  while (offset + FIXED_BYTES <= length) {
    const size = buf.readUInt16LE(offset);
    if (size < FIXED_BYTES + 4 || offset + size > length) break;
    const bits = buf[offset + 5] ?? 0;
    const flagsWord = buf.readUInt16LE(offset + 36);
    const hasHeader = (bits & HAS_HEADER) !== 0;
    let at = offset + FIXED_BYTES;
    const clientLength = buf[at] ?? 0;
    const client = buf.toString('utf8', at + 1, at + 1 + clientLength);
    at += 1 + clientLength;
    const nameLength = buf.readUInt16LE(at);
    const name = buf.toString('utf8', at + 2, at + 2 + nameLength);
    at += 2 + nameLength;
    const upstreamLength = buf[at] ?? 0;
    const upstream = buf.toString('utf8', at + 1, at + 1 + upstreamLength);
    const hasQuestion = (bits & HAS_QUESTION) !== 0;
    out.push({
      event_id: identity.newEventId(),
      node_id: identity.node.id,
      pop: identity.node.pop,
      source: 'RESOLVER_EDGE',
      message_type: 'CLIENT_RESPONSE',
      query_time_us: buf.readDoubleLE(offset + 8),
      response_time_us: buf.readDoubleLE(offset + 16),
      client_ip: client,
      client_port: buf.readUInt16LE(offset + 6),
      transport: TRANSPORTS[buf[offset + 2] ?? 0] ?? 'UDP',
      qname: hasQuestion ? normalizeName(name) : '',
      qtype: hasQuestion ? buf.readUInt16LE(offset + 32) : 0,
      qclass: hasQuestion ? buf.readUInt16LE(offset + 34) : 0,
      rcode: hasHeader ? flagsWord & 0x0f : null,
      flags: hasHeader ? headerFlagsOf(flagsWord) : { qr: true, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false },
      answer_count: hasHeader ? buf.readUInt16LE(offset + 38) : 0,
      response_size: buf.readUInt32LE(offset + 40),
      cache_status: CACHE_STATUSES[buf[offset + 3] ?? 0] ?? 'UNKNOWN',
      upstream: (bits & HAS_UPSTREAM) !== 0 ? upstream : null,
      upstream_latency_us: (bits & HAS_UPSTREAM_LATENCY) !== 0 ? buf.readDoubleLE(offset + 24) : null,
      policy_action: POLICY_ACTIONS[buf[offset + 4] ?? 0] ?? 'PASS',
      device: devices.identityFor(client),
      query_wire: null,
      response_wire: null,
    });
    offset += size;
    read++;
  }
  return read;
}

/** RFC 1035 §4.1.1 bits of header bytes 2-3 (AD and CD: RFC 4035 §3.2). */
function headerFlagsOf(word: number): QueryEvent['flags'] {
  return {
    qr: (word & 0x8000) !== 0,
    aa: (word & 0x0400) !== 0,
    tc: (word & 0x0200) !== 0,
    rd: (word & 0x0100) !== 0,
    ra: (word & 0x0080) !== 0,
    ad: (word & 0x0020) !== 0,
    cd: (word & 0x0010) !== 0,
  };
}

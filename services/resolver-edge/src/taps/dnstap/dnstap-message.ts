// Decoding one dnstap payload (the bytes of one Frame Streams data frame)
// with protobufjs reflection over the checked-in dnstap.proto. The schema is
// parsed once, at module load; protobufjs compiles a decoder for it on first
// use. Bytes fields come back as views of the frame (no copies).
import { readFileSync } from 'node:fs';
import type { DnstapMessageType } from '@ghostdns/contracts';
import protobuf from 'protobufjs';

const schema = protobuf.parse(readFileSync(new URL('./dnstap.proto', import.meta.url), 'utf8'), { keepCase: true }).root;
const DnstapProto = schema.lookupType('dnstap.Dnstap');

/** Message.Type numbers (dnstap.proto) to the contract's names, which are the same. */
const MESSAGE_TYPES: readonly (DnstapMessageType | undefined)[] = [
  undefined,
  'AUTH_QUERY', 'AUTH_RESPONSE',
  'RESOLVER_QUERY', 'RESOLVER_RESPONSE',
  'CLIENT_QUERY', 'CLIENT_RESPONSE',
  'FORWARDER_QUERY', 'FORWARDER_RESPONSE',
  'STUB_QUERY', 'STUB_RESPONSE',
  'TOOL_QUERY', 'TOOL_RESPONSE',
  'UPDATE_QUERY', 'UPDATE_RESPONSE',
];

/** dnstap.proto SocketProtocol. */
export const SocketProtocol = {
  UDP: 1, TCP: 2, DOT: 3, DOH: 4, DNSCryptUDP: 5, DNSCryptTCP: 6, DOQ: 7,
} as const;

/** dnstap.proto SocketFamily. */
export const SocketFamily = { INET: 1, INET6: 2 } as const;

/** The fields of one dnstap Message the tap uses; absent optional fields are null. */
export interface DnstapMessage {
  /** Dnstap.identity as text (latin1: servers send ASCII host names). */
  identity: string | null;
  type: DnstapMessageType;
  socketFamily: number | null;
  socketProtocol: number | null;
  queryAddress: Buffer | null;
  queryPort: number | null;
  responseAddress: Buffer | null;
  responsePort: number | null;
  /** query_time_sec/nsec in microseconds since the epoch. */
  queryTimeUs: number | null;
  responseTimeUs: number | null;
  queryMessage: Buffer | null;
  responseMessage: Buffer | null;
}

export type DnstapDecodeResult =
  | { ok: true; message: DnstapMessage }
  | { ok: false; reason: 'bad_protobuf' | 'not_a_message' | 'unknown_message_type'; detail: string };

type Decoded = Record<string, unknown>;

// protobufjs sets own properties only for fields present on the wire; absent
// ones read through to prototype defaults, which must not be taken as data.
function own(obj: Decoded, field: string): unknown {
  return Object.hasOwn(obj, field) ? obj[field] : undefined;
}

function bytesField(obj: Decoded, field: string): Buffer | null {
  const v = own(obj, field);
  return Buffer.isBuffer(v) ? v : null;
}

function numberField(obj: Decoded, field: string): number | null {
  const v = own(obj, field);
  return typeof v === 'number' ? v : null;
}

/** uint64 seconds come back as a Long ({low, high}) when protobufjs finds the `long` package, else as a number. */
function uint64Field(obj: Decoded, field: string): number | null {
  const v = own(obj, field);
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v && typeof v.low === 'number' && typeof v.high === 'number') {
    return (v.high >>> 0) * 2 ** 32 + (v.low >>> 0);
  }
  return null;
}

function timeUs(obj: Decoded, secField: string, nsecField: string): number | null {
  const sec = uint64Field(obj, secField);
  if (sec === null) return null;
  return sec * 1_000_000 + Math.floor((numberField(obj, nsecField) ?? 0) / 1_000);
}

/** Decodes one dnstap payload. Never throws: what cannot be used comes back with a reason. */
export function decodeDnstap(payload: Buffer): DnstapDecodeResult {
  let top: Decoded;
  try {
    top = DnstapProto.decode(payload) as unknown as Decoded;
  } catch (err) {
    return { ok: false, reason: 'bad_protobuf', detail: err instanceof Error ? err.message : String(err) };
  }
  // Dnstap.Type MESSAGE (1) is the only payload defined so far.
  const message = own(top, 'message');
  if (numberField(top, 'type') !== 1 || typeof message !== 'object' || message === null) {
    return { ok: false, reason: 'not_a_message', detail: `Dnstap.type ${String(own(top, 'type'))} without a Message` };
  }
  const m = message as Decoded;
  const typeNumber = numberField(m, 'type') ?? 0;
  const type = MESSAGE_TYPES[typeNumber];
  if (type === undefined) return { ok: false, reason: 'unknown_message_type', detail: `Message.type ${typeNumber}` };
  const identity = bytesField(top, 'identity');
  return {
    ok: true,
    message: {
      identity: identity !== null && identity.length > 0 ? identity.toString('latin1') : null,
      type,
      socketFamily: numberField(m, 'socket_family'),
      socketProtocol: numberField(m, 'socket_protocol'),
      queryAddress: bytesField(m, 'query_address'),
      queryPort: numberField(m, 'query_port'),
      responseAddress: bytesField(m, 'response_address'),
      responsePort: numberField(m, 'response_port'),
      queryTimeUs: timeUs(m, 'query_time_sec', 'query_time_nsec'),
      responseTimeUs: timeUs(m, 'response_time_sec', 'response_time_nsec'),
      queryMessage: bytesField(m, 'query_message'),
      responseMessage: bytesField(m, 'response_message'),
    },
  };
}

/** Encodes a dnstap payload from plain field values (tests, benchmarks, fixtures). */
export function encodeDnstap(fields: {
  identity?: string;
  type: DnstapMessageType;
  socketFamily?: number;
  socketProtocol?: number;
  queryAddress?: Buffer;
  queryPort?: number;
  responseAddress?: Buffer;
  responsePort?: number;
  queryTimeUs?: number;
  responseTimeUs?: number;
  queryMessage?: Buffer;
  responseMessage?: Buffer;
}): Buffer {
  const m: Record<string, unknown> = { type: MESSAGE_TYPES.indexOf(fields.type) };
  const set = (name: string, v: unknown): void => {
    if (v !== undefined) m[name] = v;
  };
  set('socket_family', fields.socketFamily);
  set('socket_protocol', fields.socketProtocol);
  set('query_address', fields.queryAddress);
  set('query_port', fields.queryPort);
  set('response_address', fields.responseAddress);
  set('response_port', fields.responsePort);
  if (fields.queryTimeUs !== undefined) {
    m.query_time_sec = Math.floor(fields.queryTimeUs / 1e6);
    m.query_time_nsec = (fields.queryTimeUs % 1e6) * 1000;
  }
  if (fields.responseTimeUs !== undefined) {
    m.response_time_sec = Math.floor(fields.responseTimeUs / 1e6);
    m.response_time_nsec = (fields.responseTimeUs % 1e6) * 1000;
  }
  set('query_message', fields.queryMessage);
  set('response_message', fields.responseMessage);
  const top: Record<string, unknown> = { type: 1, message: m };
  if (fields.identity !== undefined) top.identity = Buffer.from(fields.identity, 'latin1');
  return Buffer.from(DnstapProto.encode(DnstapProto.fromObject(top)).finish());
}

import { isIP } from 'node:net';
import { getDomain } from 'tldts';
import {
  dnsClassName,
  dnsTypeName,
  rcodeName,
  type CacheStatus,
  type DnsTransport,
  type DeviceIdentity,
  type DnstapMessageType,
  type HeaderFlags,
  type PolicyAction,
  type QueryEvent,
  type QueryEventSource,
} from '@ghostdns/contracts';
import {
  checks,
  EventMapper,
  hasKey,
  isIntIn,
  NUL_RE,
  PRESENCE_SOURCE_IDS,
  reasonList,
  UUID_RE,
  type Checks,
} from './mapping.js';
import type { DnsQueryRow } from './row.js';

/** Why an event was refused. Bounded set: used as a metric label. */
export type RejectReason =
  | 'invalid_event_id'
  | 'invalid_node'
  | 'invalid_enum'
  | 'invalid_query_time'
  | 'invalid_response_time'
  | 'response_before_query'
  | 'latency_out_of_range'
  | 'invalid_client_ip'
  | 'invalid_client_port'
  | 'empty_qname'
  | 'invalid_qname'
  | 'invalid_qtype'
  | 'invalid_qclass'
  | 'invalid_rcode'
  | 'invalid_flags'
  | 'invalid_count'
  | 'invalid_upstream'
  | 'invalid_wire'
  | 'invalid_device';

export const REJECT_REASONS = reasonList<RejectReason>({
  invalid_event_id: true,
  invalid_node: true,
  invalid_enum: true,
  invalid_query_time: true,
  invalid_response_time: true,
  response_before_query: true,
  latency_out_of_range: true,
  invalid_client_ip: true,
  invalid_client_port: true,
  empty_qname: true,
  invalid_qname: true,
  invalid_qtype: true,
  invalid_qclass: true,
  invalid_rcode: true,
  invalid_flags: true,
  invalid_count: true,
  invalid_upstream: true,
  invalid_wire: true,
  invalid_device: true,
});

const reject: Checks<RejectReason>['reject'] = checks.reject;
const text: Checks<RejectReason>['text'] = checks.text;
const textOrEmpty: Checks<RejectReason>['textOrEmpty'] = checks.textOrEmpty;
const timestamp: Checks<RejectReason>['timestamp'] = checks.timestamp;
const ipAddress: Checks<RejectReason>['ip'] = checks.ip;

/** Order in which set header flags are written to the `flags` column. */
export const FLAG_ORDER: readonly (keyof HeaderFlags)[] = ['qr', 'aa', 'tc', 'rd', 'ra', 'ad', 'cd'];

const INT4_MAX = 2_147_483_647;
const UINT16_MAX = 65_535;
const RCODE_MAX = 4_095; // 12-bit extended RCODE (RFC 6891)
const QNAME_MAX_CHARS = 1_024; // presentation form incl. \DDD escapes of a 255-octet name
const SOURCES: Record<QueryEventSource, true> = { RESOLVER_EDGE: true, DNSTAP: true, BIND_QUERYLOG: true };
const TRANSPORTS: Record<DnsTransport, true> = { UDP: true, TCP: true, DOT: true, DOH: true };
const CACHE_STATUSES: Record<CacheStatus, true> = {
  HIT: true, MISS: true, STALE: true, PREFETCH: true, NONE: true, UNKNOWN: true,
};
const POLICY_ACTIONS: Record<PolicyAction, true> = {
  PASS: true, BLOCKED: true, ALLOWLISTED: true, REFUSED: true, RATE_LIMITED: true, LOCAL_DATA: true,
};
const MESSAGE_TYPES: Record<DnstapMessageType, true> = {
  AUTH_QUERY: true, AUTH_RESPONSE: true,
  RESOLVER_QUERY: true, RESOLVER_RESPONSE: true,
  CLIENT_QUERY: true, CLIENT_RESPONSE: true,
  FORWARDER_QUERY: true, FORWARDER_RESPONSE: true,
  STUB_QUERY: true, STUB_RESPONSE: true,
  TOOL_QUERY: true, TOOL_RESPONSE: true,
  UPDATE_QUERY: true, UPDATE_RESPONSE: true,
};
/** Cache statuses that mean the answer came from the cache. */
const CACHED: ReadonlySet<CacheStatus> = new Set<CacheStatus>(['HIT', 'STALE']);

function wire(value: unknown, field: string): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return reject('invalid_wire', field, value);
}

/** `qr rd ra`-style text of the set flags, always in FLAG_ORDER; empty when none is set. */
export function formatFlags(flags: HeaderFlags): string {
  return FLAG_ORDER.filter((name) => flags[name]).join(' ');
}

/**
 * Registrable domain ("apex") of a DNS name using the Public Suffix List,
 * private section included (foo.github.io stays foo.github.io, host.tailnet.ts.net
 * becomes tailnet.ts.net, i.e. the tailnet). Falls back to the name itself
 * for single labels, IP literals, and names that are themselves a public suffix.
 */
export function apexDomain(name: string): string {
  if (name === '.' || isIP(name) !== 0) return name;
  const domain = getDomain(name, { allowPrivateDomains: true, extractHostname: false });
  return domain === null || domain === '' ? name : domain;
}

/** Normalises a qname to the contract's form: lower-case, no trailing dot. */
function normaliseQname(value: unknown): string {
  if (typeof value !== 'string') return reject('invalid_qname', 'qname', value);
  // The contract writes the root as '.' (`. NS` priming queries, `. DNSKEY`): a real name, kept as is.
  if (value === '.') return '.';
  const name = value.endsWith('.') ? value.slice(0, -1).toLowerCase() : value.toLowerCase();
  if (name.length === 0) reject('empty_qname', 'qname', value);
  if (name.length > QNAME_MAX_CHARS || NUL_RE.test(name) || /\s/.test(name) || name.includes('..') || name.startsWith('.')) {
    reject('invalid_qname', 'qname', value);
  }
  return name;
}

function headerFlags(value: unknown): HeaderFlags {
  if (typeof value !== 'object' || value === null) return reject('invalid_flags', 'flags', value);
  const record = value as Record<string, unknown>;
  for (const name of FLAG_ORDER) {
    if (typeof record[name] !== 'boolean') reject('invalid_flags', `flags.${name}`, record[name]);
  }
  return value as HeaderFlags;
}

/** The event's own object once valid: the row reads its fields, nothing is copied. */
function deviceIdentity(value: unknown): DeviceIdentity | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return reject('invalid_device', 'device', value);
  const { source, device_id, name } = value as Record<string, unknown>;
  if (!hasKey(PRESENCE_SOURCE_IDS, source)) reject('invalid_device', 'device.source', source);
  text(device_id, 'device.device_id', 'invalid_device');
  textOrEmpty(name, 'device.name', 'invalid_device');
  return value as DeviceIdentity;
}

/** Pure QueryEvent -> dns_queries row mapping (see EventMapper: rejections, never throws). */
export class QueryEventMapper extends EventMapper<QueryEvent, DnsQueryRow, RejectReason> {
  protected toRow(event: QueryEvent): DnsQueryRow {
    if (typeof event !== 'object' || event === null) reject('invalid_event_id', 'event', event);
    if (typeof event.event_id !== 'string' || !UUID_RE.test(event.event_id)) reject('invalid_event_id', 'event_id', event.event_id);
    const nodeId = text(event.node_id, 'node_id', 'invalid_node');
    const pop = text(event.pop, 'pop', 'invalid_node');
    if (!hasKey(SOURCES, event.source)) reject('invalid_enum', 'source', event.source);
    if (!hasKey(MESSAGE_TYPES, event.message_type)) reject('invalid_enum', 'message_type', event.message_type);
    if (!hasKey(TRANSPORTS, event.transport)) reject('invalid_enum', 'transport', event.transport);
    if (!hasKey(CACHE_STATUSES, event.cache_status)) reject('invalid_enum', 'cache_status', event.cache_status);
    if (!hasKey(POLICY_ACTIONS, event.policy_action)) reject('invalid_enum', 'policy_action', event.policy_action);

    const queriedAt = timestamp(event.query_time_us, 'query_time_us', 'invalid_query_time');
    let responseTime: string | null = null;
    let latencyUs: number | null = null;
    if (event.response_time_us !== null && event.response_time_us !== undefined) {
      responseTime = timestamp(event.response_time_us, 'response_time_us', 'invalid_response_time');
      latencyUs = event.response_time_us - event.query_time_us;
      if (latencyUs < 0) reject('response_before_query', 'latency_us', latencyUs);
      if (latencyUs > INT4_MAX) reject('latency_out_of_range', 'latency_us', latencyUs);
    }

    const ip = ipAddress(event.client_ip, 'client_ip', 'invalid_client_ip');
    if (!isIntIn(event.client_port, 0, UINT16_MAX)) reject('invalid_client_port', 'client_port', event.client_port);
    const domain = normaliseQname(event.qname);
    if (!isIntIn(event.qtype, 0, UINT16_MAX)) reject('invalid_qtype', 'qtype', event.qtype);
    if (!isIntIn(event.qclass, 0, UINT16_MAX)) reject('invalid_qclass', 'qclass', event.qclass);
    const rcode = event.rcode ?? null;
    if (rcode !== null && !isIntIn(rcode, 0, RCODE_MAX)) reject('invalid_rcode', 'rcode', rcode);
    const flags = headerFlags(event.flags);
    if (!isIntIn(event.answer_count, 0, UINT16_MAX)) reject('invalid_count', 'answer_count', event.answer_count);
    if (!isIntIn(event.response_size, 0, INT4_MAX)) reject('invalid_count', 'response_size', event.response_size);
    const upstream = event.upstream ?? null;
    if (upstream !== null) text(upstream, 'upstream', 'invalid_upstream');
    const upstreamLatency = event.upstream_latency_us ?? null;
    if (upstreamLatency !== null && !isIntIn(upstreamLatency, 0, INT4_MAX)) {
      reject('latency_out_of_range', 'upstream_latency_us', upstreamLatency);
    }
    const device = deviceIdentity(event.device);

    return {
      queried_at: queriedAt,
      event_id: event.event_id.toLowerCase(),
      node_id: nodeId,
      pop,
      source: event.source,
      message_type: event.message_type,
      client_ip: ip,
      client_port: event.client_port,
      transport: event.transport,
      domain,
      apex_domain: apexDomain(domain),
      qtype: dnsTypeName(event.qtype),
      qclass: dnsClassName(event.qclass),
      flags: formatFlags(flags),
      response_rcode: rcode === null ? null : rcodeName(rcode),
      cached: CACHED.has(event.cache_status),
      cache_status: event.cache_status,
      response_time: responseTime,
      latency_us: latencyUs,
      answer_count: event.answer_count,
      response_size: event.response_size,
      upstream,
      upstream_latency_us: upstreamLatency,
      policy_action: event.policy_action,
      query_wire: wire(event.query_wire, 'query_wire'),
      response_wire: wire(event.response_wire, 'response_wire'),
      // The contract's '' (a device published under no name) is kept: NULL means no device.
      device_source: device === null ? null : PRESENCE_SOURCE_IDS[device.source],
      device_id: device === null ? null : device.device_id,
      device_name: device === null ? null : device.name,
    };
  }
}

// dnstap messages -> QueryEvents, one event per query.
//
// A server logs the two ends of an exchange as separate messages (dnstap.proto
// Message.Type): CLIENT_QUERY when a client's query arrives and CLIENT_RESPONSE
// when the answer leaves (AUTH_* on an authoritative-only BIND view, UPDATE_*
// for RFC 2136 updates); RESOLVER_QUERY/RESPONSE and FORWARDER_QUERY/RESPONSE
// for its own queries upstream. Pairing:
//   - a *_RESPONSE becomes the event (it carries the rcode and, with most
//     servers, the query time too); the matching *_QUERY, if one was logged,
//     only fills what the response lacks (query time, question);
//   - a *_QUERY whose response has not come within `pairTimeoutMs` (or that is
//     pushed out of the bounded table) becomes an event of its own, rcode null;
//   - a *_QUERY arriving after its response (servers log from several threads)
//     finds the response's tombstone and is dropped.
// Matching key: the side (client-facing CLIENT_/AUTH_/UPDATE_, or upstream
// RESOLVER_/FORWARDER_), server identity, the initiator's address and port, the
// socket protocol and the DNS ID (upstream side: also the responder's address
// and port) — fields both messages carry. The side, not the type, pairs: BIND
// 9.18 with `recursion no` logs AUTH_QUERY and then CLIENT_RESPONSE when the
// query had RD set (AUTH_RESPONSE without RD).
import { hash } from 'node:crypto';
import type { DnsTransport, DnstapMessageType, QueryEvent } from '@ghostdns/contracts';
import ipaddr from 'ipaddr.js';
import { noDeviceIdentities, type DeviceIdentityLookup } from '../../device-identity.js';
import { formatHostPort } from '../../dns/address.js';
import { normalizeName, readHeader, readQuestion, type DnsHeader, type DnsQuestion } from '../../dns/wire.js';
import { decodeDnstap, SocketProtocol, type DnstapMessage } from './dnstap-message.js';
import { noopDnstapMetrics, type DnstapMetrics, type DnstapSkipReason } from './metrics.js';

export interface DnstapSkip {
  reason: DnstapSkipReason;
  detail: string;
}

export interface DnstapEventBuilderOptions {
  /** node.id (used when a message has no identity) and node.pop of the events. */
  node: { id: string; pop: string };
  /** Receives each event as it is decided; must not throw. */
  emit: (event: QueryEvent) => void;
  /** Told about every frame or message that did not become an event, and why (already counted in metrics). */
  onSkip?: (skip: DnstapSkip) => void;
  /** How long a query waits for its response before it is an event of its own (default 5000 ms). */
  pairTimeoutMs?: number;
  /** Most queries (and response tombstones) kept for pairing (default 100 000); the oldest leave first. */
  maxPending?: number;
  /**
   * 'wall': time is Date.now() (a live tap; call expire() from a timer).
   * 'message': time is the latest message timestamp seen (reading a file), so a
   * replay pairs as the live tap did; expiry runs as the file advances.
   */
  clock?: 'wall' | 'message';
  /** Attach query_message/response_message as query_wire/response_wire (config dns.eventWire). */
  eventWire?: boolean;
  /** Who is behind a client address (VPN devices) when the event is built; default: nobody. */
  devices?: DeviceIdentityLookup;
  metrics?: DnstapMetrics;
}

/** A logged query waiting for its response: a private copy of its frame, decoded again only if needed. */
interface PendingQuery {
  frame: Buffer;
  queryTimeUs: number | null;
  deadlineUs: number;
}

type PairEntry =
  | { kind: 'queries'; queries: PendingQuery[] }
  | { kind: 'answered'; deadlineUs: number };

type Side = 'client' | 'upstream';

interface TypeInfo {
  side: Side;
  isQuery: boolean;
}

const TYPE_INFO: Partial<Record<DnstapMessageType, TypeInfo>> = {
  CLIENT_QUERY: { side: 'client', isQuery: true },
  CLIENT_RESPONSE: { side: 'client', isQuery: false },
  AUTH_QUERY: { side: 'client', isQuery: true },
  AUTH_RESPONSE: { side: 'client', isQuery: false },
  UPDATE_QUERY: { side: 'client', isQuery: true },
  UPDATE_RESPONSE: { side: 'client', isQuery: false },
  RESOLVER_QUERY: { side: 'upstream', isQuery: true },
  RESOLVER_RESPONSE: { side: 'upstream', isQuery: false },
  FORWARDER_QUERY: { side: 'upstream', isQuery: true },
  FORWARDER_RESPONSE: { side: 'upstream', isQuery: false },
};

const EXPIRE_EVERY_FRAMES = 1024;

/** RFC 9562 §5.8 UUIDv8 from the first 16 bytes of SHA-256(frame): the same frame always gives the same event_id. */
export function frameEventId(frame: Buffer): string {
  const h = hash('sha256', frame, 'buffer');
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * dnstap address bytes (4 = IPv4, 16 = IPv6 per dnstap.proto) as text, or null: the text Node's
 * sockets and BIND's query log give the same address (inet_ntop), so one client has one
 * client_ip whichever source saw it: RFC 5952 for IPv6, `::ffff:a.b.c.d` for an IPv4-mapped one
 * (RFC 4291 §2.5.5.2), which ipaddr.js would print in hex.
 */
export function addressText(bytes: Buffer | null): string | null {
  if (bytes === null) return null;
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length === 16) {
    const mapped = bytes.readUInt32BE(0) === 0 && bytes.readUInt32BE(4) === 0 && bytes.readUInt32BE(8) === 0xffff;
    return mapped ? `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}` : ipaddr.fromByteArray(Array.from(bytes)).toString();
  }
  return null;
}

/**
 * dnstap SocketProtocol -> contract transport. DNSCrypt is counted under its
 * carrier (UDP/TCP); DoQ (RFC 9250) has no transport of its own in the
 * contract and is reported as DOT, the other encrypted stream transport.
 * Absent: UDP, the default transport of RFC 1035 §4.2.
 */
const TRANSPORTS = new Map<number, DnsTransport>([
  [SocketProtocol.UDP, 'UDP'],
  [SocketProtocol.TCP, 'TCP'],
  [SocketProtocol.DOT, 'DOT'],
  [SocketProtocol.DOH, 'DOH'],
  [SocketProtocol.DNSCryptUDP, 'UDP'],
  [SocketProtocol.DNSCryptTCP, 'TCP'],
  [SocketProtocol.DOQ, 'DOT'],
]);

export function transportOf(protocol: number | null): DnsTransport {
  return (protocol !== null ? TRANSPORTS.get(protocol) : undefined) ?? 'UDP';
}

interface ParsedDns {
  header: DnsHeader;
  question: DnsQuestion;
}

function parseDns(msg: Buffer | null): ParsedDns | null {
  if (msg === null) return null;
  const header = readHeader(msg);
  if (header === null || header.qdcount < 1) return null;
  const question = readQuestion(msg);
  return question === null ? null : { header, question };
}

export class DnstapEventBuilder {
  private readonly node: { id: string; pop: string };
  private readonly emit: (event: QueryEvent) => void;
  private readonly onSkip: (skip: DnstapSkip) => void;
  private readonly pairTimeoutUs: number;
  private readonly maxPending: number;
  private readonly messageClock: boolean;
  private readonly eventWire: boolean;
  private readonly devices: DeviceIdentityLookup;
  private readonly metrics: DnstapMetrics;
  private readonly table = new Map<string, PairEntry>();
  /** Sides whose queries are logged at all: only then can a response's query still come late, and need a tombstone. */
  private readonly queriesLogged = new Set<Side>();
  private clockUs = 0;
  private framesSinceExpire = 0;

  constructor(options: DnstapEventBuilderOptions) {
    this.node = { id: options.node.id, pop: options.node.pop };
    this.emit = options.emit;
    this.onSkip = options.onSkip ?? (() => undefined);
    this.pairTimeoutUs = (options.pairTimeoutMs ?? 5_000) * 1_000;
    this.maxPending = Math.max(1, options.maxPending ?? 100_000);
    this.messageClock = options.clock === 'message';
    this.eventWire = options.eventWire ?? false;
    this.devices = options.devices ?? noDeviceIdentities;
    this.metrics = options.metrics ?? noopDnstapMetrics;
  }

  /** Queries (and tombstones) held for pairing. */
  get pending(): number {
    return this.table.size;
  }

  /**
   * One data frame's payload: an event is emitted now, or a query is held for
   * its response, or the frame is skipped (onSkip). Never throws.
   */
  accept(frame: Buffer): void {
    this.metrics.frame();
    const decoded = decodeDnstap(frame);
    if (!decoded.ok) {
      this.skip(decoded.reason, decoded.detail);
      return;
    }
    const msg = decoded.message;
    this.metrics.message(msg.type);
    const info = TYPE_INFO[msg.type];
    if (info === undefined) {
      this.skip('unsupported_type', msg.type);
      return;
    }

    const nowUs = this.now(msg);
    const key = this.pairKey(info, msg);
    if (key === null) {
      // Without a DNS message there is no ID to pair on; it stands alone (and is skipped as bad_dns_message).
      this.emitFrom(info, info.isQuery ? null : msg, info.isQuery ? msg : null, null, frame);
      return;
    }
    const entry = this.table.get(key);
    if (info.isQuery) {
      this.queriesLogged.add(info.side);
      if (entry?.kind === 'answered') {
        this.table.delete(key); // its response came first and is already an event
        this.metrics.pendingQueries(this.table.size);
        return;
      }
      // Held as a private copy: the frame may be a view of a large socket chunk.
      const pendingQuery: PendingQuery = { frame: Buffer.from(frame), queryTimeUs: msg.queryTimeUs, deadlineUs: nowUs + this.pairTimeoutUs };
      if (entry?.kind === 'queries') entry.queries.push(pendingQuery);
      else this.insert(key, { kind: 'queries', queries: [pendingQuery] });
      this.afterFrame();
      return;
    }
    let query: PendingQuery | undefined;
    if (entry?.kind === 'queries') {
      query = entry.queries.shift();
      if (entry.queries.length === 0) this.table.delete(key);
    } else if (this.queriesLogged.has(info.side)) {
      this.insert(key, { kind: 'answered', deadlineUs: nowUs + this.pairTimeoutUs });
    }
    this.emitFrom(info, msg, null, query ?? null, frame);
    this.afterFrame();
  }

  /** Emits every query whose response is overdue at `nowUs` (default: now) and drops old tombstones. */
  expire(nowUs: number = this.messageClock ? this.clockUs : Date.now() * 1_000): void {
    for (const [key, entry] of this.table) {
      if (entry.kind === 'answered') {
        if (entry.deadlineUs > nowUs) break;
        this.table.delete(key);
        continue;
      }
      const first = entry.queries[0];
      if (first !== undefined && first.deadlineUs > nowUs) break;
      this.table.delete(key);
      const left: PendingQuery[] = [];
      for (const q of entry.queries) {
        if (q.deadlineUs <= nowUs) this.emitUnanswered(q);
        else left.push(q);
      }
      // Younger duplicates of the same key wait on, now at the young end of the table.
      if (left.length > 0) this.table.set(key, { kind: 'queries', queries: left });
    }
    this.metrics.pendingQueries(this.table.size);
  }

  /** Emits every held query as unanswered (end of a file, shutdown) and forgets the tombstones. */
  flush(): void {
    for (const entry of this.table.values()) {
      if (entry.kind === 'queries') for (const q of entry.queries) this.emitUnanswered(q);
    }
    this.table.clear();
    this.metrics.pendingQueries(0);
  }

  private skip(reason: DnstapSkipReason, detail: string): void {
    this.metrics.decodeError(reason);
    this.onSkip({ reason, detail });
  }

  private now(msg: DnstapMessage): number {
    if (!this.messageClock) return Date.now() * 1_000;
    const t = msg.responseTimeUs ?? msg.queryTimeUs ?? 0;
    if (t > this.clockUs) this.clockUs = t;
    return this.clockUs;
  }

  private afterFrame(): void {
    if (this.messageClock && ++this.framesSinceExpire >= EXPIRE_EVERY_FRAMES) {
      this.framesSinceExpire = 0;
      this.expire();
    }
  }

  private insert(key: string, entry: PairEntry): void {
    if (this.table.size >= this.maxPending) {
      // The oldest goes first: a query as unanswered (its response is long overdue), a tombstone silently.
      const oldest = this.table.entries().next().value;
      if (oldest !== undefined) {
        this.table.delete(oldest[0]);
        if (oldest[1].kind === 'queries') for (const q of oldest[1].queries) this.emitUnanswered(q);
      }
    }
    this.table.set(key, entry);
    this.metrics.pendingQueries(this.table.size);
  }

  private pairKey(info: TypeInfo, msg: DnstapMessage): string | null {
    const dns = msg.queryMessage ?? msg.responseMessage;
    if (dns === null || dns.length < 2) return null;
    const id = dns.readUInt16BE(0);
    const identity = msg.identity ?? '';
    const protocol = msg.socketProtocol ?? 0;
    if (info.side === 'client') {
      return `c|${identity}|${msg.queryAddress?.toString('hex') ?? ''}|${msg.queryPort ?? ''}|${protocol}|${id}`;
    }
    return `u|${identity}|${msg.responseAddress?.toString('hex') ?? ''}|${msg.responsePort ?? ''}|${msg.queryPort ?? ''}|${protocol}|${id}`;
  }

  private redecode(query: PendingQuery): DnstapMessage | null {
    const d = decodeDnstap(query.frame);
    return d.ok ? d.message : null;
  }

  private emitUnanswered(query: PendingQuery): void {
    const msg = this.redecode(query);
    const info = msg ? TYPE_INFO[msg.type] : undefined;
    if (msg === null || info === undefined) return; // it decoded when it was taken; cannot happen
    this.emitFrom(info, null, msg, null, query.frame);
  }

  /**
   * Builds and emits the event of an exchange: `response` (a *_RESPONSE) and/or
   * its query — `query` decoded already (a lone query), or `paired`, the held
   * copy, decoded again only for a field the response lacks (servers' responses
   * usually carry everything but the query time, which is kept decoded). The
   * event_id hashes `frame`, the frame the event stands for.
   */
  private emitFrom(
    info: TypeInfo,
    response: DnstapMessage | null,
    lone: DnstapMessage | null,
    paired: PendingQuery | null,
    frame: Buffer,
  ): void {
    let pairedDecoded: DnstapMessage | null | undefined;
    const queryMsg = (): DnstapMessage | null => lone ?? (paired === null ? null : (pairedDecoded ??= this.redecode(paired)));
    const primary = response ?? lone;
    if (primary === null) return;
    const answer = response ? parseDns(response.responseMessage) : null;
    const asked = answer ?? parseDns(primary.queryMessage) ?? parseDns(queryMsg()?.queryMessage ?? null);
    if (asked === null) {
      this.skip('bad_dns_message', `${primary.type} without a readable question`);
      return;
    }
    const clientIp = addressText(primary.queryAddress ?? queryMsg()?.queryAddress ?? null);
    const clientPort = primary.queryPort ?? queryMsg()?.queryPort ?? null;
    if (clientIp === null || clientPort === null) {
      this.skip('no_client_address', `${primary.type} query_address ${primary.queryAddress?.length ?? 'absent'} bytes, query_port ${clientPort ?? 'absent'}`);
      return;
    }
    const queryTimeUs = primary.queryTimeUs ?? paired?.queryTimeUs ?? primary.responseTimeUs;
    if (queryTimeUs === null) {
      this.skip('no_time', `${primary.type} without query_time or response_time`);
      return;
    }
    const responseTimeUs = answer !== null ? (response?.responseTimeUs ?? null) : null;

    let upstream: string | null = null;
    let upstreamLatencyUs: number | null = null;
    if (info.side === 'upstream') {
      const host = addressText(primary.responseAddress ?? queryMsg()?.responseAddress ?? null);
      const port = primary.responsePort ?? queryMsg()?.responsePort ?? null;
      if (host !== null && port !== null) upstream = formatHostPort({ host, port });
      if (responseTimeUs !== null && responseTimeUs >= queryTimeUs) upstreamLatencyUs = responseTimeUs - queryTimeUs;
    }

    const responseWire = answer !== null ? (response?.responseMessage ?? null) : null;
    const queryWire = this.eventWire ? (primary.queryMessage ?? queryMsg()?.queryMessage ?? null) : null;
    const q = asked.question;
    const event: QueryEvent = {
      event_id: frameEventId(frame),
      node_id: primary.identity ?? queryMsg()?.identity ?? this.node.id,
      pop: this.node.pop,
      source: 'DNSTAP',
      message_type: primary.type,
      query_time_us: queryTimeUs,
      response_time_us: responseTimeUs,
      client_ip: clientIp,
      client_port: clientPort,
      transport: transportOf(primary.socketProtocol ?? queryMsg()?.socketProtocol ?? null),
      qname: normalizeName(q.name),
      qtype: q.type,
      qclass: q.class,
      rcode: answer !== null ? answer.header.rcode : null,
      flags: { ...asked.header.flags },
      answer_count: answer !== null ? answer.header.ancount : 0,
      response_size: responseWire?.length ?? 0,
      cache_status: 'UNKNOWN',
      upstream,
      upstream_latency_us: upstreamLatencyUs,
      policy_action: 'PASS',
      device: this.devices.identityFor(clientIp),
      query_wire: queryWire !== null ? Buffer.from(queryWire) : null,
      response_wire: this.eventWire && responseWire !== null ? Buffer.from(responseWire) : null,
    };
    this.metrics.event(answer !== null ? 'response' : 'unanswered');
    this.emit(event);
  }
}


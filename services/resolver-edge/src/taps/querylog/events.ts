import { hash } from 'node:crypto';
import type { DeviceIdentity, QueryEvent } from '@ghostdns/contracts';
import type { QueryErrorLine, QueryLine } from './parser.js';

export interface TapNode {
  id: string;
  pop: string;
}

/**
 * Deterministic event_id of a log line: SHA-256 over the node id, the line's byte offset in
 * its file and the line itself, shaped as an RFC 9562 version-8 UUID. The offset stands for
 * "which occurrence of an identical line" and survives everything that keeps a file's bytes:
 * a rename rotation, BIND's `versions` renames, gzip of a rotated file, a copytruncate copy.
 * So the tailer replaying after a restart and `ghostdns import` of the same file produce the
 * same ids, and the store's dedupe on event_id keeps one row.
 */
export function querylogEventId(nodeId: string, offset: number, line: string): string {
  // One-shot crypto.hash: a third of the cost of a createHash chain, the same digest of the same bytes.
  const hex = hash('sha256', `${nodeId}\0${offset}\0${line}`, 'hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Contract form of a BIND-printed name: lower-case, no trailing dot, `.` for the root (as resolver-edge). */
function contractName(qname: string): string {
  if (qname === '.') return '.';
  const lower = qname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The event of one `queries` line. The query log records the query, not the answer: the
 * message type is CLIENT_QUERY, flags are the query's (RD, CD), rcode is null (unknown)
 * unless a query-errors line said it, cache status is UNKNOWN, no sizes or latencies.
 */
export function queryLineEvent(line: QueryLine, eventId: string, node: TapNode, device: DeviceIdentity | null): QueryEvent {
  return {
    event_id: eventId,
    node_id: node.id,
    pop: node.pop,
    source: 'BIND_QUERYLOG',
    message_type: 'CLIENT_QUERY',
    query_time_us: line.timeUs,
    response_time_us: null,
    client_ip: line.clientIp,
    client_port: line.clientPort,
    transport: line.tcp ? 'TCP' : 'UDP',
    qname: contractName(line.qname),
    qtype: line.qtype,
    qclass: line.qclass,
    rcode: null,
    flags: { qr: false, aa: false, tc: false, rd: line.recursionDesired, ra: false, ad: false, cd: line.checkingDisabled },
    answer_count: 0,
    response_size: 0,
    cache_status: 'UNKNOWN',
    upstream: null,
    upstream_latency_us: null,
    policy_action: 'PASS',
    device,
    query_wire: null,
    response_wire: null,
  };
}

/** Gives the event the rcode a query-errors line reported for it. */
export function applyQueryError(event: QueryEvent, error: QueryErrorLine): void {
  event.rcode = error.rcode;
  // REFUSED from BIND is an allow-query / allow-recursion ACL decision.
  if (error.rcode === 5) event.policy_action = 'REFUSED';
}

/** Join key of a query and its error line: client address and port, question. */
export function questionKey(clientIp: string, clientPort: number, qname: string, qclass: number, qtype: number): string {
  return `${clientIp}#${clientPort} ${qname.toLowerCase()} ${qclass} ${qtype}`;
}

/** Errors are logged after their query; one older than this cannot belong to it. */
export const ERROR_MATCH_WINDOW_US = 30_000_000;

interface IndexedError {
  error: QueryErrorLine;
  /** Byte offset of the line in its file (the tailer's resume point while it is unclaimed). */
  offset: number;
}

/**
 * query-errors lines waiting for their query, by question key. A query takes the first
 * error for its key logged at or after it and within ERROR_MATCH_WINDOW_US.
 */
export class QueryErrorIndex {
  private readonly byKey = new Map<string, IndexedError[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(error: QueryErrorLine, offset: number): void {
    if (error.qname === null) return;
    const key = questionKey(error.clientIp, error.clientPort, error.qname, error.qclass, error.qtype);
    const list = this.byKey.get(key);
    if (list === undefined) this.byKey.set(key, [{ error, offset }]);
    else list.push({ error, offset });
    this.count++;
  }

  /** Removes and returns the error for a query at queryTimeUs, if one is indexed. */
  take(line: QueryLine): QueryErrorLine | undefined {
    if (this.count === 0) return undefined;
    const key = questionKey(line.clientIp, line.clientPort, line.qname, line.qclass, line.qtype);
    const list = this.byKey.get(key);
    if (list === undefined) return undefined;
    // Log timestamps have millisecond resolution: an error in the same millisecond counts.
    const index = list.findIndex((e) => e.error.timeUs >= line.timeUs - 1000 && e.error.timeUs <= line.timeUs + ERROR_MATCH_WINDOW_US);
    if (index < 0) return undefined;
    const [found] = list.splice(index, 1);
    if (list.length === 0) this.byKey.delete(key);
    this.count--;
    return found?.error;
  }

  /** Drops errors logged before `timeUs`; returns how many (they never found their query). */
  dropBefore(timeUs: number): number {
    let dropped = 0;
    for (const [key, list] of this.byKey) {
      const kept = list.filter((e) => e.error.timeUs >= timeUs);
      dropped += list.length - kept.length;
      if (kept.length === 0) this.byKey.delete(key);
      else if (kept.length !== list.length) this.byKey.set(key, kept);
    }
    this.count -= dropped;
    return dropped;
  }

  /** Lowest file offset among the errors still waiting, or null when none is. */
  lowestOffset(): number | null {
    let lowest: number | null = null;
    for (const list of this.byKey.values()) {
      for (const e of list) if (lowest === null || e.offset < lowest) lowest = e.offset;
    }
    return lowest;
  }
}

import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { BindTimestampParser } from './timestamp.js';

/**
 * One-pass parser for the two BIND 9.16–9.20 categories the seed logs to files:
 *
 * `queries` (lib/ns/query.c log_query, via ns_client_log's prefix in lib/ns/client.c):
 *   TIME [CATEGORY: ][SEVERITY: ]client [@0xPTR ]IP#PORT (QNAME)[: signer "KEY"][: view VIEW]: query: QNAME CLASS TYPE FLAGS (DEST)[ [ECS ADDR/SRC/SCOPE]]
 * `query-errors` (lib/ns/query.c log_queryerror):
 *   TIME [...] client [@0xPTR ]IP#PORT (QNAME)[: view VIEW]: query failed (RESULT)[ for QNAME/CLASS/TYPE] at FILE:LINE
 *
 * `@0xPTR` (the client object's address) is printed since 9.11.3/9.12; `: view V` only when
 * the view is not `_default`/`_bind`; `[ECS ...]` only when the query carried a client subnet.
 * FLAGS: `+`/`-` recursion desired, then `S` signed (TSIG/SIG0), `E(n)` EDNS version n,
 * `T` TCP, `D` DO, `C` CD, `V` valid server cookie or `K` client cookie only. BIND writes no
 * cache flag: whether the answer came from the cache is not in the log.
 *
 * The line is scanned with indexOf/charCodeAt from left to right; only the fields an event
 * needs are sliced out. Nothing throws: a bad line comes back as a skip reason.
 */

/** Why a line was not turned into anything. Bounded set: a metric label and the import report. */
export type QuerylogSkipReason =
  | 'empty'
  | 'bad_timestamp'
  | 'not_a_client_message'
  | 'bad_client_address'
  | 'truncated'
  | 'bad_question'
  | 'bad_flags'
  | 'unknown_message';

export const QUERYLOG_SKIP_REASONS: readonly QuerylogSkipReason[] = [
  'empty', 'bad_timestamp', 'not_a_client_message', 'bad_client_address', 'truncated', 'bad_question', 'bad_flags', 'unknown_message',
];

/** A `queries` line: one query as BIND received it. */
export interface QueryLine {
  kind: 'query';
  timeUs: number;
  clientIp: string;
  clientPort: number;
  view: string | null;
  /** As BIND prints it (dns_name_format: `\DDD` escapes, `.` for the root), original case. */
  qname: string;
  qclass: number;
  qtype: number;
  recursionDesired: boolean;
  signed: boolean;
  /** EDNS version, null without EDNS. */
  ednsVersion: number | null;
  tcp: boolean;
  dnssecOk: boolean;
  checkingDisabled: boolean;
  /** `V`: a valid server cookie came back; `K`: the client sent only its own cookie. */
  cookie: 'valid' | 'client' | null;
  /** The local address the query arrived on. */
  destination: string;
  /** EDNS Client Subnet as BIND prints it (`192.0.2.0/24/0`), null without one. */
  ecs: string | null;
}

/** A `query-errors` "query failed" line: the answer to one query was an error. */
export interface QueryErrorLine {
  kind: 'query_error';
  timeUs: number;
  clientIp: string;
  clientPort: number;
  view: string | null;
  /** null when BIND did not know the question (e.g. FORMERR before it was parsed). */
  qname: string | null;
  qclass: number;
  qtype: number;
  /** isc_result_totext() text, e.g. `REFUSED`, `failure`, `SERVFAIL`, `timed out`. */
  result: string;
  /** The rcode the client got, when the result text says it; else null. */
  rcode: number | null;
}

export type QuerylogSkip = { kind: 'skipped'; reason: QuerylogSkipReason };
export type QuerylogParseResult = QueryLine | QueryErrorLine | QuerylogSkip;

interface DnsPacketTable {
  toType?(name: string): number;
  toClass?(name: string): number;
}
const requireCommonJs = createRequire(import.meta.url);
const typeTable = requireCommonJs('dns-packet/types.js') as Required<Pick<DnsPacketTable, 'toType'>>;
const classTable = requireCommonJs('dns-packet/classes.js') as Required<Pick<DnsPacketTable, 'toClass'>>;

/**
 * rcode the client received for a failed query, by result text. BIND answers a failed query
 * with dns_result_torcode(result) (lib/dns/result.c): rcode results map to themselves, every
 * other result becomes SERVFAIL. Only results that we saw or that the resolver produces on
 * resolution failure are mapped; an unknown text keeps rcode null rather than guessing
 * (e.g. `drop` from rate limiting sends no answer at all).
 */
const RESULT_RCODES: ReadonlyMap<string, number> = new Map([
  ['FORMERR', 1], ['SERVFAIL', 2], ['NXDOMAIN', 3], ['NOTIMP', 4], ['REFUSED', 5],
  ['YXDOMAIN', 6], ['YXRRSET', 7], ['NXRRSET', 8], ['NOTAUTH', 9], ['NOTZONE', 10], ['BADVERS', 16],
  // Resolution failures answered SERVFAIL (seen with a real 9.18: `failure` when every forwarder failed).
  ['failure', 2], ['timed out', 2], ['no valid RRSIG', 2], ['broken trust chain', 2], ['no valid DS', 2],
  ['insecurity proof failed', 2], ['no valid NSEC', 2], ['not insecure', 2],
]);

export function rcodeForQueryResult(result: string): number | null {
  return RESULT_RCODES.get(result) ?? null;
}

/** IANA RR types BIND prints by mnemonic that dns-packet's table does not know. */
const EXTRA_TYPES: ReadonlyMap<string, number> = new Map([
  ['MD', 3], ['MF', 4], ['MB', 7], ['MG', 8], ['MR', 9], ['WKS', 11], ['MINFO', 14], ['X25', 19], ['ISDN', 20], ['RT', 21],
  ['NSAP', 22], ['NSAP-PTR', 23], ['PX', 26], ['GPOS', 27], ['ATMA', 34], ['A6', 38], ['SINK', 40], ['SMIMEA', 53], ['NINFO', 56],
  ['RKEY', 57], ['TALINK', 58], ['OPENPGPKEY', 61], ['CSYNC', 62], ['ZONEMD', 63], ['SVCB', 64], ['HTTPS', 65], ['UINFO', 100],
  ['UID', 101], ['GID', 102], ['UNSPEC', 103], ['NID', 104], ['L32', 105], ['L64', 106], ['LP', 107], ['EUI48', 108], ['EUI64', 109],
  ['MAILB', 253], ['MAILA', 254], ['URI', 256], ['AVC', 258], ['DOA', 259], ['AMTRELAY', 260], ['RESINFO', 261], ['WALLET', 262],
]);

const PREFIX_CLIENT = 'client ';
const MARK_QUERY = ': query: ';
const MARK_FAILED = ': query failed (';
const MARK_VIEW = ': view ';
/** print-category / print-severity words that can precede `client` in these two categories. */
const CHANNEL_PREFIXES = ['queries: ', 'query-errors: ', 'info: ', 'notice: ', 'warning: ', 'error: ', 'critical: ', 'debug '];

/** RFC 3597 `TYPE123` / `CLASS123`, else the mnemonic; -1 when neither. */
function mnemonicCode(text: string, generic: string, lookup: (name: string) => number): number {
  if (text.startsWith(generic)) {
    const n = Number(text.slice(generic.length));
    return Number.isInteger(n) && n >= 0 && n <= 65535 && text.length > generic.length ? n : -1;
  }
  const code = lookup(text);
  return code > 0 ? code : -1;
}

export class BindQueryLogParser {
  private readonly time: BindTimestampParser;
  private readonly types = new Map<string, number>();
  private readonly classes = new Map<string, number>();

  /** @param timezone IANA zone of BIND's local timestamps. */
  constructor(timezone: string) {
    this.time = new BindTimestampParser(timezone);
  }

  parse(line: string): QuerylogParseResult {
    if (line.length === 0) return skip('empty');
    const ts = this.time.parse(line);
    if (ts === null) return skip('bad_timestamp');
    let i = ts.end;
    if (line.charCodeAt(i) !== 32) return skip(i >= line.length ? 'truncated' : 'bad_timestamp');
    i++;
    // Up to two channel prefixes (category, then severity), only when the line does not start with `client `.
    for (let round = 0; round < 2 && !line.startsWith(PREFIX_CLIENT, i); round++) {
      const prefix = CHANNEL_PREFIXES.find((p) => line.startsWith(p, i));
      if (prefix === undefined) break;
      i = line.indexOf(': ', i + prefix.length - 2);
      if (i < 0) return skip('truncated');
      i += 2;
    }
    if (!line.startsWith(PREFIX_CLIENT, i)) return skip(PREFIX_CLIENT.startsWith(line.slice(i)) ? 'truncated' : 'not_a_client_message');
    i += PREFIX_CLIENT.length;
    if (line.charCodeAt(i) === 64 /* @ */) {
      i = line.indexOf(' ', i);
      if (i < 0) return skip('truncated');
      i++;
    }

    const hash = line.indexOf('#', i);
    if (hash < 0) return skip(line.indexOf(' ', i) < 0 ? 'truncated' : 'bad_client_address');
    const clientIp = line.slice(i, hash);
    if (isIP(clientIp) === 0) return skip('bad_client_address');
    let j = hash + 1;
    let clientPort = 0;
    for (; j < line.length; j++) {
      const d = line.charCodeAt(j) - 48;
      if (d < 0 || d > 9) break;
      clientPort = clientPort * 10 + d;
    }
    if (j === hash + 1 || clientPort > 65535) return skip(j >= line.length ? 'truncated' : 'bad_client_address');

    const queryAt = line.indexOf(MARK_QUERY, j);
    const failedAt = queryAt < 0 ? line.indexOf(MARK_FAILED, j) : -1;
    const markAt = queryAt >= 0 ? queryAt : failedAt;
    if (markAt < 0) return skip(line.indexOf(': ', j) < 0 || endsInsideMarker(line) ? 'truncated' : 'unknown_message');
    const viewAt = line.indexOf(MARK_VIEW, j);
    const view = viewAt >= 0 && viewAt < markAt ? line.slice(viewAt + MARK_VIEW.length, markAt) : null;

    if (queryAt >= 0) return this.queryMessage(line, queryAt + MARK_QUERY.length, ts.timeUs, clientIp, clientPort, view);
    return this.failedMessage(line, failedAt + MARK_FAILED.length, ts.timeUs, clientIp, clientPort, view);
  }

  /** `QNAME CLASS TYPE FLAGS (DEST)[ [ECS ...]]` */
  private queryMessage(line: string, at: number, timeUs: number, clientIp: string, clientPort: number, view: string | null): QueryLine | QuerylogSkip {
    const nameEnd = line.indexOf(' ', at);
    const classEnd = nameEnd < 0 ? -1 : line.indexOf(' ', nameEnd + 1);
    const typeEnd = classEnd < 0 ? -1 : line.indexOf(' ', classEnd + 1);
    if (typeEnd < 0) return skip('truncated');
    if (nameEnd === at) return skip('bad_question');
    const qclass = this.classCode(line.slice(nameEnd + 1, classEnd));
    const qtype = this.typeCode(line.slice(classEnd + 1, typeEnd));
    if (qclass < 0 || qtype < 0) return skip('bad_question');

    // Flags: `+`/`-` then letters; always followed by ` (DEST)`.
    let k = typeEnd + 1;
    const rd = line.charCodeAt(k);
    if (rd !== 43 /* + */ && rd !== 45 /* - */) return skip(k >= line.length ? 'truncated' : 'bad_flags');
    let signed = false;
    let ednsVersion: number | null = null;
    let tcp = false;
    let dnssecOk = false;
    let checkingDisabled = false;
    let cookie: QueryLine['cookie'] = null;
    for (k++; k < line.length; k++) {
      const c = line.charCodeAt(k);
      if (c === 32) break;
      switch (c) {
        case 83: signed = true; break; // S
        case 84: tcp = true; break; // T
        case 68: dnssecOk = true; break; // D
        case 67: checkingDisabled = true; break; // C
        case 86: cookie = 'valid'; break; // V
        case 75: cookie = 'client'; break; // K
        case 69: { // E(n); BIND before 9.10 printed a bare `E` for EDNS 0
          ednsVersion = 0;
          if (line.charCodeAt(k + 1) === 40 /* ( */) {
            const close = line.indexOf(')', k + 2);
            if (close < 0) return skip('truncated');
            const version = Number(line.slice(k + 2, close));
            if (!Number.isInteger(version) || version < 0 || version > 255 || close === k + 2) return skip('bad_flags');
            ednsVersion = version;
            k = close;
          }
          break;
        }
        default:
          // An upper-case letter a later BIND adds is tolerated; anything else is not a flag field.
          if (c < 65 || c > 90) return skip('bad_flags');
      }
    }
    if (k >= line.length) return skip('truncated');
    if (line.charCodeAt(k + 1) !== 40 /* ( */) return skip(k + 1 >= line.length ? 'truncated' : 'bad_flags');
    const destEnd = line.indexOf(')', k + 2);
    if (destEnd < 0) return skip('truncated');
    const destination = line.slice(k + 2, destEnd);
    let ecs: string | null = null;
    if (destEnd + 1 < line.length) {
      if (!line.startsWith(' [ECS ', destEnd + 1)) return skip('unknown_message');
      const ecsEnd = line.indexOf(']', destEnd + 7);
      if (ecsEnd < 0) return skip('truncated');
      ecs = line.slice(destEnd + 7, ecsEnd);
    }
    return {
      kind: 'query', timeUs, clientIp, clientPort, view,
      qname: line.slice(at, nameEnd), qclass, qtype,
      recursionDesired: rd === 43, signed, ednsVersion, tcp, dnssecOk, checkingDisabled, cookie, destination, ecs,
    };
  }

  /** `RESULT)[ for QNAME/CLASS/TYPE] at FILE:LINE` */
  private failedMessage(line: string, at: number, timeUs: number, clientIp: string, clientPort: number, view: string | null): QueryErrorLine | QuerylogSkip {
    const resultEnd = line.indexOf(')', at);
    if (resultEnd < 0) return skip('truncated');
    const result = line.slice(at, resultEnd);
    const base = { kind: 'query_error' as const, timeUs, clientIp, clientPort, view, result, rcode: rcodeForQueryResult(result) };
    if (!line.startsWith(' for ', resultEnd + 1)) {
      if (line.startsWith(' at ', resultEnd + 1)) return { ...base, qname: null, qclass: 0, qtype: 0 };
      return skip(resultEnd + 1 >= line.length ? 'truncated' : 'unknown_message');
    }
    const questionAt = resultEnd + 6;
    const atFile = line.indexOf(' at ', questionAt);
    if (atFile < 0) return skip('truncated');
    const typeSlash = line.lastIndexOf('/', atFile);
    const classSlash = typeSlash <= questionAt ? -1 : line.lastIndexOf('/', typeSlash - 1);
    if (classSlash <= questionAt) return skip('bad_question');
    const qclass = this.classCode(line.slice(classSlash + 1, typeSlash));
    const qtype = this.typeCode(line.slice(typeSlash + 1, atFile));
    if (qclass < 0 || qtype < 0) return skip('bad_question');
    return { ...base, qname: line.slice(questionAt, classSlash), qclass, qtype };
  }

  private typeCode(text: string): number {
    let code = this.types.get(text);
    if (code === undefined) {
      code = mnemonicCode(text, 'TYPE', (name) => EXTRA_TYPES.get(name) ?? typeTable.toType(name));
      if (this.types.size < 1024) this.types.set(text, code);
    }
    return code;
  }

  private classCode(text: string): number {
    let code = this.classes.get(text);
    if (code === undefined) {
      code = mnemonicCode(text, 'CLASS', (name) => classTable.toClass(name));
      if (this.classes.size < 64) this.classes.set(text, code);
    }
    return code;
  }
}

function skip(reason: QuerylogSkipReason): QuerylogSkip {
  return { kind: 'skipped', reason };
}

/** True when the line stops part-way into `: query: ` / `: query failed (` (a line cut short). */
function endsInsideMarker(line: string): boolean {
  for (const marker of [MARK_QUERY, MARK_FAILED]) {
    for (let n = Math.min(marker.length, line.length); n > 0; n--) {
      if (line.endsWith(marker.slice(0, n))) return true;
    }
  }
  return false;
}

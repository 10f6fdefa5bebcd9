import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { ApiError, invalidParameter } from '../errors.js';
import type { RecordRow } from '../records/records.repository.js';
import { QueryParams } from '../analytics/params.js';
import { DnsTimeoutError, type DnsExchange } from './dns-exchange.js';

export const RESOLVE_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'PTR', 'NS', 'SOA', 'CAA'] as const;
export type ResolveType = (typeof RESOLVE_TYPES)[number];

/**
 * Where the answer came from. `dynamic_record`: the name has an RRset of this
 * type (or a CNAME) in dns_records (records-api's own table, which every edge
 * follows); `presence`: an authoritative answer under presence.suffix;
 * `local_zone`: any other authoritative (AA) answer — a zone file or
 * secondary zone; `resolver`: everything else (forwarded, cached, or a policy
 * answer).
 */
export type AnswerSource = 'dynamic_record' | 'presence' | 'local_zone' | 'resolver';

export interface ResolvedRecord {
  name: string;
  type: string;
  ttl: number;
  /** Presentation form (e.g. `10 mail.example.com` for MX). */
  data: string;
}

export interface ResolveResponse {
  name: string;
  type: ResolveType;
  rcode: string;
  source: AnswerSource;
  authoritative: boolean;
  truncated: boolean;
  answers: ResolvedRecord[];
  authority: ResolvedRecord[];
  /** ids of the dns_records rows behind a dynamic_record answer. */
  record_ids: string[];
  /** The resolver-edge listener asked (dns.listen). */
  resolver: string;
}

export interface ResolveResult {
  /** 200 NOERROR, 404 NXDOMAIN, 502 any other rcode. */
  status: number;
  body: ResolveResponse & { error?: { code: 'GHOSTDNS_API_NAME_NOT_FOUND' | 'GHOSTDNS_API_RESOLVE_FAILED'; message: string } };
}

/** Dynamic RRsets of one name (RecordsStore.list with a name filter). */
export type RecordLookup = (name: string) => Promise<RecordRow[]>;

const NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

function presentation(data: unknown): string {
  if (typeof data === 'string' || typeof data === 'number') return String(data);
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return data.map((part) => (Buffer.isBuffer(part) ? part.toString('utf8') : String(part))).join('');
  if (typeof data === 'object' && data !== null) {
    const d = data as Record<string, unknown>;
    if ('exchange' in d) return `${String(d.preference)} ${String(d.exchange)}`;
    if ('target' in d && 'port' in d) return `${String(d.priority)} ${String(d.weight)} ${String(d.port)} ${String(d.target)}`;
    if ('mname' in d) {
      return [d.mname, d.rname, d.serial, d.refresh, d.retry, d.expire, d.minimum].map(String).join(' ');
    }
    if ('tag' in d) return `${String(d.flags)} ${String(d.tag)} "${String(d.value)}"`;
    return JSON.stringify(d);
  }
  return '';
}

function records(list: readonly dnsPacket.Answer[] | undefined): ResolvedRecord[] {
  return (list ?? [])
    .filter((a) => a.type !== 'OPT')
    .map((a) => ({ name: a.name, type: a.type, ttl: 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0, data: presentation((a as { data?: unknown }).data) }));
}

const RCODES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

/**
 * GET /api/v1/resolve/:name: asks the resolver-edge listener (dns.listen) over
 * UDP — the answer a client would get, not a reimplementation of its pipeline
 * — and says where it came from.
 */
export class ResolveService {
  constructor(
    private readonly exchange: DnsExchange,
    private readonly lookup: RecordLookup,
    private readonly resolverLabel: string,
    private readonly presenceSuffix: string,
  ) {}

  async resolve(rawName: string, query: Record<string, unknown>): Promise<ResolveResult> {
    const params = new QueryParams(query, ['type']);
    const name = rawName.trim().toLowerCase().replace(/\.$/, '');
    if (!NAME.test(name)) throw invalidParameter('name', 'must be a DNS name: labels of 1-63 letters, digits, - or _, at most 253 characters');
    const typeText = (params.string('type') ?? 'A').toUpperCase();
    if (!(RESOLVE_TYPES as readonly string[]).includes(typeText)) throw invalidParameter('type', `must be one of ${RESOLVE_TYPES.join(', ')}`);
    const type = typeText as ResolveType;

    const id = randomInt(0, 0x10000);
    const message = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name, class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
    });
    let reply: dnsPacket.Packet;
    try {
      reply = dnsPacket.decode(await this.exchange(message, id));
    } catch (error) {
      const timeout = error instanceof DnsTimeoutError;
      throw new ApiError(
        'GHOSTDNS_API_RESOLVER_UNAVAILABLE',
        timeout ? 504 : 503,
        timeout ? `resolver-edge (${this.resolverLabel}) did not answer in time` : `resolver-edge (${this.resolverLabel}) could not be asked`,
        { cause: error },
      );
    }
    const question = reply.questions?.[0];
    if (question === undefined || question.name.toLowerCase() !== name || question.type !== type) {
      throw new ApiError('GHOSTDNS_API_RESOLVE_FAILED', 502, 'resolver-edge answered a different question');
    }

    const flags = reply.flags ?? 0;
    const rcode = RCODES[flags & 0x000f] ?? `RCODE${flags & 0x000f}`;
    const authoritative = (flags & dnsPacket.AUTHORITATIVE_ANSWER) !== 0;
    let dynamic: RecordRow[] = [];
    try {
      dynamic = (await this.lookup(name)).filter((row) => row.type === type || row.type === 'CNAME');
    } catch {
      // The answer stands without its provenance: the source falls back to what the flags say.
      dynamic = [];
    }
    const underPresence = name === this.presenceSuffix || name.endsWith(`.${this.presenceSuffix}`);
    const source: AnswerSource = dynamic.length > 0 ? 'dynamic_record' : authoritative ? (underPresence ? 'presence' : 'local_zone') : 'resolver';

    const body: ResolveResult['body'] = {
      name,
      type,
      rcode,
      source,
      authoritative,
      truncated: (flags & dnsPacket.TRUNCATED_RESPONSE) !== 0,
      answers: records(reply.answers),
      authority: records(reply.authorities),
      record_ids: dynamic.map((row) => row.id),
      resolver: this.resolverLabel,
    };
    if (rcode === 'NOERROR') return { status: 200, body };
    if (rcode === 'NXDOMAIN') {
      return { status: 404, body: { ...body, error: { code: 'GHOSTDNS_API_NAME_NOT_FOUND', message: `${name} does not exist (NXDOMAIN)` } } };
    }
    return { status: 502, body: { ...body, error: { code: 'GHOSTDNS_API_RESOLVE_FAILED', message: `resolver-edge answered ${rcode} for ${name} ${type}` } } };
  }
}

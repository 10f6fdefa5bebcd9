// Transport-agnostic handling of one incoming message: parse the header and
// question only, decide drop / FORMERR / NOTIMP / resolve, and account for it.
import type { CacheStatus, DnsTransport, PolicyAction } from '@ghostdns/contracts';
import { noopResolverMetrics, type EdgeLogger, silentLogger, type MalformedKind, type ResolverMetrics } from '../metrics.js';
import type { IpFamily } from './address.js';
import type { ClientInfo, Resolver } from './resolver.js';
import { buildBadversResponse, readEdns } from './edns.js';
import { buildLocalResponse, qtypeLabel, Rcode, rcodeName, readHeader, readQuestion, type DnsHeader, type DnsQuestion } from './wire.js';

/** Everything known about one answered query, handed to the event producer once the answer is sent. */
export interface AnsweredQuery {
  client: ClientInfo;
  /** Epoch microseconds at receipt. */
  queryTimeUs: number;
  /** process.hrtime.bigint() at receipt, for the duration histogram. */
  receivedAtNs: bigint;
  /** null when the question could not be read (FORMERR). */
  question: DnsQuestion | null;
  response: Buffer;
  /** Further messages of a multi-message answer (AXFR), stream transports only. */
  extraResponses?: readonly Buffer[];
  cacheStatus: CacheStatus;
  policyAction: PolicyAction;
  upstream: string | null;
  upstreamLatencyUs: number | null;
}

/** Called after the response was handed to the socket, with the epoch µs of that moment. */
export type AnsweredListener = (answer: AnsweredQuery, responseTimeUs: number) => void;

/** Why nothing is sent: a malformed message, or a response withheld by rate limiting. */
export type DropReason = MalformedKind | 'rate_limited';

export type HandleResult = { kind: 'answer'; answer: AnsweredQuery } | { kind: 'drop'; reason: DropReason };

/** Epoch microseconds with sub-millisecond resolution. */
export function epochMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export interface QueryHandlerOptions {
  resolver: Resolver;
  /** Label of the server in metrics, CoreDNS style: dns://host:port. */
  server: string;
  metrics?: ResolverMetrics;
  logger?: EdgeLogger;
  onAnswered?: AnsweredListener;
}

export class QueryHandler {
  private readonly resolver: Resolver;
  private readonly server: string;
  private readonly metrics: ResolverMetrics;
  private readonly logger: EdgeLogger;
  private readonly onAnswered: AnsweredListener;

  constructor(options: QueryHandlerOptions) {
    this.resolver = options.resolver;
    this.server = options.server;
    this.metrics = options.metrics ?? noopResolverMetrics;
    this.logger = options.logger ?? silentLogger;
    this.onAnswered = options.onAnswered ?? (() => undefined);
  }

  /** Never rejects: a resolver failure becomes SERVFAIL. */
  async handle(msg: Buffer, client: ClientInfo): Promise<HandleResult> {
    const receivedAtNs = process.hrtime.bigint();
    const queryTimeUs = epochMicros();
    const header = readHeader(msg);
    if (header === null) return this.drop('short_header');
    // A response arriving at the server is never answered (no reflection loops).
    if (header.qr) return this.drop('not_a_query');

    const question = header.qdcount === 1 ? readQuestion(msg) : null;
    this.metrics.request(this.server, client.transport, question ? qtypeLabel(question.type) : 'other', client.family);
    const base = { client, queryTimeUs, receivedAtNs, question, upstream: null, upstreamLatencyUs: null } as const;

    if (question === null) {
      this.metrics.malformed('bad_question');
      return this.local(base, msg, header, null, Rcode.FORMERR);
    }
    if (header.opcode !== 0) return this.local(base, msg, header, question, Rcode.NOTIMP);
    // RFC 6891 §6.1.1 / §6.1.3: a broken OPT is FORMERR, an EDNS version we do not speak BADVERS.
    const edns = readEdns(msg, header, question.end);
    if (edns.status === 'formerr') {
      this.metrics.malformed('bad_edns');
      return this.local(base, msg, header, question, Rcode.FORMERR);
    }
    if (edns.status === 'badvers') {
      const response = buildBadversResponse(msg, header, question);
      return { kind: 'answer', answer: { ...base, response, cacheStatus: 'NONE', policyAction: 'PASS' } };
    }

    try {
      const r = await this.resolver.resolve({ query: msg, header, question, client });
      // RRL withheld it (counted there, ghostdns_rrl_responses_total{verdict="drop"}).
      if (r.drop === true) return { kind: 'drop', reason: 'rate_limited' };
      return { kind: 'answer', answer: { ...base, ...r } };
    } catch (err) {
      this.logger.error({ err, qname: question.name }, 'resolver failed; answering SERVFAIL');
      return this.local(base, msg, header, question, Rcode.SERVFAIL);
    }
  }

  /** Counts a request answered without handle() (the UDP server's cache fast path). */
  countRequest(transport: DnsTransport, qtype: number, family?: IpFamily): void {
    this.metrics.request(this.server, transport, qtypeLabel(qtype), family);
  }

  /** The server calls this once the response is on its way to the client. */
  answered(answer: AnsweredQuery): void {
    const responseTimeUs = epochMicros();
    const seconds = Number(process.hrtime.bigint() - answer.receivedAtNs) / 1e9;
    this.metrics.response(this.server, rcodeName((answer.response[3] ?? 0) & 0x0f), seconds, answer.question ? qtypeLabel(answer.question.type) : 'other');
    try {
      this.onAnswered(answer, responseTimeUs);
    } catch (err) {
      this.logger.error({ err }, 'answered listener failed');
    }
  }

  private drop(reason: MalformedKind): HandleResult {
    this.metrics.malformed(reason);
    return { kind: 'drop', reason };
  }

  private local(
    base: Pick<AnsweredQuery, 'client' | 'queryTimeUs' | 'receivedAtNs' | 'question' | 'upstream' | 'upstreamLatencyUs'>,
    msg: Buffer,
    header: DnsHeader,
    question: DnsQuestion | null,
    rcode: number,
  ): HandleResult {
    const response = buildLocalResponse(msg, header, question, rcode);
    return { kind: 'answer', answer: { ...base, response, cacheStatus: 'NONE', policyAction: 'PASS' } };
  }
}

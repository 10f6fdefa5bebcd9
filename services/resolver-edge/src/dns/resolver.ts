// The answering seam. The skeleton has one Resolver (forwarding); cache, local
// zones, ACLs and RRL slot in later as Resolvers that wrap or precede it,
// without touching the servers or the event path.
import type { CacheStatus, DnsTransport, PolicyAction } from '@ghostdns/contracts';
import type { IpFamily } from './address.js';
import type { UpstreamForwarder } from './forwarder.js';
import { buildLocalResponse, Rcode, type DnsHeader, type DnsQuestion } from './wire.js';

export interface ClientInfo {
  address: string;
  port: number;
  family: IpFamily;
  transport: DnsTransport;
}

export interface ResolveRequest {
  /** The client's message, as received. Never mutate. */
  query: Buffer;
  header: DnsHeader;
  question: DnsQuestion;
  client: ClientInfo;
}

export interface Resolution {
  /** Wire response, carrying the client's ID. */
  response: Buffer;
  /**
   * Further messages of a multi-message answer (AXFR, RFC 5936 §2.2), sent in
   * order after `response` on stream transports; never over UDP.
   */
  extraResponses?: readonly Buffer[];
  cacheStatus: CacheStatus;
  policyAction: PolicyAction;
  /** host:port of the upstream that answered, null when answered locally. */
  upstream: string | null;
  upstreamLatencyUs: number | null;
  /**
   * Response rate limiting (access/rrl.ts) decided this UDP answer is not sent:
   * the handler turns it into a drop; no event is produced for it.
   */
  drop?: boolean;
}

export interface Resolver {
  resolve(request: ResolveRequest): Promise<Resolution>;
}

export function localResolution(request: ResolveRequest, rcode: number, policyAction: PolicyAction): Resolution {
  return {
    response: buildLocalResponse(request.query, request.header, request.question, rcode),
    cacheStatus: 'NONE',
    policyAction,
    upstream: null,
    upstreamLatencyUs: null,
  };
}

/** Forwards everything; REFUSED when no upstream is configured, SERVFAIL when all fail. */
export class ForwardingResolver implements Resolver {
  constructor(private readonly forwarder: UpstreamForwarder) {}

  async resolve(request: ResolveRequest): Promise<Resolution> {
    if (!this.forwarder.hasUpstreams) return localResolution(request, Rcode.REFUSED, 'REFUSED');
    const result = await this.forwarder.forward(request.query, request.question);
    // No forward zone and no default upstream covers the name: not ours to answer.
    if (!result.ok) return localResolution(request, result.reason === 'no_upstreams' ? Rcode.REFUSED : Rcode.SERVFAIL, result.reason === 'no_upstreams' ? 'REFUSED' : 'PASS');
    return {
      response: result.response,
      cacheStatus: 'MISS',
      policyAction: 'PASS',
      upstream: result.upstream.label,
      upstreamLatencyUs: result.latencyUs,
    };
  }
}

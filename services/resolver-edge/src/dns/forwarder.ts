// UpstreamForwarder: relays a client query to an upstream chosen by smoothed
// RTT, failing over on timeout, error, SERVFAIL or REFUSED, retrying over TCP
// when a UDP answer is truncated, and routing names under a forward zone to
// that zone's upstreams. Upstreams speak UDP (with TCP for TC) or DNS over TLS.
//
// Spoofing defences (RFC 5452 §9.1): over UDP every attempt has its own
// ephemeral port and a fresh crypto-random ID, and only an answer whose ID,
// question and source address/port match is accepted; over TCP/TLS the ID and
// question must match a query pending on that connection. Everything else is
// dropped and counted. The client's bytes are forwarded as they are (EDNS, DO
// and CD included) with only the ID changed, and the answer is relayed
// byte-for-byte with only the ID patched back.
import { randomInt } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, rootCertificates, type ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { formatHostPort, ipFamily, type IpFamily } from './address.js';
import { nodeUdpSocketFactory, type UdpSocketFactory, type UdpSocketLike } from './udp.js';
import { patchIdInPlace, Rcode, rcodeName, type DnsQuestion } from './wire.js';
import { noopResolverMetrics, type ForwardFailoverReason, type ResolverMetrics } from '../metrics.js';
import { ResolverEdgeError } from '../errors.js';
import { ForwardZoneTable } from '../upstream/forward-zones.js';
import { SrttSelector, type SrttOptions } from '../upstream/srtt.js';
import { StreamUpstreamClient, type StreamOutcome } from '../upstream/stream-client.js';
import { udpExchange, type UdpExchangeContext } from '../upstream/udp-exchange.js';

export type UpstreamProtocol = 'udp' | 'tls';

/** An upstream pinned to an IP literal. */
export interface Upstream {
  host: string;
  port: number;
  family: IpFamily;
  /** host:port as reported in metrics and events (tls://host:port for DoT). */
  label: string;
  /** 'udp' (TCP on truncation) unless set. */
  protocol?: UpstreamProtocol;
  /** Name the DoT server's certificate must carry; the IP itself when absent. */
  tlsName?: string;
}

export function upstream(host: string, port: number): Upstream {
  const family = ipFamily(host);
  if (family === null) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_UPSTREAM_UNRESOLVABLE', `upstream must be an IP address: ${host}`);
  }
  // Canonical IPv6 text so it compares equal to what the socket reports.
  const canonical = family === 'IPv6' ? new URL(`http://[${host}]/`).hostname.slice(1, -1) : host;
  return { host: canonical, port, family, label: formatHostPort({ host: canonical, port }), protocol: 'udp' };
}

/** A DNS-over-TLS upstream (RFC 7858); `tlsName` is checked against its certificate. */
export function tlsUpstream(host: string, port: number, tlsName?: string): Upstream {
  const base = upstream(host, port);
  return { ...base, label: `tls://${base.label}`, protocol: 'tls', ...(tlsName ? { tlsName } : {}) };
}

export type ForwardResult =
  | {
      ok: true;
      /** The upstream's answer, bytes untouched except the ID, which is the client's again. */
      response: Buffer;
      upstream: Upstream;
      latencyUs: number;
    }
  | { ok: false; reason: 'no_upstreams' | 'all_failed' | 'overloaded' };

export interface ForwardZone {
  /** Domain whose names (itself and below) go to `upstreams`. */
  domain: string;
  upstreams: readonly Upstream[];
}

/** Opens a TCP or TLS stream to an upstream; replaced by in-memory streams in unit tests. */
export type StreamConnector = (up: Upstream, protocol: 'tcp' | 'tls') => Duplex;

export interface UpstreamTlsOptions {
  /** Extra trusted CA certificates (PEM), added to the system's. */
  ca?: readonly (string | Buffer)[];
}

export interface UpstreamForwarderOptions {
  /** The default upstreams (UDP and DoT), for every name outside the forward zones. */
  upstreams: readonly Upstream[];
  forwardZones?: readonly ForwardZone[];
  timeoutMs: number;
  socketFactory?: UdpSocketFactory;
  streamConnector?: StreamConnector;
  tls?: UpstreamTlsOptions;
  /** Source of upstream query IDs; crypto-random by default. */
  randomId?: () => number;
  /** Clock, randomness and tuning of the SRTT choice. */
  srtt?: SrttOptions;
  metrics?: ResolverMetrics;
  /** Upper bound of concurrent forwarded queries; beyond it queries fail fast. */
  maxInFlight?: number;
  /** Idle time after which a kept-open TCP/TLS upstream connection is closed. */
  streamIdleTimeoutMs?: number;
}

type AttemptOutcome =
  | { kind: 'answer'; response: Buffer; latencyUs: number }
  | { kind: 'failed'; reason: 'timeout' | 'error' };

interface UpstreamGroup {
  upstreams: readonly Upstream[];
  selector: SrttSelector;
}

export class UpstreamForwarder {
  private readonly defaultGroup: UpstreamGroup | null;
  private readonly zones: ForwardZoneTable<UpstreamGroup>;
  private readonly timeoutMs: number;
  private readonly metrics: ResolverMetrics;
  private readonly maxInFlight: number;
  private readonly udp: UdpExchangeContext;
  private readonly streams = new Map<string, StreamUpstreamClient>();
  private readonly streamConnector: StreamConnector;
  private readonly randomId: () => number;
  private readonly streamIdleTimeoutMs: number;
  private inFlight = 0;

  constructor(options: UpstreamForwarderOptions) {
    const group = (ups: readonly Upstream[]): UpstreamGroup => ({ upstreams: [...ups], selector: new SrttSelector(ups.length, options.srtt) });
    this.defaultGroup = options.upstreams.length > 0 ? group(options.upstreams) : null;
    const zoneEntries = new Map<string, Upstream[]>();
    for (const z of options.forwardZones ?? []) {
      const key = z.domain.toLowerCase();
      zoneEntries.set(key, [...(zoneEntries.get(key) ?? []), ...z.upstreams]);
    }
    this.zones = new ForwardZoneTable([...zoneEntries].map(([d, ups]) => [d, group(ups)] as const));
    this.timeoutMs = options.timeoutMs;
    this.metrics = options.metrics ?? noopResolverMetrics;
    this.maxInFlight = options.maxInFlight ?? 4096;
    this.randomId = options.randomId ?? (() => randomInt(0, 0x10000));
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 5_000;
    this.udp = {
      socketFactory: options.socketFactory ?? nodeUdpSocketFactory,
      randomId: this.randomId,
      open: new Set<UdpSocketLike>(),
      onSpoofed: (up) => this.metrics.forwardSpoofed(up.label),
    };
    this.streamConnector = options.streamConnector ?? nodeStreamConnector(options.tls ?? {});
  }

  get hasUpstreams(): boolean {
    return this.defaultGroup !== null || this.zones.size > 0;
  }

  /**
   * Picks the upstreams for the name, then tries them fastest first. A
   * SERVFAIL is relayed only when no upstream gave a better answer; REFUSED
   * means the upstream will not serve us and is never relayed.
   * `query` is the client's message as received; it is copied, never mutated.
   */
  async forward(query: Buffer, question: DnsQuestion): Promise<ForwardResult> {
    const group = this.zones.match(question.name) ?? this.defaultGroup;
    if (group === null) return { ok: false, reason: 'no_upstreams' };
    if (this.inFlight >= this.maxInFlight) return { ok: false, reason: 'overloaded' };
    const clientId = query.readUInt16BE(0);
    this.inFlight++;
    try {
      const order = group.selector.order();
      let servfail: { response: Buffer; upstream: Upstream; latencyUs: number } | null = null;
      for (let i = 0; i < order.length; i++) {
        const index = order[i] ?? 0;
        const up = group.upstreams[index];
        if (up === undefined) continue;
        const outcome = await this.attempt(up, query, question);
        const more = i + 1 < order.length;
        if (outcome.kind === 'failed') {
          group.selector.penalize(index, this.timeoutMs);
          if (more) this.metrics.forwardFailover(outcome.reason);
          continue;
        }
        const rcode = (outcome.response[3] ?? 0) & 0x0f;
        if (rcode === Rcode.REFUSED) {
          // A lasting misconfiguration (ACL upstream): demote like an outage.
          group.selector.penalize(index, this.timeoutMs);
          if (more) this.metrics.forwardFailover('refused');
          continue;
        }
        // SERVFAIL is often about one name (broken DNSSEC, dead authority): the
        // upstream itself is alive, so its RTT still counts as measured.
        group.selector.sample(index, outcome.latencyUs / 1000);
        if (rcode === Rcode.SERVFAIL) {
          servfail = { response: outcome.response, upstream: up, latencyUs: outcome.latencyUs };
          if (more) this.metrics.forwardFailover('servfail');
          continue;
        }
        return { ok: true, response: patchIdInPlace(outcome.response, clientId), upstream: up, latencyUs: outcome.latencyUs };
      }
      if (servfail !== null) return { ok: true, ...servfail, response: patchIdInPlace(servfail.response, clientId) };
      return { ok: false, reason: 'all_failed' };
    } finally {
      this.inFlight--;
    }
  }

  /** Current SRTT (ms) of each default upstream, by label; for tests and diagnostics. */
  srtts(): Record<string, number> {
    const out: Record<string, number> = {};
    const g = this.defaultGroup;
    if (g) g.upstreams.forEach((u, i) => (out[u.label] = g.selector.srtt(i)));
    return out;
  }

  /** Closes every upstream socket and connection (shutdown). */
  async close(): Promise<void> {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    await Promise.all([...this.udp.open].map((s) => s.close()));
    this.udp.open.clear();
  }

  private async attempt(up: Upstream, query: Buffer, question: DnsQuestion): Promise<AttemptOutcome> {
    this.metrics.forwardRequest(up.label);
    const started = process.hrtime.bigint();
    if (up.protocol === 'tls') return this.finishStream(up, await this.stream(up, 'tls').exchange(query, question, this.timeoutMs), started);

    const udp = await udpExchange(this.udp, up, query, question, this.timeoutMs);
    if (udp.kind !== 'answer') return { kind: 'failed', reason: udp.kind };
    if (((udp.response[2] ?? 0) & 0x02) === 0) return this.answered(up, udp.response, started);
    // Truncated (RFC 7766 §5): the same upstream again, over TCP.
    this.metrics.forwardResponse(up.label, rcodeName((udp.response[3] ?? 0) & 0x0f));
    this.metrics.forwardFailover('truncated');
    this.metrics.forwardRequest(up.label);
    return this.finishStream(up, await this.stream(up, 'tcp').exchange(query, question, this.timeoutMs), started);
  }

  private finishStream(up: Upstream, outcome: StreamOutcome, started: bigint): AttemptOutcome {
    if (outcome.kind !== 'answer') return { kind: 'failed', reason: outcome.kind };
    return this.answered(up, outcome.response, started);
  }

  private answered(up: Upstream, response: Buffer, started: bigint): AttemptOutcome {
    const latencyUs = Number((process.hrtime.bigint() - started) / 1000n);
    this.metrics.forwardResponse(up.label, rcodeName((response[3] ?? 0) & 0x0f));
    this.metrics.forwardDuration(up.label, latencyUs / 1e6);
    return { kind: 'answer', response, latencyUs };
  }

  private stream(up: Upstream, protocol: 'tcp' | 'tls'): StreamUpstreamClient {
    const key = `${protocol}|${up.label}`;
    let client = this.streams.get(key);
    if (client === undefined) {
      client = new StreamUpstreamClient({
        connect: () => this.streamConnector(up, protocol),
        randomId: this.randomId,
        idleTimeoutMs: this.streamIdleTimeoutMs,
        onMismatch: () => this.metrics.forwardSpoofed(up.label),
      });
      this.streams.set(key, client);
    }
    return client;
  }
}

/** node:net for TCP; node:tls (TLS 1.2+, certificate checked) for DoT. */
export function nodeStreamConnector(tls: UpstreamTlsOptions): StreamConnector {
  const ca = tls.ca && tls.ca.length > 0 ? [...rootCertificates, ...tls.ca] : undefined;
  return (up, protocol) => {
    if (protocol === 'tcp') {
      const s = netConnect({ host: up.host, port: up.port });
      s.setNoDelay(true);
      return s;
    }
    const options: ConnectionOptions = {
      host: up.host,
      port: up.port,
      minVersion: 'TLSv1.2',
      // RFC 7858 §3.2 / RFC 8310: the strict profile, the certificate must match.
      rejectUnauthorized: true,
      ALPNProtocols: ['dot'],
      ...(ca ? { ca } : {}),
    };
    // SNI carries names only (RFC 6066 §3); an IP is checked against the certificate's IP SANs.
    if (up.tlsName !== undefined && ipFamily(up.tlsName) === null) options.servername = up.tlsName;
    const s = tlsConnect(options);
    s.setNoDelay(true);
    return s;
  };
}

export type { ForwardFailoverReason };

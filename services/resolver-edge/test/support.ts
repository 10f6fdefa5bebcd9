// Test doubles shared by the unit tests (not a test file itself).
import type { EventPublisher } from '@ghostdns/bus';
import type { QueryEvent, TopicName, TopicPayloads } from '@ghostdns/contracts';
import dnsPacket from 'dns-packet';
import type { IpFamily } from '../src/dns/address.js';
import type { RemoteInfo, UdpSocketFactory, UdpSocketLike } from '../src/dns/udp.js';
import type { QueryEventSink } from '../src/events/sink.js';
import type { MalformedKind, ResolverMetrics } from '../src/metrics.js';
import { rcodeName } from '../src/dns/wire.js';

/** RCODE name of a wire message (dns-packet's typings do not expose it). */
export function rcodeOf(msg: Buffer): string {
  return rcodeName((msg[3] ?? 0) & 0x0f);
}

export function buildQuery(name: string, opts: { id?: number; type?: dnsPacket.RecordType; flags?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags: opts.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ type: opts.type ?? 'A', name, class: 'IN' }],
  });
}

export function buildAnswer(query: Buffer, address = '192.0.2.10', overrides: { name?: string; id?: number } = {}): Buffer {
  const q = dnsPacket.decode(query);
  const name = overrides.name ?? q.questions?.[0]?.name ?? '';
  return dnsPacket.encode({
    type: 'response',
    id: overrides.id ?? q.id ?? 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name, class: 'IN' }],
    answers: [{ type: 'A', name, ttl: 60, data: address }],
  });
}

/** Counts everything; keys are "metric|label|label". */
export class RecordingMetrics implements ResolverMetrics {
  readonly counts = new Map<string, number>();
  depth = 0;

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  private inc(key: string, by = 1): void {
    this.counts.set(key, this.count(key) + by);
  }

  request(server: string, proto: string, type: string): void {
    this.inc(`requests|${proto}|${type}`);
    void server;
  }
  response(_server: string, rcode: string): void {
    this.inc(`responses|${rcode}`);
  }
  forwardRequest(to: string): void {
    this.inc(`forward_requests|${to}`);
  }
  forwardResponse(to: string, rcode: string): void {
    this.inc(`forward_responses|${to}|${rcode}`);
  }
  forwardSpoofed(to: string): void {
    this.inc(`spoofed|${to}`);
    this.inc('spoofed');
  }
  forwardDuration(to: string): void {
    this.inc(`forward_duration|${to}`);
  }
  forwardFailover(reason: string): void {
    this.inc(`failover|${reason}`);
  }
  malformed(kind: MalformedKind): void {
    this.inc(`malformed|${kind}`);
  }
  eventsDropped(count: number): void {
    this.inc('events_dropped', count);
  }
  eventQueueDepth(depth: number): void {
    this.depth = depth;
  }
  spoolBytes = 0;
  spoolDepthBytes(bytes: number): void {
    this.spoolBytes = bytes;
  }
  spoolWritten(count: number): void {
    this.inc('spool_written', count);
  }
  spoolReplayed(count: number): void {
    this.inc('spool_replayed', count);
  }
  spoolDropped(count: number): void {
    this.inc('spool_dropped', count);
  }
  spoolTruncated(count: number): void {
    this.inc('spool_truncated', count);
  }
  cacheHit(_server: string, type: string): void {
    this.inc(`cache_hit|${type}`);
  }
  cacheMiss(): void {
    this.inc('cache_miss');
  }
  cacheServedStale(): void {
    this.inc('cache_stale');
  }
  cachePrefetch(): void {
    this.inc('cache_prefetch');
  }
  aclRefused(acl: string): void {
    this.inc(`acl_refused|${acl}`);
  }
  rrlResponse(verdict: string): void {
    this.inc(`rrl|${verdict}`);
  }
  policyHit(action: string): void {
    this.inc(`policy_hit|${action}`);
  }
  policyReload(result: string): void {
    this.inc(`policy_reload|${result}`);
  }
  readonly rules = new Map<string, number>();
  policyRules(list: string, count: number): void {
    this.rules.set(list, count);
  }
  policyListFailure(origin: string): void {
    this.inc(`policy_list_failure|${origin}`);
  }
  readonly entries = new Map<string, number>();
  policyEntries(kind: string, count: number): void {
    this.entries.set(kind, count);
  }
}

export interface SentDatagram {
  msg: Buffer;
  to: { host: string; port: number };
  /** Delivers a datagram to the socket that sent this one, as if from `from`. */
  reply(msg: Buffer, from?: { address: string; port: number }): void;
}

/**
 * In-memory UDP: sockets bind to fake ports; `onSend` scripts the network
 * (answer, stay silent, spoof ...). Nothing touches the OS.
 */
export class FakeUdpNetwork {
  readonly sent: SentDatagram[] = [];
  readonly sockets = new Set<UdpSocketLike>();
  private nextPort = 40_000;
  private readonly listeners = new Map<UdpSocketLike, ((msg: Buffer, rinfo: RemoteInfo) => void)[]>();
  onSend: (d: SentDatagram) => void = () => undefined;

  readonly factory: UdpSocketFactory = (family: IpFamily) => {
    let port = 0;
    let host = '';
    let closed = false;
    const listeners: ((msg: Buffer, rinfo: RemoteInfo) => void)[] = [];
    const socket: UdpSocketLike = {
      bind: async (p, h) => {
        port = p === 0 ? this.nextPort++ : p;
        host = h;
      },
      send: async (msg, toPort, toHost) => {
        if (closed) throw new Error('socket closed');
        const d: SentDatagram = {
          msg: Buffer.from(msg),
          to: { host: toHost, port: toPort },
          reply: (answer, from = { address: toHost, port: toPort }) => {
            if (closed) return;
            for (const l of listeners) l(Buffer.from(answer), { address: from.address, port: from.port, family });
          },
        };
        this.sent.push(d);
        this.onSend(d);
      },
      onMessage: (l) => {
        listeners.push(l);
      },
      onError: () => undefined,
      address: () => ({ address: host, port }),
      close: async () => {
        closed = true;
        this.sockets.delete(socket);
      },
    };
    this.sockets.add(socket);
    this.listeners.set(socket, listeners);
    return socket;
  };

  /** Delivers a datagram to a socket, as if sent by `from` (e.g. a client to the server socket). */
  deliverTo(socket: UdpSocketLike, msg: Buffer, from: { address: string; port: number; family?: IpFamily }): void {
    for (const l of this.listeners.get(socket) ?? []) {
      l(Buffer.from(msg), { address: from.address, port: from.port, family: from.family ?? 'IPv4' });
    }
  }
}

/** Records every published batch; can be told to fail the next n publishes. */
export class RecordingPublisher implements EventPublisher {
  readonly batches: QueryEvent[][] = [];
  failNext = 0;
  attempts = 0;

  async publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void> {
    this.attempts++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('bus unavailable');
    }
    if (topic !== 'dns.queries.v1') throw new Error(`unexpected topic ${topic}`);
    this.batches.push([...(values as readonly QueryEvent[])]);
  }

  get events(): QueryEvent[] {
    return this.batches.flat();
  }
}

/** Polls a condition until it holds or the deadline passes (no fixed sleeps). */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 2));
  }
}

/** A QueryEventSink that keeps every event offered (taps and producers under test). */
export class CollectingSink implements QueryEventSink {
  readonly events: QueryEvent[] = [];
  offer(event: QueryEvent): void {
    this.events.push(event);
  }
  get depth(): number {
    return 0;
  }
  async close(): Promise<void> {}
}

import { randomUUID } from 'node:crypto';
import type { QueryEvent } from '@ghostdns/contracts';
import { noDeviceIdentities, type DeviceIdentityLookup } from '../device-identity.js';
import type { AnsweredListener, AnsweredQuery } from '../dns/handler.js';
import { normalizeName, readHeader } from '../dns/wire.js';
import { silentLogger, type EdgeLogger } from '../metrics.js';
import type { QueryEventSink } from './sink.js';

export interface QueryEventProducerOptions {
  node: { id: string; pop: string };
  sink: QueryEventSink;
  /** Who is behind a client address (VPN devices); default: nobody. */
  devices?: DeviceIdentityLookup;
  logger?: EdgeLogger;
}

/** Where answered queries go to become events: in this thread (QueryEventProducer) or another (ThreadedEventRecorder). */
export interface AnswerRecorder {
  /** Called after the answer was sent; synchronous, never throws, never waits. */
  readonly record: AnsweredListener;
  /** Events recorded and not yet published. */
  readonly depth: number;
  /** Publishes (or spools) what remains within timeoutMs. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Turns an answered (and already sent) query into a QueryEvent and offers it
 * to the sink. Synchronous, never throws: event trouble never reaches a client.
 */
export class QueryEventProducer implements AnswerRecorder {
  private readonly node: { id: string; pop: string };
  private readonly sink: QueryEventSink;
  private readonly devices: DeviceIdentityLookup;
  private readonly logger: EdgeLogger;

  constructor(options: QueryEventProducerOptions) {
    this.node = { id: options.node.id, pop: options.node.pop };
    this.sink = options.sink;
    this.devices = options.devices ?? noDeviceIdentities;
    this.logger = options.logger ?? silentLogger;
  }

  get depth(): number {
    return this.sink.depth;
  }

  close(timeoutMs: number): Promise<void> {
    return this.sink.close(timeoutMs);
  }

  readonly record = (answer: AnsweredQuery, responseTimeUs: number): void => {
    try {
      this.sink.offer(this.build(answer, responseTimeUs));
    } catch (err) {
      this.logger.error({ err }, 'could not build query event');
    }
  };

  build(answer: AnsweredQuery, responseTimeUs: number): QueryEvent {
    const header = readHeader(answer.response);
    const q = answer.question;
    return {
      event_id: randomUUID(),
      node_id: this.node.id,
      pop: this.node.pop,
      source: 'RESOLVER_EDGE',
      message_type: 'CLIENT_RESPONSE',
      query_time_us: answer.queryTimeUs,
      response_time_us: responseTimeUs,
      client_ip: answer.client.address,
      client_port: answer.client.port,
      transport: answer.client.transport,
      qname: q ? normalizeName(q.name) : '',
      qtype: q ? q.type : 0,
      qclass: q ? q.class : 0,
      rcode: header ? header.rcode : null,
      flags: header
        ? { ...header.flags }
        : { qr: true, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false },
      answer_count: header ? header.ancount : 0,
      response_size: answer.response.length,
      cache_status: answer.cacheStatus,
      upstream: answer.upstream,
      upstream_latency_us: answer.upstreamLatencyUs,
      policy_action: answer.policyAction,
      device: this.devices.identityFor(answer.client.address),
      // No config key asks for wire capture yet.
      query_wire: null,
      response_wire: null,
    };
  }
}

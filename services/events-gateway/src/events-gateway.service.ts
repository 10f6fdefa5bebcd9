import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Topics } from '@ghostdns/contracts';
import type { TopicName, TopicPayloads } from '@ghostdns/contracts';
import type { DecodedBatch, Subscription } from '@ghostdns/bus';
import { RUNTIME } from '@ghostdns/runtime';
import type { ServiceRuntime } from '@ghostdns/runtime';
import { WebSocketServer } from 'ws';
import { EventsGatewayError } from './errors.js';
import { CloseCodes, LiveEventFanout } from './fanout.js';
import type { FanoutMetrics } from './fanout.js';
import type { LiveEvent } from './live-event.js';
import { LiveEventMapper } from './mapper.js';
import { createGatewayMetrics } from './metrics.js';
import { EVENTS_GATEWAY_OPTIONS, EVENTS_PATH } from './options.js';
import type { EventsGatewayOptions } from './options.js';

/** Readiness probe name registered with the runtime. */
export const EVENTS_GATEWAY_PROBE = 'events-gateway';

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

function rejectUpgrade(socket: Duplex, status: '404 Not Found' | '503 Service Unavailable'): void {
  // Node removed its own error listener when it handed the socket to 'upgrade'.
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Streams live events to WebSocket clients on /ws/events. Subscribes to the
 * query, presence and security topics with a group of its own (every gateway
 * process sees every event, from now on), maps each batch and hands it to the
 * fan-out without waiting on any socket: a slow client never holds up the bus.
 */
@Injectable()
export class EventsGatewayService implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly mapper = new LiveEventMapper();
  private readonly metrics: FanoutMetrics;
  private readonly fanout: LiveEventFanout;
  private readonly groupId: string;
  private wss: WebSocketServer | null = null;
  private server: EventEmitter | null = null;
  private subscriptions: Subscription[] = [];
  private accepting = false;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(EVENTS_GATEWAY_OPTIONS) private readonly options: EventsGatewayOptions,
  ) {
    this.metrics = createGatewayMetrics(runtime.metrics);
    this.fanout = new LiveEventFanout(options, this.metrics);
    this.groupId = `events-gateway-${runtime.config.node.id}-${randomBytes(4).toString('hex')}`;
  }

  /** Connected WebSocket clients. */
  get clientCount(): number {
    return this.fanout.size;
  }

  onModuleInit(): void {
    this.runtime.readiness.register(
      EVENTS_GATEWAY_PROBE,
      () => this.accepting && this.subscriptions.length === 3 && this.runtime.bus.isHealthy(),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    const server: unknown = this.adapterHost.httpAdapter?.getHttpServer();
    if (!(server instanceof EventEmitter)) {
      throw new EventsGatewayError(
        'GHOSTDNS_GATEWAY_NO_HTTP_SERVER',
        'events-gateway needs an HTTP server to attach /ws/events to (start it as a Nest HTTP application)',
      );
    }
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.options.maxIncomingPayloadBytes,
    });
    this.server = server;
    server.on('upgrade', this.onUpgrade);

    const bus = this.runtime.bus;
    // One consumer group per topic: members of one Kafka group that subscribe
    // to different topics get each other's partitions assigned and rebalance
    // without end. The three joins run at once.
    const live = (topic: string) => ({ groupId: `${this.groupId}-${topic}`, fromBeginning: false });
    this.subscriptions.push(
      ...(await Promise.all([
        bus.subscribe(Topics.queries, (b) => this.push(b, (e) => this.mapper.query(e)), live(Topics.queries)),
        bus.subscribe(Topics.presence, (b) => this.push(b, (e) => this.mapper.presence(e)), live(Topics.presence)),
        bus.subscribe(Topics.security, (b) => this.push(b, (e) => this.mapper.security(e)), live(Topics.security)),
      ])),
    );
    this.fanout.startHeartbeat();
    this.accepting = true;
    this.runtime.logger.info({ path: EVENTS_PATH, groupId: this.groupId }, 'events-gateway: live stream attached');
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.accepting = false;
    this.server?.off('upgrade', this.onUpgrade);
    this.server = null;
    const subscriptions = this.subscriptions;
    this.subscriptions = [];
    const results = await Promise.allSettled(subscriptions.map((s) => s.close()));
    for (const r of results) {
      if (r.status === 'rejected') {
        this.runtime.logger.warn({ err: r.reason as unknown }, 'events-gateway: closing a bus subscription failed');
      }
    }
    await this.fanout.closeAll(CloseCodes.goingAway, 'server shutting down');
    const wss = this.wss;
    this.wss = null;
    if (wss !== null) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  /** Bus handler: map and enqueue to sockets, then resolve (live data needs no durability). */
  private async push<K extends TopicName>(
    batch: DecodedBatch<K>,
    map: (value: TopicPayloads[K]) => LiveEvent,
  ): Promise<void> {
    if (this.fanout.size === 0) return;
    const events: LiveEvent[] = [];
    let invalid = 0;
    for (const value of batch.values) {
      try {
        events.push(map(value));
      } catch {
        invalid++;
      }
    }
    if (invalid > 0) {
      this.metrics.dropped('invalid_event', invalid);
      this.runtime.logger.warn(
        { topic: batch.topic, partition: batch.partition, lastOffset: batch.lastOffset, invalid },
        'events-gateway: skipped events that could not be mapped',
      );
    }
    this.fanout.broadcast(events);
  }

  private readonly onUpgrade: UpgradeListener = (req, socket, head) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    if (path !== EVENTS_PATH) {
      // Another listener may own this path; only answer when nobody else can.
      if (this.server !== null && this.server.listenerCount('upgrade') === 1) rejectUpgrade(socket, '404 Not Found');
      return;
    }
    const wss = this.wss;
    if (!this.accepting || wss === null) {
      rejectUpgrade(socket, '503 Service Unavailable');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      this.fanout.accept(ws, url);
    });
  };
}

import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Global, Module } from '@nestjs/common';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Topics } from '@ghostdns/contracts';
import { RUNTIME } from '@ghostdns/runtime';
import type { ServiceRuntime } from '@ghostdns/runtime';
import { EVENTS_GATEWAY_PROBE, EventsGatewayModule, EventsGatewayService } from '../src/index.js';
import { presenceEvent, queryEvent, securityEvent } from './fixtures.js';
import { testRuntime } from './runtime-stub.js';
import type { TestRuntime } from './runtime-stub.js';

function runtimeModule(runtime: ServiceRuntime): DynamicModule {
  @Global()
  @Module({})
  class TestRuntimeModule {}
  return { module: TestRuntimeModule, global: true, providers: [{ provide: RUNTIME, useValue: runtime }], exports: [RUNTIME] };
}

interface Harness {
  app: NestFastifyApplication;
  runtime: TestRuntime;
  url: string;
}

let harness: Harness | null = null;
const sockets: WebSocket[] = [];

async function start(gateway: Type | DynamicModule = EventsGatewayModule): Promise<Harness> {
  const runtime = testRuntime({ node: { id: 'gw-test' } });
  await runtime.bus.connect();
  @Module({ imports: [runtimeModule(runtime), gateway] })
  class AppModule {}
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
    logger: false,
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  harness = { app, runtime, url: `ws://127.0.0.1:${port}` };
  return harness;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  if (harness !== null) {
    await harness.app.close();
    await harness.runtime.bus.close();
    harness = null;
  }
});

function connect(url: string): WebSocket {
  const ws = new WebSocket(url);
  sockets.push(ws);
  return ws;
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8'))));
    ws.once('close', (code: number) => reject(new Error(`closed with ${code} before a message`)));
  });
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString('utf8') }));
  });
}

/** Resolves when the gateway has registered `n` clients (polls with a deadline; no sleeps). */
async function clientsConnected(h: Harness, n: number): Promise<void> {
  const service = h.app.get(EventsGatewayService);
  const deadline = Date.now() + 5000;
  while (service.clientCount !== n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} clients, have ${service.clientCount}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('events-gateway over Fastify + ws', () => {
  it('streams a published QueryEvent to a connected client as GhostScale JSON', async () => {
    const h = await start();
    const ws = connect(`${h.url}/ws/events`);
    await opened(ws);
    await clientsConnected(h, 1);

    const message = nextMessage(ws);
    await h.runtime.bus.publish(Topics.queries, [queryEvent({ client_ip: '100.64.1.2', qname: 'grafana.tail1234.ts.net' })]);

    expect(await message).toEqual({
      type: 'tailscale_query',
      event_id: '3b0c4f0e-7a51-4d0b-9a57-6f1f3c0f2a10',
      client: '100.64.1.2',
      domain: 'grafana.tail1234.ts.net',
      qtype: 'A',
      rcode: 'NOERROR',
      timestamp: '2023-11-14T22:13:20.123Z',
      node_id: 'edge-1',
      pop: 'fra',
      transport: 'UDP',
      cache_status: 'MISS',
      policy_action: 'PASS',
      latency_ms: 2.333,
    });
    expect(await h.runtime.probes.get(EVENTS_GATEWAY_PROBE)?.()).toBe(true);

    const metrics = await h.runtime.metrics.metrics();
    expect(metrics).toMatch(/^ghostdns_ws_clients 1$/m);
    expect(metrics).toMatch(/^ghostdns_ws_messages_sent_total 1$/m);
    expect(metrics).toMatch(/^ghostdns_ws_dropped_total\{reason="backpressure"\} 0$/m);
  });

  it('applies the type filter: presence and security events, not queries', async () => {
    const h = await start();
    const ws = connect(`${h.url}/ws/events?types=device_online,security_event`);
    await opened(ws);
    await clientsConnected(h, 1);

    const first = nextMessage(ws);
    await h.runtime.bus.publish(Topics.queries, [queryEvent()]);
    await h.runtime.bus.publish(Topics.presence, [presenceEvent()]);
    expect(await first).toMatchObject({ type: 'device_online', device: 'laptop' });

    const second = nextMessage(ws);
    await h.runtime.bus.publish(Topics.security, [securityEvent()]);
    expect(await second).toMatchObject({ type: 'security_event', client: '100.100.1.2', domain: 'xk2j4h5g6f.tk' });
  });

  it('closes a connection with a bad filter with 1008 and a reason', async () => {
    const h = await start();
    const ws = connect(`${h.url}/ws/events?types=funnel_access`);
    expect(await closed(ws)).toEqual({ code: 1008, reason: 'bad filter: unknown type "funnel_access"' });
    expect(h.app.get(EventsGatewayService).clientCount).toBe(0);
  });

  it('enforces the connection limit with 1013', async () => {
    const h = await start(EventsGatewayModule.withOptions({ maxClients: 1 }));
    const first = connect(`${h.url}/ws/events`);
    await opened(first);
    await clientsConnected(h, 1);
    const second = connect(`${h.url}/ws/events`);
    expect(await closed(second)).toEqual({ code: 1013, reason: 'connection limit reached' });
  });

  it('answers 404 to an upgrade on another path when nobody else handles it', async () => {
    const h = await start();
    const ws = connect(`${h.url}/ws/other`);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('error', () => resolve(undefined));
    });
    expect(status).toBe(404);
  });

  it('closes every client with 1001 on shutdown', async () => {
    const h = await start();
    const ws = connect(`${h.url}/ws/events`);
    await opened(ws);
    await clientsConnected(h, 1);
    const gone = closed(ws);
    await h.app.close();
    expect(await gone).toEqual({ code: 1001, reason: 'server shutting down' });
    await h.runtime.bus.close();
    harness = null;
  });

  it('still serves plain HTTP routes on the same server', async () => {
    const h = await start();
    const res = await fetch(`${h.url.replace('ws://', 'http://')}/nope`);
    expect(res.status).toBe(404);
  });
});

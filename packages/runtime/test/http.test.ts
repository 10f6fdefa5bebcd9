import 'reflect-metadata';
import { Writable } from 'node:stream';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpException,
  Inject,
  Module,
  NotFoundException,
  Post,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { EventBus } from '@ghostdns/bus';
import { ConfigError, parseConfig } from '@ghostdns/config';
import { createBusMetrics, createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, listenHttp } from '../src/app.js';
import { assembleRuntime } from '../src/compose.js';
import { createReadinessRegistry, type ReadinessReporter } from '../src/readiness.js';
import { RuntimeModule } from '../src/runtime.module.js';
import { RUNTIME, type ServiceRuntime } from '../src/types.js';

const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  name: 'runtime-test',
  destination: new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
});

function fakeBus(healthy: () => boolean): EventBus {
  return {
    kind: 'in-process',
    connect: async () => undefined,
    publish: async () => undefined,
    subscribe: async () => ({ close: async () => undefined }),
    isHealthy: healthy,
    close: async () => undefined,
  };
}

class CodedError extends Error {
  constructor(
    readonly code: string,
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

@Controller('boom')
class BoomController {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}

  @Get('not-found')
  notFound(): never {
    throw new NotFoundException('no such record');
  }

  @Get('validation')
  validation(): never {
    throw new BadRequestException(['name must be a string', 'ttl must be positive']);
  }

  @Get('coded')
  coded(): never {
    throw new CodedError('GHOSTDNS_TEST_CONFLICT', 409, 'record already exists');
  }

  @Get('coded-no-status')
  codedNoStatus(): never {
    throw new CodedError('GHOSTDNS_TEST_BROKEN', undefined, 'store unavailable');
  }

  @Get('plain')
  plain(): never {
    throw new Error('password=hunter2 at db.internal:5432');
  }

  @Get('http-500')
  http500(): never {
    throw new ServiceUnavailableException('pool exhausted on 10.0.0.7');
  }

  @Get('teapot')
  teapot(): never {
    throw new HttpException({ code: 'GHOSTDNS_TEST_TEAPOT', message: 'short and stout' }, 418);
  }

  @Get('database')
  database(): string {
    this.runtime.requireDatabase();
    return 'unreachable';
  }

  @Post('echo')
  echo(@Body() body: unknown): unknown {
    return body;
  }
}

@Module({ controllers: [BoomController] })
class BoomModule {}

interface Harness {
  app: NestFastifyApplication;
  url: string;
  readiness: ReadinessReporter;
  state: { busHealthy: boolean; dbProbe: () => boolean | Promise<boolean> };
}

async function startHarness(): Promise<Harness> {
  const state: Harness['state'] = { busHealthy: true, dbProbe: () => true };
  const metrics = createMetricsRegistry();
  createBusMetrics(metrics).published('dns.queries.v1', 3);
  const base = assembleRuntime({
    mode: 'standalone',
    config: parseConfig({ http: { listen: '127.0.0.1:0' } }),
    logger,
    metrics,
    bus: fakeBus(() => state.busHealthy),
    database: undefined,
    owner: 'runtime-test',
  });
  const readiness = createReadinessRegistry({ probeTimeoutMs: 100 });
  readiness.register('bus', () => state.busHealthy);
  readiness.register('database', () => state.dbProbe());
  const runtime: ServiceRuntime = { ...base, readiness, requireDatabase: () => base.requireDatabase() };
  runtime.metricsSources.add('workers', async () => '# TYPE worker_things_total counter\nworker_things_total 7\n');
  runtime.metricsSources.add('broken', () => Promise.reject(new Error('worker gone')));
  const app = await createHttpApp(runtime, [BoomModule]);
  const url = await listenHttp(app, '127.0.0.1:0');
  return { app, url, readiness, state };
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

describe('runtime HTTP endpoints', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.app.close();
  });

  it('binds the requested port 0 to a real port', () => {
    expect(h.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(h.url).not.toMatch(/:0$/);
  });

  it('GET /healthz -> 200 ok', async () => {
    expect(await getJson(`${h.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('GET /readyz -> 200 with each probe while all are up', async () => {
    h.state.busHealthy = true;
    h.state.dbProbe = () => true;
    const res = await getJson(`${h.url}/readyz`);
    expect(res).toMatchObject({ status: 200, body: { status: 'ready', probes: { bus: { ok: true }, database: { ok: true } } } });
  });

  it.each<[string, () => void, Record<string, unknown>]>([
    ['a probe returns false', () => void (h.state.busHealthy = false), { bus: { ok: false, failure: 'false' }, database: { ok: true } }],
    [
      'a probe throws',
      () => {
        h.state.busHealthy = true;
        h.state.dbProbe = () => {
          throw new Error('connection refused');
        };
      },
      { bus: { ok: true }, database: { ok: false, failure: 'error' } },
    ],
    [
      'a probe rejects',
      () => {
        h.state.dbProbe = () => Promise.reject(new Error('nope'));
      },
      { database: { ok: false, failure: 'error' } },
    ],
    [
      'a probe never answers',
      () => {
        h.state.dbProbe = () => new Promise<boolean>(() => undefined);
      },
      { database: { ok: false, failure: 'timeout' } },
    ],
  ])('GET /readyz -> 503 when %s', async (_name, arrange, probes) => {
    arrange();
    const res = await getJson(`${h.url}/readyz`);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'not_ready', probes });
    expect(res.text).not.toContain('connection refused');
  });

  it('GET /metrics -> Prometheus text', async () => {
    const response = await fetch(`${h.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('ghostdns_bus_published_messages_total{topic="dns.queries.v1"} 3');
    // metricsSources follow the registry; a failing source is left out, the scrape still succeeds.
    expect(text).toContain('\n# TYPE worker_things_total counter\nworker_things_total 7\n');
  });

  it.each<[string, number, string, string]>([
    ['/boom/not-found', 404, 'GHOSTDNS_HTTP_NOT_FOUND', 'no such record'],
    ['/boom/validation', 400, 'GHOSTDNS_HTTP_BAD_REQUEST', 'name must be a string; ttl must be positive'],
    ['/boom/coded', 409, 'GHOSTDNS_TEST_CONFLICT', 'record already exists'],
    ['/boom/coded-no-status', 500, 'GHOSTDNS_TEST_BROKEN', 'store unavailable'],
    ['/boom/plain', 500, 'GHOSTDNS_INTERNAL', 'internal error'],
    ['/boom/http-500', 503, 'GHOSTDNS_HTTP_SERVICE_UNAVAILABLE', 'internal error'],
    ['/boom/teapot', 418, 'GHOSTDNS_TEST_TEAPOT', 'short and stout'],
    ['/no/such/route', 404, 'GHOSTDNS_HTTP_NOT_FOUND', 'Cannot GET /no/such/route'],
  ])('GET %s -> %i %s', async (path, status, code, message) => {
    const res = await getJson(`${h.url}${path}`);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code, message } });
    expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(res.text).not.toContain('hunter2');
    expect(res.text).not.toContain('10.0.0.7');
  });

  it('requireDatabase without a database -> 500 naming DATABASE_URL', async () => {
    const res = await getJson(`${h.url}/boom/database`);
    expect(res.status).toBe(500);
    const body = res.body as { error: { code: string; message: string } };
    expect(body.error.code).toBe('GHOSTDNS_CONFIG_INVALID');
    expect(body.error.message).toContain('DATABASE_URL');
  });

  it('malformed JSON body -> 400 JSON error', async () => {
    const res = await getJson(`${h.url}/boom/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"broken":',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'GHOSTDNS_HTTP_BAD_REQUEST' } });
  });

  it('logs 5xx with the error (server side only)', () => {
    expect(logLines.some((line) => line.includes('hunter2') || line.includes('password'))).toBe(true);
  });

  it('GET /readyz -> 503 shutting_down once shutdown began; /healthz stays 200', async () => {
    h.state.dbProbe = () => true;
    h.state.busHealthy = true;
    h.readiness.markShuttingDown();
    expect(await getJson(`${h.url}/readyz`)).toMatchObject({ status: 503, body: { status: 'shutting_down' } });
    expect((await getJson(`${h.url}/healthz`)).status).toBe(200);
  });
});

describe('RuntimeModule.forRoot', () => {
  it('refuses a readiness registry it cannot check', () => {
    const runtime = { readiness: { register: () => undefined } } as unknown as ServiceRuntime;
    expect(() => RuntimeModule.forRoot(runtime)).toThrow(/createReadinessRegistry/);
  });

  it('requireDatabase throws ConfigError naming DATABASE_URL', () => {
    const runtime = assembleRuntime({
      mode: 'distributed',
      config: parseConfig({}),
      logger,
      metrics: createMetricsRegistry({ processMetrics: false }),
      bus: fakeBus(() => true),
      database: undefined,
      owner: 'records-api',
    });
    expect(() => runtime.requireDatabase()).toThrow(ConfigError);
    expect(() => runtime.requireDatabase()).toThrow(/DATABASE_URL.*records-api/);
  });
});

import { HttpException, NotFoundException } from '@nestjs/common';
import { createLogger } from '@ghostdns/observability';
import { describe, expect, it } from 'vitest';
import { toErrorResponse } from '../src/exception.filter.js';
import { Lifecycle } from '../src/lifecycle.js';
import { createReadinessRegistry } from '../src/readiness.js';

const silent = createLogger({ level: 'fatal', name: 'test' });

describe('toErrorResponse', () => {
  it.each<[string, unknown, number, string, string]>([
    ['HttpException', new NotFoundException('gone'), 404, 'GHOSTDNS_HTTP_NOT_FOUND', 'gone'],
    ['coded error with status', Object.assign(new Error('bad'), { code: 'GHOSTDNS_X_BAD', status: 422 }), 422, 'GHOSTDNS_X_BAD', 'bad'],
    ['coded error with httpStatus', Object.assign(new Error('bad'), { code: 'GHOSTDNS_X_BAD', httpStatus: 403 }), 403, 'GHOSTDNS_X_BAD', 'bad'],
    ['coded error, status out of range', Object.assign(new Error('bad'), { code: 'GHOSTDNS_X_BAD', status: 200 }), 500, 'GHOSTDNS_X_BAD', 'bad'],
    ['non-GhostDNS code', Object.assign(new Error('ECONNREFUSED 10.1.1.1'), { code: 'ECONNREFUSED' }), 500, 'GHOSTDNS_INTERNAL', 'internal error'],
    ['fastify client error', Object.assign(new Error('Body is not valid JSON'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }), 400, 'GHOSTDNS_HTTP_BAD_REQUEST', 'Body is not valid JSON'],
    ['a string', 'boom', 500, 'GHOSTDNS_INTERNAL', 'internal error'],
    ['null', null, 500, 'GHOSTDNS_INTERNAL', 'internal error'],
    ['HttpException 5xx', new HttpException('secret detail', 502), 502, 'GHOSTDNS_HTTP_BAD_GATEWAY', 'internal error'],
  ])('%s', (_name, exception, status, code, message) => {
    expect(toErrorResponse(exception)).toEqual({ status, body: { error: { code, message } } });
  });

  it('drops stack frames embedded in a message', () => {
    const error = Object.assign(new Error('bad thing\n    at foo (/x.ts:1:1)'), { code: 'GHOSTDNS_X_BAD', status: 400 });
    expect(toErrorResponse(error).body.error.message).toBe('bad thing');
  });
});

describe('readiness registry', () => {
  it('is ready with no probes and keeps duplicate names apart', async () => {
    const registry = createReadinessRegistry();
    expect(await registry.check()).toEqual({ ready: true, shuttingDown: false, probes: {} });
    registry.register('db', () => true);
    registry.register('db', () => false);
    expect(registry.names()).toEqual(['db', 'db#2']);
    expect((await registry.check()).ready).toBe(false);
  });
});

describe('Lifecycle', () => {
  it('closes in reverse order, keeps going after a failure, and only once', async () => {
    const order: string[] = [];
    const lifecycle = new Lifecycle(silent);
    lifecycle.add({ name: 'db', close: () => void order.push('db') });
    lifecycle.add({
      name: 'bus',
      close: () => {
        order.push('bus');
        throw new Error('bus stuck');
      },
    });
    lifecycle.add({ name: 'http', close: async () => void order.push('http') });
    const [first, second] = await Promise.all([lifecycle.close(), lifecycle.close()]);
    expect(first).toBe(false);
    expect(second).toBe(false);
    expect(order).toEqual(['http', 'bus', 'db']);
  });

  it('closes by phase: readiness, http, bus, store, database, embedded-postgres', async () => {
    const order: string[] = [];
    const lifecycle = new Lifecycle(silent);
    for (const phase of ['bus', 'embedded-postgres', 'database', 'store', 'http', 'readiness'] as const) {
      lifecycle.add({ name: phase, phase, close: () => void order.push(phase) });
    }
    expect(await lifecycle.close()).toBe(true);
    expect(order).toEqual(['readiness', 'http', 'bus', 'store', 'database', 'embedded-postgres']);
  });
});

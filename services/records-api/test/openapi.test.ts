import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@ghostdns/db';
import { RecordsApiModule } from '../src/module.js';
import { startRecordsApi, type TestServer } from './support/http.js';
import { testRuntime } from './support/runtime.js';

// The checked-in OpenAPI document and the routes the Nest app registers must agree, both ways.

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
}

const doc = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8')) as OpenApi;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** `api/v1/records` + `:id` -> `/api/v1/records/{id}` */
function openApiPath(...parts: string[]): string {
  const joined = parts.flatMap((p) => p.split('/')).filter((p) => p !== '').join('/');
  return `/${joined}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Every (method, path) of every controller of RecordsApiModule, from Nest's own route metadata. */
function nestRoutes(): string[] {
  const controllers = (Reflect.getMetadata('controllers', RecordsApiModule) ?? []) as (new (...args: never[]) => unknown)[];
  const routes: string[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const proto = controller.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const handler = proto[key];
      if (key === 'constructor' || typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      routes.push(`${RequestMethod[method].toLowerCase()} ${openApiPath(base, path)}`);
    }
  }
  return routes.sort();
}

function documentedRoutes(): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((m) => HTTP_METHODS.includes(m)).map((m) => `${m} ${path}`))
    .sort();
}

/** A pool that answers every query with no rows (boot: empty dns_records; one token exists). */
const pool = {
  query: async () => ({ rows: [] }),
  connect: async () => ({ query: async () => ({ rows: [{ n: '1' }] }), release: () => undefined }),
};
const database = { pool: pool as unknown as pg.Pool, engine: 'postgres', isHealthy: async () => true, close: async () => undefined } as unknown as Database;
const runtime = testRuntime(database);
let server: TestServer;

beforeAll(async () => {
  await runtime.bus.connect();
  server = await startRecordsApi(runtime);
});

afterAll(async () => {
  await server.close();
  await runtime.bus.close();
});

describe('OpenAPI document (services/records-api/openapi.json)', () => {
  it('is OpenAPI 3.1 and lists exactly the routes the controllers declare', () => {
    expect(doc.openapi).toBe('3.1.0');
    const routes = nestRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(15);
    expect(documentedRoutes()).toEqual(routes);
    expect(routes).toEqual(expect.arrayContaining([
      'get /api/v1/presence/peers',
      'get /api/v1/presence/mappings',
      'put /api/v1/presence/mappings/{source}/{deviceId}',
      'delete /api/v1/presence/mappings/{source}/{deviceId}',
      'get /api/v1/security/events',
      'get /api/v1/blocklists',
      'post /api/v1/blocklists',
      'get /api/v1/blocklists/{id}',
      'put /api/v1/blocklists/{id}',
      'delete /api/v1/blocklists/{id}',
      'get /api/v1/blocklists/entries',
      'post /api/v1/blocklists/entries',
      'delete /api/v1/blocklists/entries/{id}',
    ]));
  });

  it('every documented route is registered on the running Fastify instance', () => {
    const fastify = server.app.getHttpAdapter().getInstance();
    for (const route of documentedRoutes()) {
      const [method = '', path = ''] = route.split(' ');
      const url = path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
      expect(fastify.hasRoute({ method: method.toUpperCase(), url }), route).toBe(true);
    }
  });

  it('every $ref resolves', () => {
    const text = JSON.stringify(doc);
    const schemas = (doc as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas;
    for (const [, name] of text.matchAll(/"#\/components\/schemas\/([A-Za-z]+)"/g)) expect(schemas, name).toHaveProperty(name ?? '');
  });

  it('is served at /api/docs', async () => {
    const { status, body } = await server.get('/api/docs');
    expect(status).toBe(200);
    expect(body).toEqual(doc);
  });
});

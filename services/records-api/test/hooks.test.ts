import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { installApiHooks } from '../src/http/hooks.js';

const app = Fastify();
installApiHooks(app, { corsOrigins: ['https://ghostscale.example'], bodyLimitBytes: 1024, rateLimitPerMinute: 3 });
app.post('/api/v1/echo', async () => ({ ok: true }));
app.get('/healthz', async () => ({ ok: true }));
afterAll(() => app.close());

describe('/api/* hooks', () => {
  it('413 by Content-Length before the body is read', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { 'content-type': 'application/json', 'x-api-key': 'k1' }, payload: JSON.stringify({ a: 'x'.repeat(2000) }) });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toEqual({ error: { code: 'GHOSTDNS_API_PAYLOAD_TOO_LARGE', message: expect.stringContaining('1024') as unknown } });
  });

  it('CORS only for a listed origin; a preflight answers 204', async () => {
    const listed = await app.inject({ method: 'OPTIONS', url: '/api/v1/echo', headers: { origin: 'https://ghostscale.example', 'x-api-key': 'k2' } });
    expect(listed.statusCode).toBe(204);
    expect(listed.headers['access-control-allow-origin']).toBe('https://ghostscale.example');
    const other = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { origin: 'https://evil.example', 'x-api-key': 'k2' }, payload: {} });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('429 with Retry-After past the per-token limit; other tokens and non-API paths unaffected', async () => {
    const call = (key: string) => app.inject({ method: 'POST', url: '/api/v1/echo', headers: { 'x-api-key': key }, payload: {} });
    for (let i = 0; i < 3; i++) expect((await call('k3')).statusCode).toBe(200);
    const limited = await call('k3');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'GHOSTDNS_API_RATE_LIMITED' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await call('k4')).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

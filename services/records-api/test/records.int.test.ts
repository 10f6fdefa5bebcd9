import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topics, type RecordChangeEvent } from '@ghostdns/contracts';
import { type Database } from '@ghostdns/db';
import { waitFor } from '@ghostdns/testkit';
import { PgTokenStore } from '../src/auth/token.repository.js';
import { TokenService } from '../src/auth/token.service.js';
import { startApiOnScratchDatabase, type ApiFixture } from './support/api-fixture.js';
import { type TestServer } from './support/http.js';
import { testRuntime } from './support/runtime.js';


describe('records API on PostgreSQL (scratch database)', () => {
  let fixture: ApiFixture;
  let db: Database;
  let runtime: ReturnType<typeof testRuntime>;
  let server: TestServer;
  let admin: string;
  const events: RecordChangeEvent[] = [];

  beforeAll(async () => {
    fixture = await startApiOnScratchDatabase({ api: { rateLimitPerMinute: 0, bodyLimitBytes: 2048 } });
    ({ db, runtime, server, admin } = fixture);
    await runtime.bus.subscribe(Topics.recordChanges, async (batch) => void events.push(...batch.values), { groupId: 'test', fromBeginning: true });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  const auth = (): Record<string, string> => ({ authorization: `Bearer ${admin}`, 'content-type': 'application/json' });

  it('created the first-start admin token file, mode 600, and logged only its path', async () => {
    expect(admin).toMatch(/^gdns_[A-Za-z0-9_-]{43}$/);
    expect((await stat(path.join(fixture.dataDir, 'admin.token'))).mode & 0o777).toBe(0o600);
    const { rows } = await db.pool.query<{ scopes: string[]; token_hash: string }>('SELECT scopes, token_hash FROM api_tokens');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.scopes).toEqual(['admin']);
    expect(rows[0]?.token_hash).not.toContain(admin);
    // A second start with a token present creates nothing.
    expect(await new TokenService(new PgTokenStore(db.pool)).bootstrapAdmin(fixture.dataDir)).toBeNull();
  });

  it('registers the seed body, publishes the RRset, audits the write', async () => {
    const response = await fetch(`${server.url}/api/v1/records`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        action: 'register',
        domain: 'monitoring.mycompany.ts.net',
        type: 'A',
        value: '100.64.0.10',
        ttl: 300,
        metadata: { service: 'monitoring-dashboard', health_check: '/health', managed_by: 'ghostscale' },
      }),
    });
    expect(response.status).toBe(201);
    const record = (await response.json()) as { id: string; values: string[]; domain: string };
    expect(record).toMatchObject({ domain: 'monitoring.mycompany.ts.net', type: 'A', ttl: 300, values: ['100.64.0.10'] });
    await waitFor(async () => events.some((e) => e.record_id === record.id), { timeoutMs: 5000, intervalMs: 20, description: 'the change event' });
    expect(events.find((e) => e.record_id === record.id)).toMatchObject({ op: 'UPSERT', name: 'monitoring.mycompany.ts.net', type: 'A', values: ['100.64.0.10'] });

    // A second instance: several values, answered round-robin by the edges.
    const second = await fetch(`${server.url}/api/v1/records`, {
      method: 'POST', headers: auth(), body: JSON.stringify({ action: 'register', domain: 'monitoring.mycompany.ts.net', type: 'A', value: '100.64.0.11' }),
    });
    expect(second.status).toBe(200);
    expect(((await second.json()) as { values: string[] }).values).toEqual(['100.64.0.10', '100.64.0.11']);

    const { rows } = await db.pool.query<{ actor: string; action: string }>('SELECT actor, action FROM api_audit_log WHERE target = $1 ORDER BY id', [record.id]);
    expect(rows.map((r) => r.action)).toEqual(['record.create', 'record.register']);
    expect(rows[0]?.actor).toMatch(/^token:bootstrap-admin:/);
  });

  it("accepts the service-mesh variant: no action, no ttl, no Content-Type (text/plain)", async () => {
    const response = await fetch(`${server.url}/api/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: JSON.stringify({ domain: 'api.payments.svc.ts.net', type: 'A', value: '100.64.0.20', metadata: { namespace: 'payments', version: '1.2.3' } }),
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ name: 'api.payments.svc.ts.net', ttl: 300, values: ['100.64.0.20'] });
  });

  it('GET, list with filters and Link, PUT, DELETE', async () => {
    const created = (await (await fetch(`${server.url}/api/v1/records`, {
      method: 'POST', headers: auth(), body: JSON.stringify({ domain: 'crud.example.ts.net', type: 'TXT', value: 'v=1' }),
    })).json()) as { id: string };
    expect((await server.get(`/api/v1/records/${created.id}`)).body).toMatchObject({ id: created.id, type: 'TXT', values: ['v=1'] });

    const page = await fetch(`${server.url}/api/v1/records?zone=ts.net&limit=1`);
    expect(page.status).toBe(200);
    expect((await page.json()) as unknown[]).toHaveLength(1);
    expect(page.headers.get('link')).toMatch(/offset=1.*rel="next"/);
    const filtered = await server.get('/api/v1/records?type=txt&name=crud.example.ts.net');
    expect((filtered.body as { id: string }[]).map((r) => r.id)).toEqual([created.id]);

    const put = await fetch(`${server.url}/api/v1/records/${created.id}`, { method: 'PUT', headers: auth(), body: JSON.stringify({ values: ['v=2', 'v=3'], ttl: 60 }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ ttl: 60, values: ['v=2', 'v=3'] });

    const del = await fetch(`${server.url}/api/v1/records/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(del.status).toBe(204);
    expect((await server.get(`/api/v1/records/${created.id}`)).status).toBe(404);
    await waitFor(async () => events.some((e) => e.record_id === created.id && e.op === 'DELETE'), { timeoutMs: 5000, intervalMs: 20, description: 'the DELETE event' });
  });

  it('enforces the CNAME rule against what is stored (409)', async () => {
    await fetch(`${server.url}/api/v1/records`, { method: 'POST', headers: auth(), body: JSON.stringify({ domain: 'alias.example.ts.net', type: 'CNAME', value: 'target.example.ts.net' }) });
    const clash = await fetch(`${server.url}/api/v1/records`, { method: 'POST', headers: auth(), body: JSON.stringify({ domain: 'alias.example.ts.net', type: 'A', value: '100.64.0.1' }) });
    expect(clash.status).toBe(409);
    expect(await clash.json()).toMatchObject({ error: { code: 'GHOSTDNS_API_ZONE_CONFLICT' } });
  });

  it.each([
    ['no token', {}, 401, 'GHOSTDNS_API_UNAUTHORIZED'],
    ['a wrong token', { authorization: `Bearer gdns_${'A'.repeat(43)}` }, 401, 'GHOSTDNS_API_UNAUTHORIZED'],
    ['a malformed header', { authorization: 'Basic abc' }, 401, 'GHOSTDNS_API_UNAUTHORIZED'],
  ])('refuses a write with %s', async (_label, headers, status, code) => {
    const response = await fetch(`${server.url}/api/v1/records`, {
      method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ domain: 'x.example.ts.net', type: 'A', value: '100.64.0.1' }),
    });
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { code } });
  });

  it('403 for a read-only token; works with X-API-Key; revoked tokens stop working', async () => {
    const service = new TokenService(new PgTokenStore(db.pool));
    const reader = await service.create('reader', ['read'], 'test');
    const writer = await service.create('writer', ['write'], 'test');
    const body = JSON.stringify({ domain: 'scoped.example.ts.net', type: 'A', value: '100.64.0.2' });
    const asReader = await fetch(`${server.url}/api/v1/records`, { method: 'POST', headers: { 'x-api-key': reader.token, 'content-type': 'application/json' }, body });
    expect(asReader.status).toBe(403);
    const asWriter = await fetch(`${server.url}/api/v1/records`, { method: 'POST', headers: { 'x-api-key': writer.token, 'content-type': 'application/json' }, body });
    expect(asWriter.status).toBe(201);
    expect(await service.revoke(writer.id, 'test')).toMatchObject({ id: writer.id });
    const revoked = await fetch(`${server.url}/api/v1/records`, { method: 'POST', headers: { 'x-api-key': writer.token, 'content-type': 'application/json' }, body });
    expect(revoked.status).toBe(401);
  });

  it('413 for a body over api.bodyLimitBytes, 400 naming the field for a bad one', async () => {
    const big = await fetch(`${server.url}/api/v1/records`, { method: 'POST', headers: auth(), body: JSON.stringify({ domain: 'big.example.ts.net', type: 'TXT', value: 'x'.repeat(4000) }) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'GHOSTDNS_API_PAYLOAD_TOO_LARGE' } });
    const bad = await fetch(`${server.url}/api/v1/records`, { method: 'POST', headers: auth(), body: JSON.stringify({ domain: 'bad.example.ts.net', type: 'A', value: '300.1.1.1' }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'GHOSTDNS_API_INVALID_BODY', message: expect.stringContaining("'value'") as unknown } });
  });

  it('publishes every stored RRset as a snapshot', async () => {
    const before = events.length;
    const { RecordsService } = await import('../src/records/records.service.js');
    const { PgRecordsStore } = await import('../src/records/records.repository.js');
    const count = await new RecordsService(new PgRecordsStore(db.pool), runtime.bus).publishSnapshot();
    expect(count).toBeGreaterThanOrEqual(3);
    await waitFor(async () => events.length >= before + count, { timeoutMs: 5000, intervalMs: 20, description: 'the snapshot events' });
  });
});

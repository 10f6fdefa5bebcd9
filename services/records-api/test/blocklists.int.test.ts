import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topics, type PolicyChangeEvent } from '@ghostdns/contracts';
import { type Database } from '@ghostdns/db';
import { waitFor } from '@ghostdns/testkit';
import { PgTokenStore } from '../src/auth/token.repository.js';
import { TokenService } from '../src/auth/token.service.js';
import { startApiOnScratchDatabase, type ApiFixture } from './support/api-fixture.js';
import { startRecordsApi, type TestServer } from './support/http.js';
import { testRuntime } from './support/runtime.js';


interface Reply {
  status: number;
  body: unknown;
  link: string | null;
}

describe('blocklists API on PostgreSQL (scratch database)', () => {
  let fixture: ApiFixture;
  let db: Database;
  let runtime: ReturnType<typeof testRuntime>;
  let server: TestServer;
  let admin: string;
  const events: PolicyChangeEvent[] = [];

  beforeAll(async () => {
    fixture = await startApiOnScratchDatabase({ api: { rateLimitPerMinute: 0 } });
    ({ db, runtime, server, admin } = fixture);
    await runtime.bus.subscribe(Topics.policyChanges, async (batch) => void events.push(...batch.values), { groupId: 'test', fromBeginning: true });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  async function call(method: string, route: string, body?: unknown, token: string | null = admin): Promise<Reply> {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${server.url}${route}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text.length > 0 ? (JSON.parse(text) as unknown) : null, link: response.headers.get('link') };
  }

  const eventFor = async (id: string, op: PolicyChangeEvent['op']): Promise<PolicyChangeEvent | undefined> =>
    waitFor(() => events.find((e) => e.id === id && e.op === op), { timeoutMs: 5_000, intervalMs: 20, description: `the ${op} of ${id}` });

  it('creates, reads, changes and deletes a list; every write is published and audited', async () => {
    const created = await call('POST', '/api/v1/blocklists', { kind: 'block', source: 'HTTPS://Lists.Example.NET/hosts.txt', format: 'hosts' });
    expect(created.status).toBe(201);
    const list = created.body as { id: string; source: string };
    expect(list).toMatchObject({ kind: 'block', source: 'https://lists.example.net/hosts.txt', format: 'hosts', enabled: true });
    expect(await eventFor(list.id, 'UPSERT')).toMatchObject({ entity: 'LIST', kind: 'BLOCK', source: list.source, format: 'HOSTS', enabled: true, domain: null });

    expect(await call('GET', `/api/v1/blocklists/${list.id}`)).toMatchObject({ status: 200, body: { id: list.id } });
    const duplicate = await call('POST', '/api/v1/blocklists', { kind: 'block', source: 'https://lists.example.net/hosts.txt' });
    expect(duplicate).toMatchObject({ status: 409, body: { error: { code: 'GHOSTDNS_API_BLOCKLIST_CONFLICT' } } });

    const put = await call('PUT', `/api/v1/blocklists/${list.id}`, { enabled: false, format: 'auto' });
    expect(put).toMatchObject({ status: 200, body: { enabled: false, format: 'auto', source: list.source } });
    await waitFor(() => events.some((e) => e.id === list.id && e.enabled === false), { timeoutMs: 5_000, intervalMs: 20, description: 'the disabled list' });

    expect((await call('DELETE', `/api/v1/blocklists/${list.id}`)).status).toBe(204);
    expect(await eventFor(list.id, 'DELETE')).toMatchObject({ entity: 'LIST', source: list.source });
    expect(await call('GET', `/api/v1/blocklists/${list.id}`)).toMatchObject({ status: 404, body: { error: { code: 'GHOSTDNS_API_BLOCKLIST_NOT_FOUND' } } });
    expect((await call('PUT', `/api/v1/blocklists/${list.id}`, { enabled: true })).status).toBe(404);
    expect((await call('DELETE', '/api/v1/blocklists/not-a-uuid')).status).toBe(404);

    const { rows } = await db.pool.query<{ action: string; actor: string }>('SELECT action, actor FROM api_audit_log WHERE target = $1 ORDER BY id', [list.id]);
    expect(rows.map((r) => r.action)).toEqual(['blocklist.create', 'blocklist.update', 'blocklist.delete']);
    expect(rows[0]?.actor).toMatch(/^token:bootstrap-admin:/);
  });

  it('adds custom domains, pages them through Link, deletes them', async () => {
    const ids: string[] = [];
    for (const [kind, domain] of [['block', 'Ads.Example.COM.'], ['block', 'tracker.example'], ['allow', 'login.example.com']] as const) {
      const created = await call('POST', '/api/v1/blocklists/entries', { kind, domain, comment: `${kind} it` });
      expect(created.status).toBe(201);
      ids.push((created.body as { id: string }).id);
    }
    expect(await eventFor(ids[0] ?? '', 'UPSERT')).toMatchObject({ entity: 'ENTRY', kind: 'BLOCK', domain: 'ads.example.com', source: null });
    const duplicate = await call('POST', '/api/v1/blocklists/entries', { kind: 'block', domain: 'ads.example.com' });
    expect(duplicate).toMatchObject({ status: 409, body: { error: { code: 'GHOSTDNS_API_BLOCKLIST_CONFLICT' } } });

    const first = await call('GET', '/api/v1/blocklists/entries?limit=2');
    expect((first.body as { domain: string }[]).map((e) => e.domain)).toEqual(['login.example.com', 'ads.example.com']);
    const next = /^<([^>]+)>; rel="next"$/.exec(first.link ?? '')?.[1];
    expect(next).toMatch(/^\/api\/v1\/blocklists\/entries\?limit=2&cursor=/);
    const second = await call('GET', next ?? '');
    expect(second).toMatchObject({ status: 200, link: null });
    expect((second.body as { domain: string }[]).map((e) => e.domain)).toEqual(['tracker.example']);
    expect(((await call('GET', '/api/v1/blocklists/entries?kind=allow')).body as unknown[]).length).toBe(1);

    expect((await call('DELETE', `/api/v1/blocklists/entries/${ids[1] ?? ''}`)).status).toBe(204);
    expect(await eventFor(ids[1] ?? '', 'DELETE')).toMatchObject({ entity: 'ENTRY', domain: 'tracker.example' });
    expect(await call('DELETE', `/api/v1/blocklists/entries/${ids[1] ?? ''}`)).toMatchObject({ status: 404, body: { error: { code: 'GHOSTDNS_API_BLOCKLIST_ENTRY_NOT_FOUND' } } });
    const { rows } = await db.pool.query<{ action: string }>("SELECT action FROM api_audit_log WHERE action LIKE 'blocklist_entry.%' ORDER BY id");
    expect(rows.map((r) => r.action)).toEqual(['blocklist_entry.create', 'blocklist_entry.create', 'blocklist_entry.create', 'blocklist_entry.delete']);
  });

  it.each([
    ['POST', '/api/v1/blocklists', { kind: 'block', source: 'lists/hosts.txt' }, 'GHOSTDNS_API_INVALID_BODY', "'source'"],
    ['POST', '/api/v1/blocklists', { kind: 'deny', source: 'http://x.example/l' }, 'GHOSTDNS_API_INVALID_BODY', "'kind'"],
    ['POST', '/api/v1/blocklists/entries', { kind: 'block', domain: '192.0.2.1' }, 'GHOSTDNS_API_INVALID_BODY', "'domain'"],
    ['GET', '/api/v1/blocklists?limit=5000', undefined, 'GHOSTDNS_API_INVALID_PARAMETER', "'limit'"],
    ['GET', '/api/v1/blocklists/entries?cursor=zz', undefined, 'GHOSTDNS_API_INVALID_PARAMETER', "'cursor'"],
  ])('400 for %s %s %j, naming the field', async (method, route, body, code, field) => {
    const reply = await call(method, route, body);
    expect(reply).toMatchObject({ status: 400, body: { error: { code } } });
    expect((reply.body as { error: { message: string } }).error.message).toContain(field);
  });

  it('writes need a token with the write scope; reads need none', async () => {
    const reader = await new TokenService(new PgTokenStore(db.pool)).create('reader', ['read'], 'test');
    const writes: [string, string, unknown][] = [
      ['POST', '/api/v1/blocklists', { kind: 'block', source: 'http://x.example/l' }],
      ['PUT', '/api/v1/blocklists/6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f', { enabled: false }],
      ['DELETE', '/api/v1/blocklists/6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f', undefined],
      ['POST', '/api/v1/blocklists/entries', { kind: 'block', domain: 'x.example' }],
      ['DELETE', '/api/v1/blocklists/entries/6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f', undefined],
    ];
    for (const [method, route, body] of writes) {
      expect(await call(method, route, body, null), `${method} ${route}`).toMatchObject({ status: 401, body: { error: { code: 'GHOSTDNS_API_UNAUTHORIZED' } } });
      expect(await call(method, route, body, reader.token), `${method} ${route}`).toMatchObject({ status: 403, body: { error: { code: 'GHOSTDNS_API_FORBIDDEN' } } });
    }
    expect((await call('GET', '/api/v1/blocklists', undefined, null)).status).toBe(200);
    expect((await call('GET', '/api/v1/blocklists/entries', undefined, null)).status).toBe(200);
  });

  it('publishes every list and entry at boot on a fresh in-process bus (standalone)', async () => {
    await call('POST', '/api/v1/blocklists', { kind: 'allow', source: '/srv/lists/allow.txt', format: 'plain' });
    const rebooted = testRuntime(db, { data: { dir: fixture.dataDir }, api: { rateLimitPerMinute: 0 } });
    await rebooted.bus.connect();
    const replayed: PolicyChangeEvent[] = [];
    const second = await startRecordsApi(rebooted);
    try {
      await rebooted.bus.subscribe(Topics.policyChanges, async (batch) => void replayed.push(...batch.values), { groupId: 'edge', fromBeginning: true });
      const { rows } = await db.pool.query<{ n: number }>('SELECT (SELECT count(*) FROM policy_lists) + (SELECT count(*) FROM policy_entries) AS n');
      await waitFor(() => replayed.length === Number(rows[0]?.n), { timeoutMs: 5_000, intervalMs: 20, description: 'the boot snapshot' });
      expect(replayed.every((e) => e.op === 'UPSERT' && e.actor === 'system:snapshot')).toBe(true);
      expect(replayed).toContainEqual(expect.objectContaining({ entity: 'LIST', kind: 'ALLOW', source: '/srv/lists/allow.txt', format: 'PLAIN' }));
      expect(replayed).toContainEqual(expect.objectContaining({ entity: 'ENTRY', domain: 'ads.example.com' }));
    } finally {
      await second.close();
      await rebooted.bus.close();
    }
  });
});

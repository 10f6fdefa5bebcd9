import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database } from '@ghostdns/db';
import { PgTokenStore } from '../src/auth/token.repository.js';
import { TokenService } from '../src/auth/token.service.js';
import { startApiOnScratchDatabase, type ApiFixture } from './support/api-fixture.js';
import { type TestServer } from './support/http.js';

const SUFFIX = 'vpn.example';

/** WireGuard public keys; `/` and `+` make them need percent-encoding in a path. */
const LAPTOP = `ab/+${'c'.repeat(38)}E=`;
const PHONE = randomBytes(32).toString('base64');
const GONE = randomBytes(32).toString('base64');
const NAS = 'nNas1CNTRL';
const UNNAMED = 'nAnon2CNTRL';

interface Transition {
  at: string;
  source: 'wireguard' | 'tailscale';
  deviceId: string;
  online: boolean;
  name?: string;
  domain?: string | null;
  node?: string;
  addresses?: string[];
  handshake?: string | null;
}

interface Peer {
  source: string;
  device_id: string;
  name: string;
  fqdn: string | null;
  online: boolean;
  observed_at: string;
  node_id: string;
  addresses: string[];
  last_handshake: string | null;
  interface: string | null;
  mapping: { name: string; enabled: boolean; custom_domain: string | null } | null;
}

describe('presence API on PostgreSQL (scratch database)', () => {
  let fixture: ApiFixture;
  let db: Database;
  let server: TestServer;
  let admin: string;
  let reader: string;
  let writer: string;

  async function record(t: Transition): Promise<void> {
    await db.pool.query(
      `INSERT INTO presence_history (observed_at, event_id, node_id, source, device_id, name, domain, interface, online, addresses, last_handshake)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::inet[], $11)`,
      [t.at, randomUUID(), t.node ?? 'gw-1', t.source, t.deviceId, t.name ?? '', t.domain ?? null, t.source === 'wireguard' ? 'wg0' : null,
        t.online, t.addresses ?? ['10.8.0.2'], t.handshake ?? null],
    );
  }

  async function call(method: string, route: string, token: string | null, body?: unknown): Promise<{ status: number; body: unknown; link: string | null }> {
    const headers: Record<string, string> = {};
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    // Fastify refuses a JSON Content-Type without a body (DELETE).
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.url}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown), link: response.headers.get('link') };
  }

  const peers = async (query = ''): Promise<Peer[]> => {
    const r = await call('GET', `/api/v1/presence/peers${query}`, reader);
    expect(r.status).toBe(200);
    return r.body as Peer[];
  };
  const mappingPath = (source: string, deviceId: string): string => `/api/v1/presence/mappings/${source}/${encodeURIComponent(deviceId)}`;

  beforeAll(async () => {
    fixture = await startApiOnScratchDatabase({ api: { rateLimitPerMinute: 0 }, presence: { suffix: SUFFIX } });
    ({ db, server, admin } = fixture);
    const tokens = new TokenService(new PgTokenStore(db.pool));
    reader = (await tokens.create('reader', ['read'], 'test')).token;
    writer = (await tokens.create('writer', ['write'], 'test')).token;

    // Several transitions per device, inserted out of time order: only the newest counts.
    await record({ at: '2024-05-01T10:00:00Z', source: 'wireguard', deviceId: LAPTOP, online: true, name: 'laptop' });
    await record({ at: '2024-05-01T12:00:00Z', source: 'wireguard', deviceId: LAPTOP, online: true, name: 'laptop', addresses: ['10.8.0.2', 'fd00::2'], handshake: '2024-05-01T11:59:30Z' });
    await record({ at: '2024-05-01T11:00:00Z', source: 'wireguard', deviceId: LAPTOP, online: false, name: 'laptop' });
    await record({ at: '2024-05-01T10:00:00Z', source: 'wireguard', deviceId: PHONE, online: true, name: 'phone', addresses: ['10.8.0.3'] });
    await record({ at: '2024-05-01T12:30:00Z', source: 'wireguard', deviceId: PHONE, online: false, name: 'phone', addresses: ['10.8.0.3'], node: 'gw-2' });
    await record({ at: '2024-05-01T09:00:00Z', source: 'wireguard', deviceId: GONE, online: false, name: 'old' });
    await record({ at: '2024-05-01T08:00:00Z', source: 'tailscale', deviceId: NAS, online: false, name: 'nas', domain: 'home.example', addresses: ['100.64.0.5'] });
    await record({ at: '2024-05-01T12:10:00Z', source: 'tailscale', deviceId: NAS, online: true, name: 'nas', domain: 'home.example', addresses: ['100.64.0.5'] });
    await record({ at: '2024-05-01T12:00:00Z', source: 'tailscale', deviceId: UNNAMED, online: true, addresses: ['100.64.0.6'] });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  it('answers the latest transition of every device, with its fqdn', async () => {
    const all = await peers();
    expect(all).toHaveLength(5);
    const byId = new Map(all.map((p) => [p.device_id, p]));
    expect(byId.get(LAPTOP)).toStrictEqual({
      source: 'wireguard', device_id: LAPTOP, name: 'laptop', fqdn: `laptop.${SUFFIX}`, interface: 'wg0', addresses: ['10.8.0.2', 'fd00::2'],
      online: true, last_handshake: '2024-05-01T11:59:30.000Z', observed_at: '2024-05-01T12:00:00.000Z', node_id: 'gw-1', mapping: null,
    });
    expect(byId.get(PHONE)).toMatchObject({ online: false, node_id: 'gw-2', observed_at: '2024-05-01T12:30:00.000Z' });
    expect(byId.get(NAS)).toMatchObject({ online: true, fqdn: 'nas.home.example', interface: null, addresses: ['100.64.0.5'] });
    expect(byId.get(UNNAMED)).toMatchObject({ name: '', fqdn: null });
    // (source, device_id) order.
    expect(all.map((p) => p.source)).toEqual(['tailscale', 'tailscale', 'wireguard', 'wireguard', 'wireguard']);
  });

  it('filters on the latest state and on the source', async () => {
    expect((await peers('?online=true')).map((p) => p.device_id).sort()).toEqual([LAPTOP, NAS, UNNAMED].sort());
    expect((await peers('?online=false')).map((p) => p.device_id).sort()).toEqual([PHONE, GONE].sort());
    expect((await peers('?source=tailscale')).map((p) => p.device_id).sort()).toEqual([NAS, UNNAMED].sort());
    expect((await peers('?source=wireguard&online=true')).map((p) => p.device_id)).toEqual([LAPTOP]);
  });

  it('pages through Link headers without gaps or repeats', async () => {
    for (const query of ['?limit=2', '?limit=1&source=wireguard', '?limit=1&online=false']) {
      const expected = (await peers(query.replace(/limit=\d+&?/, ''))).map((p) => p.device_id);
      const seen: string[] = [];
      let next: string | null = `/api/v1/presence/peers${query}`;
      while (next !== null) {
        const r = await call('GET', next, reader);
        expect(r.status).toBe(200);
        seen.push(...(r.body as Peer[]).map((p) => p.device_id));
        next = r.link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(r.link)?.[1] ?? null);
      }
      expect(seen, query).toEqual(expected);
    }
  });

  it('PUT creates and replaces a mapping, audited; GET peers shows it', async () => {
    const created = await call('PUT', mappingPath('wireguard', LAPTOP), writer, { name: "Alice's Laptop", custom_domain: 'Home.Example.' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ source: 'wireguard', device_id: LAPTOP, name: 'alice-s-laptop', enabled: true, custom_domain: 'home.example' });

    const replaced = await call('PUT', mappingPath('wireguard', LAPTOP), writer, { name: 'alice', enabled: false });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: 'alice', enabled: false, custom_domain: 'home.example' });

    const { rows } = await db.pool.query<{ name: string; enabled: boolean; custom_domain: string | null }>(
      'SELECT name, enabled, custom_domain FROM presence_peer_mappings WHERE source = $1 AND device_id = $2', ['wireguard', LAPTOP]);
    expect(rows).toEqual([{ name: 'alice', enabled: false, custom_domain: 'home.example' }]);

    const audit = await db.pool.query<{ actor: string; action: string; details: Record<string, unknown>; client_ip: string }>(
      'SELECT actor, action, details, client_ip FROM api_audit_log WHERE target = $1 ORDER BY id', [`wireguard/${LAPTOP}`]);
    expect(audit.rows.map((r) => r.action)).toEqual(['presence_mapping.create', 'presence_mapping.update']);
    expect(audit.rows[0]?.actor).toMatch(/^token:writer:/);
    expect(audit.rows[0]?.client_ip).toBe('127.0.0.1');
    expect(audit.rows[1]?.details).toMatchObject({ name: 'alice', enabled: false, previous: { name: 'alice-s-laptop', enabled: true, custom_domain: 'home.example' } });

    const laptop = (await peers('?source=wireguard')).find((p) => p.device_id === LAPTOP);
    // The peer keeps the name it was published under until presence-service's next poll.
    expect(laptop).toMatchObject({ name: 'laptop', mapping: { name: 'alice', enabled: false, custom_domain: 'home.example' } });

    const list = await call('GET', '/api/v1/presence/mappings', reader);
    expect(list.status).toBe(200);
    expect(list.body).toEqual([expect.objectContaining({ source: 'wireguard', device_id: LAPTOP, name: 'alice' })]);
  });

  it('DELETE removes a mapping (204), audited; 404 when there is none', async () => {
    expect((await call('PUT', mappingPath('tailscale', NAS), admin, { name: 'nas' })).status).toBe(201);
    const deleted = await call('DELETE', mappingPath('tailscale', NAS), writer);
    expect(deleted.status).toBe(204);
    expect((await db.pool.query('SELECT 1 FROM presence_peer_mappings WHERE source = $1 AND device_id = $2', ['tailscale', NAS])).rowCount).toBe(0);
    const audit = await db.pool.query<{ action: string }>('SELECT action FROM api_audit_log WHERE target = $1 ORDER BY id', [`tailscale/${NAS}`]);
    expect(audit.rows.map((r) => r.action)).toEqual(['presence_mapping.create', 'presence_mapping.delete']);

    const again = await call('DELETE', mappingPath('tailscale', NAS), writer);
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ error: { code: 'GHOSTDNS_API_MAPPING_NOT_FOUND' } });
  });

  it('400 naming the field or parameter', async () => {
    const badName = await call('PUT', mappingPath('wireguard', PHONE), writer, { name: '***' });
    expect(badName).toMatchObject({ status: 400, body: { error: { code: 'GHOSTDNS_API_INVALID_BODY', message: expect.stringContaining("'name'") as unknown } } });
    const badDomain = await call('PUT', mappingPath('wireguard', PHONE), writer, { name: 'phone', custom_domain: 'a..b' });
    expect(badDomain).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("'custom_domain'") as unknown } } });
    const badSource = await call('PUT', mappingPath('openvpn', PHONE), writer, { name: 'phone' });
    expect(badSource).toMatchObject({ status: 400, body: { error: { code: 'GHOSTDNS_API_INVALID_PARAMETER', message: expect.stringContaining("'source'") as unknown } } });
    const badFilter = await call('GET', '/api/v1/presence/peers?online=maybe', reader);
    expect(badFilter).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("'online'") as unknown } } });
    expect((await db.pool.query('SELECT 1 FROM presence_peer_mappings WHERE device_id = $1', [PHONE])).rowCount).toBe(0);
  });

  it.each([
    ['GET', '/api/v1/presence/peers'],
    ['GET', '/api/v1/presence/mappings'],
    ['PUT', `/api/v1/presence/mappings/wireguard/${encodeURIComponent(PHONE)}`],
    ['DELETE', `/api/v1/presence/mappings/wireguard/${encodeURIComponent(PHONE)}`],
  ])('401 for %s %s without a token, and with a wrong one', async (method, route) => {
    const body = method === 'PUT' ? { name: 'phone' } : undefined;
    expect(await call(method, route, null, body)).toMatchObject({ status: 401, body: { error: { code: 'GHOSTDNS_API_UNAUTHORIZED' } } });
    expect(await call(method, route, `gdns_${'A'.repeat(43)}`, body)).toMatchObject({ status: 401, body: { error: { code: 'GHOSTDNS_API_UNAUTHORIZED' } } });
  });

  it('403 for writes with a read-only token; nothing is written or audited', async () => {
    const before = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM api_audit_log');
    const put = await call('PUT', mappingPath('wireguard', PHONE), reader, { name: 'phone' });
    expect(put).toMatchObject({ status: 403, body: { error: { code: 'GHOSTDNS_API_FORBIDDEN' } } });
    await call('PUT', mappingPath('wireguard', GONE), admin, { name: 'old' });
    const del = await call('DELETE', mappingPath('wireguard', GONE), reader);
    expect(del).toMatchObject({ status: 403, body: { error: { code: 'GHOSTDNS_API_FORBIDDEN' } } });
    expect((await db.pool.query('SELECT 1 FROM presence_peer_mappings WHERE device_id = $1', [GONE])).rowCount).toBe(1);
    const after = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM api_audit_log');
    expect(Number(after.rows[0]?.n)).toBe(Number(before.rows[0]?.n) + 1);
  });
});

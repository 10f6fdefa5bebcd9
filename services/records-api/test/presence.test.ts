import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors.js';
import type { DevicePage, MappingRow, MappingTx, PeerQuery, PeerStateRow, PresenceStore } from '../src/presence/presence.repository.js';
import { decodeDeviceCursor, encodeDeviceCursor, PresenceService } from '../src/presence/presence.service.js';
import { parseDeviceKey, parseMappingPut } from '../src/presence/validation.js';
import type { AuditEntry } from '../src/storage/audit-log.js';
import { apiError } from './support/stubs.js';

const KEY = randomBytes(32).toString('base64');
const CTX = { actor: 'token:ops:1', clientIp: '192.0.2.9' };
const AT = new Date('2024-05-01T12:00:00.000Z');

function problem(fn: () => unknown): { status: number; code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('did not throw');
}

function peer(deviceId: string, overrides: Partial<PeerStateRow> = {}): PeerStateRow {
  return {
    source: 'wireguard',
    device_id: deviceId,
    name: 'laptop',
    domain: null,
    interface: 'wg0',
    addresses: ['10.8.0.2', 'fd00::2'],
    online: true,
    last_handshake: AT,
    observed_at: AT,
    node_id: 'gw-1',
    mapping_name: null,
    mapping_enabled: null,
    mapping_custom_domain: null,
    ...overrides,
  };
}

/** PresenceStore in memory: a transaction works on a copy that replaces the rows on commit. */
class StubStore implements PresenceStore {
  peerRows: PeerStateRow[] = [];
  rows = new Map<string, MappingRow>();
  audits: AuditEntry[] = [];
  peerQueries: PeerQuery[] = [];
  pages: DevicePage[] = [];
  upserts = 0;
  failWith: Error | null = null;

  async peers(query: PeerQuery): Promise<PeerStateRow[]> {
    if (this.failWith !== null) throw this.failWith;
    this.peerQueries.push(query);
    return this.peerRows.slice(0, query.limit);
  }

  async mappings(page: DevicePage): Promise<MappingRow[]> {
    if (this.failWith !== null) throw this.failWith;
    this.pages.push(page);
    return [...this.rows.values()].slice(0, page.limit);
  }

  async withMapping<T>(key: { source: string; deviceId: string }, fn: (tx: MappingTx) => Promise<T>): Promise<T> {
    if (this.failWith !== null) throw this.failWith;
    const id = `${key.source}/${key.deviceId}`;
    let row = this.rows.get(id) ?? null;
    const audits: AuditEntry[] = [];
    const tx: MappingTx = {
      get: async () => row,
      upsert: async (values) => {
        this.upserts += 1;
        row = { source: key.source as MappingRow['source'], device_id: key.deviceId, ...values, created_at: row?.created_at ?? AT, updated_at: AT };
        return row;
      },
      delete: async () => void (row = null),
      audit: async (entry) => void audits.push(entry),
    };
    const result = await fn(tx);
    if (row === null) this.rows.delete(id);
    else this.rows.set(id, row);
    this.audits.push(...audits);
    return result;
  }
}

describe('parseMappingPut', () => {
  it('sanitizes the name; enabled and custom_domain stay undefined when absent', () => {
    expect(parseMappingPut({ name: "Alice's Laptop" })).toEqual({ name: 'alice-s-laptop', enabled: undefined, customDomain: undefined });
  });

  it('lower-cases a custom domain and drops its root dot; null clears it', () => {
    expect(parseMappingPut({ name: 'nas', enabled: false, custom_domain: 'Home.Example.' })).toEqual({ name: 'nas', enabled: false, customDomain: 'home.example' });
    expect(parseMappingPut({ name: 'nas', custom_domain: null }).customDomain).toBeNull();
  });

  it('reads a JSON body that arrived as text', () => {
    expect(parseMappingPut('{"name":"nas"}').name).toBe('nas');
  });

  it.each([
    ['not JSON', '{nope', 'request body'],
    ['no name', {}, "'name'"],
    ['a name that is not a string', { name: 7 }, "'name'"],
    ['a name with nothing usable', { name: '!!!' }, "'name'"],
    ['a name too long', { name: 'x'.repeat(300) }, "'name'"],
    ['enabled not a boolean', { name: 'nas', enabled: 'yes' }, "'enabled'"],
    ['a custom domain with a space', { name: 'nas', custom_domain: 'home example' }, "'custom_domain'"],
    ['a custom domain with an empty label', { name: 'nas', custom_domain: 'home..example' }, "'custom_domain'"],
    ['an empty custom domain', { name: 'nas', custom_domain: '' }, "'custom_domain'"],
    ['a custom domain ending in digits', { name: 'nas', custom_domain: 'example.123' }, "'custom_domain'"],
    ['a custom domain with an underscore', { name: 'nas', custom_domain: '_tcp.example' }, "'custom_domain'"],
    ['a custom domain over 200 characters', { name: 'nas', custom_domain: `${'a'.repeat(60)}.`.repeat(4) + 'example' }, "'custom_domain'"],
    ['a custom domain that is not a string', { name: 'nas', custom_domain: 5 }, "'custom_domain'"],
    ['an unknown field', { name: 'nas', domain: 'example.com' }, "'domain'"],
  ])('400 naming the field for %s', (_label, body, field) => {
    const p = problem(() => parseMappingPut(body));
    expect(p).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_BODY' });
    expect(p.message).toContain(field);
  });
});

describe('parseDeviceKey', () => {
  it('accepts a WireGuard public key and a Tailscale node id', () => {
    expect(parseDeviceKey('wireguard', KEY, true)).toEqual({ source: 'wireguard', deviceId: KEY });
    expect(parseDeviceKey('tailscale', 'nXyZ1CNTRL', true)).toEqual({ source: 'tailscale', deviceId: 'nXyZ1CNTRL' });
  });

  it('lets DELETE name any stored device id, even one that is not a key', () => {
    expect(parseDeviceKey('wireguard', 'typo-key', false).deviceId).toBe('typo-key');
  });

  it.each([
    ['an unknown source', 'openvpn', KEY, true, "path parameter 'source'"],
    ['an upper-case source', 'WireGuard', KEY, true, "path parameter 'source'"],
    ['a device id with a space', 'tailscale', 'a b', false, "path parameter 'deviceId'"],
    ['a device id with a control character', 'tailscale', 'a\u0001', false, "path parameter 'deviceId'"],
    ['a device id too long', 'tailscale', 'x'.repeat(257), false, "path parameter 'deviceId'"],
    ['a WireGuard id that is no key (PUT)', 'wireguard', 'typo-key', true, "path parameter 'deviceId'"],
    ['a WireGuard key of 31 bytes (PUT)', 'wireguard', randomBytes(31).toString('base64'), true, "path parameter 'deviceId'"],
  ])('400 for %s', (_label, source, deviceId, strict, message) => {
    const p = problem(() => parseDeviceKey(source, deviceId, strict));
    expect(p).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_PARAMETER' });
    expect(p.message).toContain(message);
  });
});

describe('device cursor', () => {
  it('round-trips', () => {
    expect(decodeDeviceCursor(encodeDeviceCursor({ source: 'wireguard', deviceId: KEY }))).toEqual({ source: 'wireguard', deviceId: KEY });
  });

  it.each([
    ['not base64url', 'a+b'],
    ['not JSON', Buffer.from('nope').toString('base64url')],
    ['the wrong shape', Buffer.from('{"a":1}').toString('base64url')],
    ['an unknown source', Buffer.from('["openvpn","x"]').toString('base64url')],
    ['a bad device id', Buffer.from('["wireguard","a b"]').toString('base64url')],
  ])('400 for %s', (_label, text) => {
    expect(problem(() => decodeDeviceCursor(text))).toMatchObject({ status: 400, message: expect.stringContaining("'cursor'") as unknown });
  });
});

describe('PresenceService: peers', () => {
  it('maps the latest state, the fqdn under the presence suffix or the custom domain, and the mapping', async () => {
    const store = new StubStore();
    store.peerRows = [
      peer(KEY, { mapping_name: 'laptop', mapping_enabled: true, mapping_custom_domain: null }),
      peer('nTs1CNTRL', { source: 'tailscale', name: 'nas', domain: 'home.example', interface: null, addresses: ['100.64.0.5'], online: false, last_handshake: null }),
      peer('hidden', { name: '', mapping_name: 'hidden', mapping_enabled: false, mapping_custom_domain: 'home.example' }),
    ];
    const page = await new PresenceService(store, 'vpn.example').peers({});
    expect(store.peerQueries).toEqual([{ source: undefined, limit: 101, after: null, online: undefined }]);
    expect(page.next).toBeNull();
    expect(page.items[0]).toStrictEqual({
      source: 'wireguard', device_id: KEY, name: 'laptop', fqdn: 'laptop.vpn.example', interface: 'wg0', addresses: ['10.8.0.2', 'fd00::2'],
      online: true, last_handshake: AT.toISOString(), observed_at: AT.toISOString(), node_id: 'gw-1',
      mapping: { name: 'laptop', enabled: true, custom_domain: null },
    });
    expect(page.items[1]).toMatchObject({ fqdn: 'nas.home.example', online: false, last_handshake: null, mapping: null });
    expect(page.items[2]).toMatchObject({ name: '', fqdn: null, mapping: { name: 'hidden', enabled: false, custom_domain: 'home.example' } });
  });

  it('passes the filters and links the next page with a cursor that repeats them', async () => {
    const store = new StubStore();
    store.peerRows = ['a', 'b', 'c'].map((id) => peer(id, { source: 'tailscale' }));
    const service = new PresenceService(store, 'vpn.example');
    const page = await service.peers({ online: 'false', source: 'tailscale', limit: '2' });
    expect(store.peerQueries[0]).toEqual({ source: 'tailscale', limit: 3, after: null, online: false });
    expect(page.items.map((p) => p.device_id)).toEqual(['a', 'b']);
    expect(Object.fromEntries(page.next ?? [])).toEqual({ limit: '2', source: 'tailscale', online: 'false', cursor: encodeDeviceCursor({ source: 'tailscale', deviceId: 'b' }) });

    await service.peers(Object.fromEntries(page.next ?? []));
    expect(store.peerQueries[1]).toEqual({ source: 'tailscale', limit: 3, after: { source: 'tailscale', deviceId: 'b' }, online: false });
  });

  it.each([
    ['online=yes', { online: 'yes' }, 'online'],
    ['an unknown source', { source: 'openvpn' }, 'source'],
    ['limit=0', { limit: '0' }, 'limit'],
    ['limit over the maximum', { limit: '1001' }, 'limit'],
    ['a repeated parameter', { online: ['true', 'false'] }, 'online'],
    ['an unknown parameter', { name: 'x' }, 'name'],
    ['a cursor of another source', { source: 'tailscale', cursor: encodeDeviceCursor({ source: 'wireguard', deviceId: KEY }) }, 'cursor'],
  ])('400 for %s', async (_label, query, parameter) => {
    const error = await apiError(new PresenceService(new StubStore(), 'vpn.example').peers(query));
    expect(error).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_PARAMETER' });
    expect(error.message).toContain(`'${parameter}'`);
  });

  it('503 without the driver message when the database fails', async () => {
    const store = new StubStore();
    store.failWith = new Error('connect ECONNREFUSED 10.0.0.1:5432');
    const error = await apiError(new PresenceService(store, 'vpn.example').peers({}));
    expect(error).toMatchObject({ status: 503, code: 'GHOSTDNS_API_PRESENCE_UNAVAILABLE', message: 'presence data is unavailable' });
  });
});

describe('PresenceService: mappings', () => {
  const service = (store: StubStore): PresenceService => new PresenceService(store, 'vpn.example');

  it('creates a mapping (201): enabled by default, no custom domain, audited', async () => {
    const store = new StubStore();
    const result = await service(store).put('wireguard', KEY, { name: 'Alice Laptop' }, CTX);
    expect(result).toEqual({
      status: 201,
      mapping: { source: 'wireguard', device_id: KEY, name: 'alice-laptop', enabled: true, custom_domain: null, created_at: AT.toISOString(), updated_at: AT.toISOString() },
    });
    expect(store.audits).toEqual([{
      actor: CTX.actor, action: 'presence_mapping.create', target: `wireguard/${KEY}`, clientIp: CTX.clientIp,
      details: { source: 'wireguard', device_id: KEY, name: 'alice-laptop', enabled: true, custom_domain: null },
    }]);
  });

  it('replaces a mapping (200), keeping enabled and custom_domain when absent; null clears the domain', async () => {
    const store = new StubStore();
    const s = service(store);
    await s.put('tailscale', 'nTs1CNTRL', { name: 'nas', enabled: false, custom_domain: 'home.example' }, CTX);
    const renamed = await s.put('tailscale', 'nTs1CNTRL', { name: 'storage' }, CTX);
    expect(renamed).toMatchObject({ status: 200, mapping: { name: 'storage', enabled: false, custom_domain: 'home.example' } });
    expect(store.audits[1]).toMatchObject({
      action: 'presence_mapping.update',
      details: { name: 'storage', enabled: false, custom_domain: 'home.example', previous: { name: 'nas', enabled: false, custom_domain: 'home.example' } },
    });
    const cleared = await s.put('tailscale', 'nTs1CNTRL', { name: 'storage', custom_domain: null, enabled: true }, CTX);
    expect(cleared.mapping).toMatchObject({ enabled: true, custom_domain: null });
  });

  it('leaves an unchanged mapping alone: no write, no audit line', async () => {
    const store = new StubStore();
    const s = service(store);
    await s.put('wireguard', KEY, { name: 'laptop' }, CTX);
    const again = await s.put('wireguard', KEY, { name: 'Laptop', enabled: true }, CTX);
    expect(again.status).toBe(200);
    expect(store.upserts).toBe(1);
    expect(store.audits).toHaveLength(1);
  });

  it('deletes a mapping with an audit line of what it held; 404 when there is none', async () => {
    const store = new StubStore();
    const s = service(store);
    await s.put('wireguard', KEY, { name: 'laptop', custom_domain: 'home.example' }, CTX);
    await s.delete('wireguard', KEY, CTX);
    expect(store.rows.size).toBe(0);
    expect(store.audits[1]).toEqual({
      actor: CTX.actor, action: 'presence_mapping.delete', target: `wireguard/${KEY}`, clientIp: CTX.clientIp,
      details: { source: 'wireguard', device_id: KEY, previous: { name: 'laptop', enabled: true, custom_domain: 'home.example' } },
    });
    const error = await apiError(s.delete('wireguard', KEY, CTX));
    expect(error).toMatchObject({ status: 404, code: 'GHOSTDNS_API_MAPPING_NOT_FOUND' });
    expect(store.audits).toHaveLength(2);
  });

  it('validates the path before the body, and neither touches the store', async () => {
    const store = new StubStore();
    expect(await apiError(service(store).put('openvpn', KEY, { name: '' }, CTX))).toMatchObject({ status: 400, message: expect.stringContaining("'source'") as unknown });
    expect(await apiError(service(store).put('wireguard', KEY, { name: '' }, CTX))).toMatchObject({ status: 400, message: expect.stringContaining("'name'") as unknown });
    expect(store.upserts).toBe(0);
  });

  it('lists mappings a page at a time', async () => {
    const store = new StubStore();
    const s = service(store);
    for (const id of ['a', 'b', 'c']) await s.put('tailscale', id, { name: id }, CTX);
    const page = await s.mappings({ limit: '2', source: 'tailscale' });
    expect(store.pages[0]).toEqual({ source: 'tailscale', limit: 3, after: null });
    expect(page.items.map((m) => m.device_id)).toEqual(['a', 'b']);
    expect(page.next?.get('cursor')).toBe(encodeDeviceCursor({ source: 'tailscale', deviceId: 'b' }));
    expect((await apiError(s.mappings({ online: 'true' }))).message).toContain("'online'");
  });

  it('503 for a database failure', async () => {
    const store = new StubStore();
    store.failWith = new Error('deadlock detected');
    expect(await apiError(service(store).put('wireguard', KEY, { name: 'laptop' }, CTX))).toMatchObject({ status: 503, code: 'GHOSTDNS_API_PRESENCE_UNAVAILABLE' });
    expect(await apiError(service(store).mappings({}))).toMatchObject({ status: 503 });
  });
});

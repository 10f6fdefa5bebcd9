// Integration: hostname mappings in a real PostgreSQL (a scratch database, migrated),
// written as `ghostdns haddns map` does and read as the WireGuard source does.
import { migrate, openDatabase, type Database } from '@ghostdns/db';
import { createScratchDatabase, requireComponent, type ScratchDatabase } from '@ghostdns/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceError } from '../src/errors.js';
import { databasePeerMappings } from '../src/mappings.js';
import { KEY } from './wg-keys.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe('presence_peer_mappings (migrations 050, 051)', () => {
  let scratch: ScratchDatabase;
  let db: Database;

  beforeAll(async () => {
    scratch = await createScratchDatabase(requireComponent('postgres'));
    db = await openDatabase(scratch.url, { logger: quiet });
  });
  afterAll(async () => {
    await db?.close();
    await scratch?.drop();
  });

  it('reads no mappings before the table exists (nobody ever wrote one)', async () => {
    expect((await databasePeerMappings(db).read('wireguard')).size).toBe(0);
  });

  it('upserts, keeps existing mappings on insertMissing, reads per source', async () => {
    await migrate(db, { logger: quiet });
    const mappings = databasePeerMappings(db);
    await mappings.upsert({ source: 'wireguard', deviceId: KEY.laptop, name: 'Work Laptop', enabled: true });
    await mappings.upsert({ source: 'wireguard', deviceId: KEY.laptop, name: 'work-laptop', enabled: false });
    const created = await mappings.insertMissing([
      { source: 'wireguard', deviceId: KEY.laptop, name: 'ignored', enabled: true },
      { source: 'wireguard', deviceId: KEY.phone, name: 'phone', enabled: true },
      { source: 'tailscale', deviceId: 'n123', name: 'nas', enabled: true },
    ]);
    expect(created).toBe(2);
    expect([...(await mappings.read('wireguard')).values()].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { source: 'wireguard', deviceId: KEY.phone, name: 'phone', enabled: true, customDomain: null },
      { source: 'wireguard', deviceId: KEY.laptop, name: 'work-laptop', enabled: false, customDomain: null },
    ]);
    expect([...(await mappings.read('tailscale')).keys()]).toEqual(['n123']);
  });

  it('keeps a custom domain: set, kept when a later write gives none, cleared with null; per source', async () => {
    const mappings = databasePeerMappings(db);
    expect(await mappings.upsert({ source: 'wireguard', deviceId: KEY.router, name: 'router', enabled: true, customDomain: 'Home.Example.' })).toEqual({
      source: 'wireguard', deviceId: KEY.router, name: 'router', enabled: true, customDomain: 'home.example',
    });
    expect(await mappings.upsert({ source: 'wireguard', deviceId: KEY.router, name: 'gateway', enabled: false })).toMatchObject({ name: 'gateway', customDomain: 'home.example' });
    expect((await mappings.read('wireguard')).get(KEY.router)).toMatchObject({ name: 'gateway', enabled: false, customDomain: 'home.example' });
    await mappings.upsert({ source: 'tailscale', deviceId: 'n123', name: 'nas', enabled: true, customDomain: 'lab.example' });
    expect((await mappings.read('tailscale')).get('n123')).toMatchObject({ name: 'nas', customDomain: 'lab.example' });
    expect(await mappings.upsert({ source: 'wireguard', deviceId: KEY.router, name: 'gateway', enabled: true, customDomain: null })).toMatchObject({ customDomain: null });
    expect((await mappings.read('wireguard')).get(KEY.router)?.customDomain).toBeNull();
  });

  it('rejects a name that makes no label, and the database refuses one that is not a label', async () => {
    const mappings = databasePeerMappings(db);
    await expect(mappings.upsert({ source: 'wireguard', deviceId: KEY.office, name: '---', enabled: true })).rejects.toSatisfy(
      (err: unknown) => err instanceof PresenceError && err.code === 'GHOSTDNS_PRESENCE_MAPPING_INVALID',
    );
    await expect(db.pool.query(`INSERT INTO presence_peer_mappings (source, device_id, name) VALUES ('wireguard', 'x', 'Not A Label')`)).rejects.toThrow(/check/);
  });

  it('rejects a custom domain that is no DNS name, and the database refuses one that is not lower-case', async () => {
    const mappings = databasePeerMappings(db);
    await expect(mappings.upsert({ source: 'wireguard', deviceId: KEY.office, name: 'office', enabled: true, customDomain: 'home..example' })).rejects.toSatisfy(
      (err: unknown) => err instanceof PresenceError && err.code === 'GHOSTDNS_PRESENCE_MAPPING_INVALID' && err.message.includes('"home..example"'),
    );
    await expect(
      db.pool.query(`INSERT INTO presence_peer_mappings (source, device_id, name, custom_domain) VALUES ('wireguard', 'x', 'x', 'Home.Example')`),
    ).rejects.toThrow(/check/);
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateToken, grants, hashToken, looksLikeToken } from '../src/auth/token-crypto.js';
import type { NewTokenRow, TokenRow, TokenStore } from '../src/auth/token.repository.js';
import { TokenService, tokenFromHeaders } from '../src/auth/token.service.js';
import { RateLimiter } from '../src/http/rate-limiter.js';

class MemoryTokenStore implements TokenStore {
  readonly rows: (TokenRow & { hash: string })[] = [];
  readonly touched: string[] = [];
  failWith: Error | null = null;
  private add(row: NewTokenRow): void {
    this.rows.push({ id: row.id, name: row.name, prefix: row.prefix, hash: row.hash, scopes: [...row.scopes], createdAt: new Date(0), createdBy: row.createdBy, lastUsedAt: null, revokedAt: null });
  }
  async insert(row: NewTokenRow): Promise<void> {
    this.add(row);
  }
  async insertIfNone(row: NewTokenRow, beforeCommit: () => Promise<void>): Promise<boolean> {
    if (this.rows.length > 0) return false;
    await beforeCommit();
    this.add(row);
    return true;
  }
  async findActiveByHash(hash: string): Promise<TokenRow | null> {
    if (this.failWith !== null) throw this.failWith;
    return this.rows.find((r) => r.hash === hash && r.revokedAt === null) ?? null;
  }
  async list(): Promise<TokenRow[]> {
    return this.rows;
  }
  async revoke(id: string): Promise<TokenRow | null> {
    const row = this.rows.find((r) => r.id === id);
    if (row === undefined) return null;
    row.revokedAt = new Date(1);
    return row;
  }
  async touch(id: string): Promise<void> {
    this.touched.push(id);
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('tokens', () => {
  it('are 32 random bytes behind gdns_, stored as their SHA-256', () => {
    const a = generateToken();
    const b = generateToken();
    expect(a.token).not.toBe(b.token);
    expect(looksLikeToken(a.token)).toBe(true);
    expect(Buffer.from(a.token.slice(5), 'base64url')).toHaveLength(32);
    expect(a.hash).toBe(hashToken(a.token));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.token.startsWith(a.prefix)).toBe(true);
  });

  it.each([
    [['admin'], 'write', true],
    [['admin'], 'read', true],
    [['write'], 'read', true],
    [['write'], 'admin', false],
    [['read'], 'write', false],
  ] as const)('%o grants %s: %s', (scopes, needed, expected) => expect(grants(scopes, needed)).toBe(expected));

  it.each([
    [{}, undefined],
    [{ authorization: 'Bearer abc' }, 'abc'],
    [{ authorization: 'bearer   abc  ' }, 'abc'],
    [{ 'x-api-key': ' abc ' }, 'abc'],
  ])('reads %o', (headers, token) => expect(tokenFromHeaders(headers)).toBe(token));

  it.each([[{ authorization: 'Basic abc' }], [{ authorization: 'Bearer a b' }], [{ 'x-api-key': ['a', 'b'] }]])('401 for %o', (headers) => {
    expect(() => tokenFromHeaders(headers)).toThrow(expect.objectContaining({ status: 401 }) as Error);
  });
});

describe('TokenService', () => {
  it('authorizes by scope: 401 without or with a bad token, 403 without the scope', async () => {
    const store = new MemoryTokenStore();
    const service = new TokenService(store);
    const reader = await service.create('reader', ['read'], 'test');
    const writer = await service.create('writer', ['write', 'write'], 'test');
    expect(writer.scopes).toEqual(['write']);
    await expect(service.authorize({}, 'write')).rejects.toMatchObject({ status: 401, code: 'GHOSTDNS_API_UNAUTHORIZED' });
    await expect(service.authorize({ authorization: 'Bearer nope' }, 'read')).rejects.toMatchObject({ status: 401 });
    await expect(service.authorize({ authorization: `Bearer ${generateToken().token}` }, 'read')).rejects.toMatchObject({ status: 401 });
    await expect(service.authorize({ authorization: `Bearer ${reader.token}` }, 'write')).rejects.toMatchObject({ status: 403, code: 'GHOSTDNS_API_FORBIDDEN' });
    expect(await service.authorize({ 'x-api-key': writer.token }, 'write')).toMatchObject({ tokenId: writer.id, name: 'writer' });
    await service.revoke(writer.id, 'test');
    await expect(service.authorize({ 'x-api-key': writer.token }, 'write')).rejects.toMatchObject({ status: 401 });
  });

  it('writes last_used_at at most once a minute', async () => {
    const store = new MemoryTokenStore();
    let now = 0;
    const service = new TokenService(store, () => new Date(now));
    const t = await service.create('t', ['read'], 'test');
    now = 100_000;
    await service.authorize({ 'x-api-key': t.token }, 'read');
    now += 1000;
    await service.authorize({ 'x-api-key': t.token }, 'read');
    now += 60_000;
    await service.authorize({ 'x-api-key': t.token }, 'read');
    expect(store.touched).toEqual([t.id, t.id]);
  });

  it('503 without the cause when the store fails', async () => {
    const store = new MemoryTokenStore();
    store.failWith = new Error('db at 10.0.0.5 down');
    await expect(new TokenService(store).authorize({ 'x-api-key': generateToken().token }, 'read')).rejects.toMatchObject({ status: 503, message: 'cannot check the API token right now' });
  });

  it.each([[''], ['x'.repeat(101)], ['a\nb']])('400 for the token name %j', async (name) => {
    await expect(new TokenService(new MemoryTokenStore()).create(name, ['read'], 'test')).rejects.toMatchObject({ status: 400 });
  });

  it('bootstraps an admin token into <dataDir>/admin.token (mode 600) only when none exists', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'records-api-token-'));
    dirs.push(dir);
    const store = new MemoryTokenStore();
    const service = new TokenService(store);
    const file = await service.bootstrapAdmin(path.join(dir, 'data'));
    expect(file).toBe(path.join(dir, 'data', 'admin.token'));
    const token = readFileSync(file ?? '', 'utf8').trim();
    expect(statSync(file ?? '').mode & 0o777).toBe(0o600);
    expect(await service.authorize({ authorization: `Bearer ${token}` }, 'write')).toMatchObject({ scopes: ['admin'] });
    expect(await service.bootstrapAdmin(path.join(dir, 'data'))).toBeNull();
  });
});

describe('RateLimiter', () => {
  it('allows N per key per minute, then says when to retry; a new minute starts over', () => {
    let now = 60_000 * 10 + 15_000;
    const limiter = new RateLimiter(2, () => now);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSec: 45 });
    expect(limiter.take('b').allowed).toBe(true);
    now += 45_000;
    expect(limiter.take('a').allowed).toBe(true);
  });
  it('0 is no limit', () => {
    const limiter = new RateLimiter(0);
    for (let i = 0; i < 100; i++) expect(limiter.take('a').allowed).toBe(true);
  });
});

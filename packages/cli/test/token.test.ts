import type { TokenRow, TokenStore, NewTokenRow } from '@ghostdns/records-api';
import { describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../src/index.js';
import { parseScopes, tokenCommands } from '../src/commands/token.js';

class MemoryTokenStore implements TokenStore {
  readonly rows: TokenRow[] = [];
  async insert(row: NewTokenRow): Promise<void> {
    this.rows.push({ id: row.id, name: row.name, prefix: row.prefix, scopes: [...row.scopes], createdAt: new Date(0), createdBy: row.createdBy, lastUsedAt: null, revokedAt: null });
  }
  async insertIfNone(): Promise<boolean> {
    return false;
  }
  async findActiveByHash(): Promise<TokenRow | null> {
    return null;
  }
  async list(): Promise<TokenRow[]> {
    return this.rows;
  }
  async revoke(id: string): Promise<TokenRow | null> {
    const row = this.rows.find((r) => r.id === id);
    if (row !== undefined) row.revokedAt = new Date(1);
    return row ?? null;
  }
  async touch(): Promise<void> {}
}

async function token(store: MemoryTokenStore, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {} };
  const code = await runCli(['token', ...args], io, tokenCommands({ openStore: async () => ({ store, close: async () => undefined }) }));
  return { code, stdout, stderr };
}

describe('ghostdns token', () => {
  it('create prints the secret once on stdout; list never shows it; revoke marks it', async () => {
    const store = new MemoryTokenStore();
    const created = await token(store, ['create', '--name', 'ghostscale', '--scope', 'read,write']);
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^gdns_[A-Za-z0-9_-]{43}$/);
    expect(store.rows[0]).toMatchObject({ name: 'ghostscale', scopes: ['read', 'write'] });

    const listed = await token(store, ['list']);
    expect(listed.stdout).toContain('ghostscale');
    expect(listed.stdout).toContain('active');
    expect(listed.stdout).not.toContain(secret);
    expect(JSON.stringify(JSON.parse((await token(store, ['list', '--format', 'json'])).stdout))).not.toContain(secret);

    const id = store.rows[0]?.id ?? '';
    expect(await token(store, ['revoke', id])).toMatchObject({ code: 0, stdout: expect.stringContaining(id) as unknown });
    expect((await token(store, ['list'])).stdout).toContain('revoked');
    expect((await token(store, ['revoke', 'nope'])).code).toBe(1);
  });

  it.each([
    [['create'], 64],
    [['create', '--name', 'x', '--scope', 'root'], 64],
    [['list', '--format', 'xml'], 64],
    [['revoke'], 64],
    [['revoke', 'a', 'b'], 64],
  ])('%o exits %i', async (args, code) => {
    expect((await token(new MemoryTokenStore(), args)).code).toBe(code);
  });

  it('parses scopes', () => {
    expect(parseScopes(undefined)).toEqual(['read']);
    expect(parseScopes('Admin, write,admin')).toEqual(['admin', 'write']);
    expect(typeof parseScopes('read,god')).toBe('string');
  });
});

import type pg from 'pg';
import { appendAudit } from '../storage/audit-log.js';
import { inTransaction } from '../storage/transaction.js';
import type { Scope } from './token-crypto.js';

export interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: Date;
  createdBy: string;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface NewTokenRow {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: readonly Scope[];
  createdBy: string;
}

/** What TokenService needs from storage (a stub in unit tests). */
export interface TokenStore {
  /** Inserts a token and an audit line in one transaction. */
  insert(row: NewTokenRow, audit: { actor: string; clientIp: string | null }): Promise<void>;
  /** Inserts the row only when no token exists at all; false when one did. Serialised across processes. */
  insertIfNone(row: NewTokenRow, beforeCommit: () => Promise<void>): Promise<boolean>;
  findActiveByHash(hash: string): Promise<TokenRow | null>;
  list(): Promise<TokenRow[]>;
  /** Revokes by id (or unique id prefix); null when nothing matched. */
  revoke(idOrPrefix: string, audit: { actor: string; clientIp: string | null }): Promise<TokenRow | null>;
  touch(id: string, at: Date): Promise<void>;
}

interface RawToken {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  created_by: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id::text AS id, name, prefix, scopes, created_at, created_by, last_used_at, revoked_at';
const INSERT_SQL = 'INSERT INTO api_tokens (id, name, prefix, token_hash, scopes, created_by) VALUES ($1::uuid, $2, $3, $4, $5::text[], $6)';
/** pg_advisory_xact_lock key for the first-start admin token ("gdnstokn"). */
const BOOTSTRAP_LOCK = '7449085355346882414';

function toRow(r: RawToken): TokenRow {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes as Scope[],
    createdAt: r.created_at,
    createdBy: r.created_by,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

export class PgTokenStore implements TokenStore {
  constructor(private readonly pool: pg.Pool) {}

  async insert(row: NewTokenRow, audit: { actor: string; clientIp: string | null }): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(INSERT_SQL, [row.id, row.name, row.prefix, row.hash, [...row.scopes], row.createdBy]);
      await appendAudit(client, { actor: audit.actor, action: 'token.create', target: row.id, details: { name: row.name, scopes: row.scopes }, clientIp: audit.clientIp });
    });
  }

  async insertIfNone(row: NewTokenRow, beforeCommit: () => Promise<void>): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [BOOTSTRAP_LOCK]);
      const { rows } = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM api_tokens');
      if (Number(rows[0]?.n ?? '0') > 0) return false;
      await client.query(INSERT_SQL, [row.id, row.name, row.prefix, row.hash, [...row.scopes], row.createdBy]);
      await appendAudit(client, { actor: row.createdBy, action: 'token.create', target: row.id, details: { name: row.name, scopes: row.scopes }, clientIp: null });
      await beforeCommit();
      return true;
    });
  }

  async findActiveByHash(hash: string): Promise<TokenRow | null> {
    const { rows } = await this.pool.query<RawToken>(`SELECT ${COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, [hash]);
    const row = rows[0];
    return row === undefined ? null : toRow(row);
  }

  async list(): Promise<TokenRow[]> {
    const { rows } = await this.pool.query<RawToken>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at, id`);
    return rows.map(toRow);
  }

  async revoke(idOrPrefix: string, audit: { actor: string; clientIp: string | null }): Promise<TokenRow | null> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<RawToken>(
        `SELECT ${COLUMNS} FROM api_tokens WHERE id::text = $1 OR id::text LIKE $2 OR prefix = $1 FOR UPDATE`,
        [idOrPrefix, `${idOrPrefix.replace(/[%_\\]/g, '\\$&')}%`],
      );
      if (rows.length !== 1 || rows[0] === undefined) return null;
      const { rows: updated } = await client.query<RawToken>(
        `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1::uuid RETURNING ${COLUMNS}`,
        [rows[0].id],
      );
      await appendAudit(client, { actor: audit.actor, action: 'token.revoke', target: rows[0].id, details: { name: rows[0].name }, clientIp: audit.clientIp });
      return updated[0] === undefined ? null : toRow(updated[0]);
    });
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.pool.query('UPDATE api_tokens SET last_used_at = $2::timestamptz WHERE id = $1::uuid', [id, at.toISOString()]);
  }
}

import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** What a token may do. admin implies write, write implies read. */
export type Scope = 'read' | 'write' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

const RANK: Readonly<Record<Scope, number>> = { read: 1, write: 2, admin: 3 };

/** True when `scopes` grant `needed` (admin ⊇ write ⊇ read). */
export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.some((s) => RANK[s] >= RANK[needed]);
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Every token starts with this, so secret scanners and people can recognise one. */
export const TOKEN_PREFIX = 'gdns_';
const TOKEN_RE = /^gdns_[A-Za-z0-9_-]{43}$/;

export interface NewToken {
  readonly id: string;
  /** The secret: shown once, never stored. */
  readonly token: string;
  /** SHA-256 of the secret, hex: what the database keeps. */
  readonly hash: string;
  /** First characters of the secret, safe to list. */
  readonly prefix: string;
}

/**
 * A token is 32 random bytes (256 bits), base64url, behind `gdns_`. It is kept
 * as its SHA-256, not scrypt: with 256 bits of entropy a slow KDF adds nothing
 * against guessing (there is no dictionary to slow down), while SHA-256 lets a
 * request find its token by an indexed equality lookup and costs microseconds,
 * where scrypt on every request would hand a CPU-exhaustion lever to anyone who
 * can send headers.
 */
export function generateToken(): NewToken {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { id: randomUUID(), token, hash: hashToken(token), prefix: token.slice(0, TOKEN_PREFIX.length + 6) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Cheap shape check before touching the database. */
export function looksLikeToken(value: string): boolean {
  return TOKEN_RE.test(value);
}

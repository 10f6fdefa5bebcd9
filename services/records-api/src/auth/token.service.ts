import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, forbidden, unauthorized } from '../errors.js';
import { generateToken, grants, hashToken, looksLikeToken, type Scope } from './token-crypto.js';
import type { TokenRow, TokenStore } from './token.repository.js';

/** Who made a request: the token that authenticated it. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

/** `token:<name>:<id>`: the actor written to the audit trail and to RecordChangeEvent.actor. */
export function actorOf(principal: Principal): string {
  return `token:${principal.name}:${principal.tokenId}`;
}

/** Who is writing, for the audit trail and RecordChangeEvent.actor. */
export interface WriteContext {
  actor: string;
  clientIp: string | null;
}

/** The two headers a token may arrive in. */
export interface AuthHeaders {
  authorization?: string | string[] | undefined;
  'x-api-key'?: string | string[] | undefined;
}

/** The secret from `Authorization: Bearer <t>` or `X-API-Key: <t>`; undefined when neither is sent. */
export function tokenFromHeaders(headers: AuthHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.trim() !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth.trim());
    if (m === null) throw unauthorized("the Authorization header must be 'Bearer <token>'");
    return m[1];
  }
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key.trim() !== '') return key.trim();
  if (Array.isArray(auth) || Array.isArray(key)) throw unauthorized('send the token once');
  return undefined;
}

export const ADMIN_TOKEN_FILE = 'admin.token';
/** last_used_at is written at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000;

export interface CreatedToken {
  readonly id: string;
  readonly token: string;
  readonly prefix: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

export class TokenService {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: TokenStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(name: string, scopes: readonly Scope[], actor: string, clientIp: string | null = null): Promise<CreatedToken> {
    const trimmed = name.trim();
    // eslint-disable-next-line no-control-regex
    if (trimmed === '' || trimmed.length > 100 || /[\u0000-\u001f]/.test(trimmed)) {
      throw new ApiError('GHOSTDNS_API_INVALID_BODY', 400, "field 'name' must be 1-100 printable characters");
    }
    if (scopes.length === 0) throw new ApiError('GHOSTDNS_API_INVALID_BODY', 400, "field 'scopes' must name at least one of read, write, admin");
    const fresh = generateToken();
    await this.store.insert({ id: fresh.id, name: trimmed, prefix: fresh.prefix, hash: fresh.hash, scopes: [...new Set(scopes)], createdBy: actor }, { actor, clientIp });
    return { id: fresh.id, token: fresh.token, prefix: fresh.prefix, name: trimmed, scopes: [...new Set(scopes)] };
  }

  list(): Promise<TokenRow[]> {
    return this.store.list();
  }

  revoke(idOrPrefix: string, actor: string, clientIp: string | null = null): Promise<TokenRow | null> {
    return this.store.revoke(idOrPrefix.trim(), { actor, clientIp });
  }

  /**
   * The principal of a request that needs `scope`. No token: 401. Unknown,
   * revoked or malformed token: 401 (one message, so a caller learns nothing
   * about which). Token without the scope: 403.
   */
  async authorize(headers: AuthHeaders, scope: Scope): Promise<Principal> {
    const principal = await this.authenticate(headers);
    if (principal === null) throw unauthorized();
    if (!grants(principal.scopes, scope)) throw forbidden(scope);
    return principal;
  }

  /** authorize() for the write scope: the actor and client address the audit trail records. */
  async writer(request: { headers: AuthHeaders; ip: string }): Promise<WriteContext> {
    const principal = await this.authorize(request.headers, 'write');
    return { actor: actorOf(principal), clientIp: request.ip };
  }

  /** null without a token; 401 for a bad one. */
  async authenticate(headers: AuthHeaders): Promise<Principal | null> {
    const token = tokenFromHeaders(headers);
    if (token === undefined) return null;
    if (!looksLikeToken(token)) throw unauthorized('the API token is not valid');
    let row: TokenRow | null;
    try {
      row = await this.store.findActiveByHash(hashToken(token));
    } catch (error) {
      throw new ApiError('GHOSTDNS_API_TOKENS_UNAVAILABLE', 503, 'cannot check the API token right now', { cause: error });
    }
    if (row === null) throw unauthorized('the API token is not valid');
    this.touch(row.id);
    return { tokenId: row.id, name: row.name, scopes: row.scopes };
  }

  private touch(id: string): void {
    const at = this.now();
    const last = this.touched.get(id) ?? 0;
    if (at.getTime() - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(id, at.getTime());
    // Bookkeeping only: a failure here must not fail the request.
    this.store.touch(id, at).catch(() => undefined);
  }

  /**
   * First start: when no token exists at all, creates an admin token and writes
   * it to `<dataDir>/admin.token` (mode 600) before the row commits. Returns the
   * file's path, or null when a token already existed.
   */
  async bootstrapAdmin(dataDir: string): Promise<string | null> {
    const fresh = generateToken();
    const file = path.join(dataDir, ADMIN_TOKEN_FILE);
    const created = await this.store.insertIfNone(
      { id: fresh.id, name: 'bootstrap-admin', prefix: fresh.prefix, hash: fresh.hash, scopes: ['admin'], createdBy: 'system:bootstrap' },
      async () => {
        await mkdir(dataDir, { recursive: true, mode: 0o700 });
        await writeFile(file, `${fresh.token}\n`, { mode: 0o600 });
        // writeFile's mode applies only to a new file: an old one keeps its mode otherwise.
        await chmod(file, 0o600);
      },
    );
    return created ? file : null;
  }
}

import type { GhostConfig } from '@ghostdns/config';
import type { Scope, TokenRow, TokenStore } from '@ghostdns/records-api';
import { ExitCode, type Command, type CommandContext } from '../types.js';
import { openCommandDatabase } from './database.js';
import { loadConfigOrReport, stringOption } from './shared.js';

// `ghostdns token create|list|revoke`: API tokens of records-api, straight in
// the database (database.url, or the embedded PostgreSQL under data.dir).
// The secret is printed once by `create`; only its SHA-256 is stored.

export interface TokenDependencies {
  /** Replaces the database (tests). */
  readonly openStore?: (config: GhostConfig) => Promise<{ store: TokenStore; close(): Promise<void> }>;
}

async function openPgStore(config: GhostConfig): Promise<{ store: TokenStore; close(): Promise<void> }> {
  const { PgTokenStore } = await import('@ghostdns/records-api');
  const { db, close } = await openCommandDatabase(config, { poolSize: 2, migrate: true, logger: null });
  return { store: new PgTokenStore(db.pool), close };
}

/** Parses `--scope read,write`; null (with a message) when a scope is unknown. */
export function parseScopes(raw: string | undefined): Scope[] | string {
  const scopes = (raw ?? 'read').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  const bad = scopes.filter((s) => s !== 'read' && s !== 'write' && s !== 'admin');
  if (bad.length > 0 || scopes.length === 0) return `unknown scope ${JSON.stringify(bad[0] ?? '')}: use read, write or admin (comma-separated)`;
  return [...new Set(scopes)] as Scope[];
}

export function formatTokens(rows: readonly TokenRow[]): string {
  const lines = ['ID                                    PREFIX       NAME                 SCOPES        CREATED                   LAST USED                 STATE'];
  for (const r of rows) {
    lines.push(
      [
        r.id.padEnd(36),
        r.prefix.padEnd(12),
        r.name.slice(0, 20).padEnd(20),
        r.scopes.join(',').padEnd(13),
        r.createdAt.toISOString().padEnd(25),
        (r.lastUsedAt?.toISOString() ?? 'never').padEnd(25),
        r.revokedAt === null ? 'active' : `revoked ${r.revokedAt.toISOString()}`,
      ].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function withTokens(ctx: CommandContext, deps: TokenDependencies, fn: (service: import('@ghostdns/records-api').TokenService) => Promise<number>): Promise<number> {
  const config = loadConfigOrReport(ctx);
  if (typeof config === 'number') return config;
  let opened: { store: TokenStore; close(): Promise<void> };
  try {
    opened = await (deps.openStore ?? openPgStore)(config);
  } catch (error) {
    ctx.io.stderr(`ghostdns token: cannot open the database: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failure;
  }
  try {
    const { TokenService } = await import('@ghostdns/records-api');
    return await fn(new TokenService(opened.store));
  } catch (error) {
    ctx.io.stderr(`ghostdns token: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failure;
  } finally {
    await opened.close();
  }
}

const CLI_ACTOR = `cli:${process.env.USER ?? 'unknown'}`;

/** The `ghostdns token …` commands; `deps` replaces the database in tests. */
export function tokenCommands(deps: TokenDependencies = {}): Command[] {
  return [
    {
      path: ['token', 'create'],
      summary: 'Create an API token for records-api and print it once',
      usage: '--name NAME [--scope read|write|admin[,...]] [--config FILE]',
      details:
        'Scopes: read, write (implies read), admin (implies both). Default: read. The token is printed once on\n' +
        'stdout; only its SHA-256 is stored. Send it as `Authorization: Bearer <token>` or `X-API-Key: <token>`.',
      options: { name: { type: 'string', short: 'n' }, scope: { type: 'string', short: 's' } },
      run: async (ctx) => {
        const name = stringOption(ctx, 'name');
        if (name === undefined || name.trim() === '') {
          ctx.io.stderr('ghostdns token create: --name NAME is required\n');
          return ExitCode.usage;
        }
        const scopes = parseScopes(stringOption(ctx, 'scope'));
        if (typeof scopes === 'string') {
          ctx.io.stderr(`ghostdns token create: ${scopes}\n`);
          return ExitCode.usage;
        }
        return withTokens(ctx, deps, async (service) => {
          const created = await service.create(name, scopes, CLI_ACTOR);
          ctx.io.stdout(`${created.token}\n`);
          ctx.io.stderr(`created token ${created.id} (${created.name}, ${created.scopes.join(',')}); it is shown only this once\n`);
          return ExitCode.ok;
        });
      },
    },
    {
      path: ['token', 'list'],
      summary: 'List API tokens (never their secrets)',
      usage: '[--format table|json] [--config FILE]',
      options: { format: { type: 'string' } },
      run: async (ctx) => {
        const format = stringOption(ctx, 'format') ?? 'table';
        if (format !== 'table' && format !== 'json') {
          ctx.io.stderr('ghostdns token list: --format must be table or json\n');
          return ExitCode.usage;
        }
        return withTokens(ctx, deps, async (service) => {
          const rows = await service.list();
          ctx.io.stdout(format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatTokens(rows));
          return ExitCode.ok;
        });
      },
    },
    {
      path: ['token', 'revoke'],
      summary: 'Revoke an API token by its id (or a unique id prefix)',
      usage: 'ID [--config FILE]',
      allowArgs: true,
      run: async (ctx) => {
        const [id, ...rest] = ctx.args;
        if (id === undefined || rest.length > 0) {
          ctx.io.stderr('ghostdns token revoke: name exactly one token ID\n');
          return ExitCode.usage;
        }
        return withTokens(ctx, deps, async (service) => {
          const revoked = await service.revoke(id, CLI_ACTOR);
          if (revoked === null) {
            ctx.io.stderr(`ghostdns token revoke: no single token matches ${JSON.stringify(id)}\n`);
            return ExitCode.failure;
          }
          ctx.io.stdout(`revoked ${revoked.id} (${revoked.name})\n`);
          return ExitCode.ok;
        });
      },
    },
  ];
}

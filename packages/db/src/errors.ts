/** Stable error codes of @ghostdns/db. Never rename a code: operators alert on them. */
export type DbErrorCode =
  | 'GHOSTDNS_DB_CONNECT'
  | 'GHOSTDNS_DB_QUERY'
  | 'GHOSTDNS_DB_MIGRATION_FILES'
  | 'GHOSTDNS_DB_MIGRATION_FAILED'
  | 'GHOSTDNS_DB_MIGRATION_LOCK'
  | 'GHOSTDNS_DB_ENGINE_MISMATCH'
  | 'GHOSTDNS_DB_EMBEDDED';

export class DbError extends Error {
  override readonly name = 'DbError';
  readonly code: DbErrorCode;

  constructor(code: DbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** A short, secret-free description of an unknown thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** Strips the password from a connection string, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable database url>';
  }
}

/**
 * The logging surface @ghostdns/db needs. Structurally compatible with the
 * observability Logger (and with pino): message first, optional fields.
 */
export type DbLogFn = (message: string, fields?: Record<string, unknown>) => void;

export interface DbLogger {
  info: DbLogFn;
  warn: DbLogFn;
  error: DbLogFn;
  debug: DbLogFn;
}

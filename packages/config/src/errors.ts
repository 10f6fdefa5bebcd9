/** Stable error codes of @ghostdns/config. */
export type ConfigErrorCode = 'GHOSTDNS_CONFIG_INVALID';

/** Where a configuration value came from. */
export type ConfigSource =
  | { kind: 'default' }
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string }
  | { kind: 'argument'; name: string };

/** One problem with one key (or with the config file itself). */
export interface ConfigIssue {
  /** Dotted key (`dns.listen`, `dns.upstreams[1]`), or `<file>` for file-level problems. */
  key: string;
  source: ConfigSource;
  message: string;
}

export function formatSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'env':
      return `env ${source.name}`;
    case 'file':
      return `file ${source.path}`;
    case 'argument':
      return `argument ${source.name}`;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.key} (${formatSource(issue.source)}): ${issue.message}`;
}

/**
 * The configuration is invalid (or lacks something the process needs). The
 * message lists every problem, one per line, each naming the key and where its
 * value came from; `issues` carries the same list for programs.
 */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode = 'GHOSTDNS_CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const lines = issues.map((issue) => `  - ${formatIssue(issue)}`);
    super(
      `invalid GhostDNS configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      options,
    );
    this.name = 'ConfigError';
    this.issues = Object.freeze([...issues]);
  }

  /**
   * A setting the process needs is missing, e.g.
   * `ConfigError.missing('database.url', 'DATABASE_URL', 'records-api stores records in PostgreSQL')`.
   */
  static missing(key: string, envName: string, why: string): ConfigError {
    return new ConfigError([{ key, source: { kind: 'default' }, message: `not set: set ${envName} (${why})` }]);
  }
}

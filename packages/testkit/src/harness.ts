import { TestkitError, describeError } from './errors.js';
import {
  startKafka,
  startPostgres,
  startRedis,
  startTimescale,
  type HarnessLogger,
  type StartedComponent,
} from './components.js';
import { COMPONENT_ENV, TIMESCALE_POOL_MAX_ENV, type ComponentName } from './require.js';

export const ALL_COMPONENTS: readonly ComponentName[] = ['postgres', 'timescaledb', 'kafka', 'redis'];

export interface HarnessOptions {
  /** Components to provide (default: all four). */
  components?: readonly ComponentName[];
  /** Where already-set TEST_* variables are read from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Admin URL of the local PostgreSQL (default postgres://postgres@127.0.0.1:5432/postgres). */
  postgresAdminUrl?: string;
  /** Progress messages (default: info to stderr, debug dropped). */
  logger?: HarnessLogger;
}

export interface Harness {
  /** TEST_POSTGRES_URL, TEST_TIMESCALE_URL, TEST_TIMESCALE_POOL_MAX, TEST_KAFKA_BROKERS, TEST_REDIS_URL. */
  readonly env: Readonly<Record<string, string>>;
  /** One line per component: what it is and where. */
  readonly components: readonly string[];
  /** Stops what the harness started (reused components are left alone). Idempotent. */
  stop(): Promise<void>;
}

const defaultLogger: HarnessLogger = {
  info: (m) => process.stderr.write(`${m}\n`),
  debug: () => undefined,
};

/**
 * Provides every real component the integration tests need: reuses a
 * component whose TEST_* variable is already set, otherwise starts or
 * attaches one. Throws (never skips) naming each component that could not
 * be provided and how to install it; whatever did start is stopped first.
 */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const log = opts.logger ?? defaultLogger;
  const source = opts.env ?? process.env;
  const wanted = opts.components ?? ALL_COMPONENTS;
  const env: Record<string, string> = {};
  const lines: string[] = [];

  const starters: Record<ComponentName, () => Promise<StartedComponent>> = {
    postgres: () => startPostgres({ adminUrl: opts.postgresAdminUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres' }, log),
    timescaledb: () => startTimescale(log),
    kafka: () => startKafka(log),
    redis: () => startRedis(log),
  };

  const results = await Promise.allSettled(
    wanted.map(async (name): Promise<StartedComponent> => {
      const variable = COMPONENT_ENV[name];
      const existing = source[variable];
      if (existing !== undefined && existing.trim() !== '') {
        const reused: Record<string, string> = { [variable]: existing };
        if (name === 'timescaledb') reused[TIMESCALE_POOL_MAX_ENV] = source[TIMESCALE_POOL_MAX_ENV] ?? '10';
        return { env: reused, description: `${name}: reusing ${variable}`, stop: async () => undefined };
      }
      return starters[name]();
    }),
  );

  const started: StartedComponent[] = [];
  const failures: unknown[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') started.push(r.value);
    else failures.push(r.reason);
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const errors: string[] = [];
      await Promise.all(
        started.map((c) =>
          c.stop().catch((err: unknown) => {
            errors.push(`${c.description}: ${describeError(err)}`);
          }),
        ),
      );
      if (errors.length > 0) log.info(`harness: errors while stopping: ${errors.join('; ')}`);
    })();
    return stopping;
  };

  if (failures.length > 0) {
    await stop();
    throw new TestkitError(
      'GHOSTDNS_TESTKIT_COMPONENT_START',
      failures.map(describeError).join('\n'),
      { cause: failures.length === 1 ? failures[0] : new AggregateError(failures) },
    );
  }

  for (const c of started) {
    Object.assign(env, c.env);
    lines.push(c.description);
    log.info(`harness: ${c.description}`);
  }
  return { env: Object.freeze(env), components: Object.freeze(lines), stop };
}

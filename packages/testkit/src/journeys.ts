import { type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startKafka } from './components.js';
import { spawnTracked } from './processes.js';
import { freePort, waitFor } from './wait.js';

// Building blocks for e2e journeys and benchmarks: GhostDNS processes, a real
// upstream (dnsmasq), a private Kafka mock, scratch databases and data folders.

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A port free for both UDP and TCP on 127.0.0.1 (DNS servers bind both). */
export async function freeUdpAndTcpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const socket = dgram.createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => resolve(true));
    });
    socket.close();
    if (free) return port;
  }
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last ~100 KB of stdout and stderr, for failure messages. */
  output(): string;
  /** Sends `signal` (SIGKILL after 15 s) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startProcess(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): ManagedProcess {
  const child = spawnTracked(name, command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = child.exitCode !== null ? Promise.resolve(child.exitCode) : once(child, 'exit').then(([code]) => code as number | null);
  return {
    name,
    child,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a TypeScript entry point of this repository under tsx. */
export function startTsx(name: string, entry: string, args: readonly string[], env: NodeJS.ProcessEnv): ManagedProcess {
  // node with tsx's loader, not the tsx CLI: the CLI runs the program in a child process, so a
  // signal (SIGKILL above all) would reach the wrapper and leave the real process running.
  return startProcess(name, process.execPath, ['--import', 'tsx', entry, ...args], env);
}

/**
 * Debian's dnsmasq as a real upstream serving fixed A records (TTL 0 unless `extraArgs` has
 * `--local-ttl=N`) on loopback. `extraArgs` are further dnsmasq flags, e.g. `--address=/blocked.test/`.
 */
export function startDnsmasq(port: number, records: Readonly<Record<string, string>>, extraArgs: readonly string[] = []): ManagedProcess {
  const hostRecords = Object.entries(records).map(([name, ip]) => `--host-record=${name},${ip}`);
  return startProcess('dnsmasq', 'dnsmasq', [
    '--keep-in-foreground', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--user=root', '--pid-file', '--log-facility=-', '--cache-size=0', ...hostRecords, ...extraArgs,
  ], {});
}

/** Polls `url` until it answers 200, failing early with the output of any process that died. */
export async function waitForHttp(url: string, processes: readonly ManagedProcess[], timeoutMs = 90_000): Promise<void> {
  try {
    await waitForHttpStatus(url, processes, timeoutMs);
  } catch (err) {
    // Whoever was meant to answer says why in its own output.
    const tails = processes.map((p) => `--- ${p.name} ---\n${p.output().slice(-4000)}`).join('\n');
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${tails}`, { cause: err });
  }
}

async function waitForHttpStatus(url: string, processes: readonly ManagedProcess[], timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      for (const p of processes) {
        if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${p.output()}`);
      }
      try {
        return (await fetch(url)).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 200, description: `${url} to answer 200` },
  );
}

export interface KafkaMock {
  brokers: string[];
  stop(): Promise<void>;
}

/** A private librdkafka mock cluster, so a journey's topics and groups start empty. */
export async function startKafkaMock(): Promise<KafkaMock> {
  const started = await startKafka({ info: () => undefined, debug: () => undefined });
  return { brokers: (started.env.TEST_KAFKA_BROKERS ?? '').split(','), stop: () => started.stop() };
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database on the server of `serverUrl`, dropped by `drop()`. */
export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `ghostdns_scratch_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export function scratchDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ghostdns-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}


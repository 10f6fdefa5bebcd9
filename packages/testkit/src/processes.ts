import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** Every child the harness spawned and has not yet reaped, by PID. */
const tracked = new Map<number, { child: ChildProcess; name: string }>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort: synchronous kill of whatever is still tracked.
  process.on('exit', () => {
    for (const { child } of tracked.values()) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void killAllTracked().finally(() => {
        // When nobody else handles the signal, re-raise it with the default
        // disposition so the exit status is the usual 128+n.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    });
  }
}

/**
 * Runs `"$@"` under /bin/sh as a watchdog: when this (parent) process dies
 * without cleaning up (SIGKILL, crash), the pipe on the watchdog's stdin
 * closes and it kills the program, so no orphan kcat/redis-server is left.
 * SIGTERM to the watchdog is forwarded; it exits with the program's status.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$@" &',
  'child=$!',
  '( while read -r _ <&3; do :; done; kill "$child" 2>/dev/null ) &',
  'watcher=$!',
  'trap \'kill "$child" 2>/dev/null\' TERM INT HUP',
  'wait "$child"',
  'wait "$child"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

export interface SpawnTrackedOptions extends SpawnOptions {
  /** Kill the program even if this process is SIGKILLed (via a /bin/sh watchdog; for programs that ignore stdin). */
  dieWithParent?: boolean;
}

/** Spawns a child that is killed when the harness stops or this process exits. */
export function spawnTracked(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnTrackedOptions = {},
): ChildProcess {
  installExitHooks();
  const { dieWithParent, ...spawnOptions } = options;
  const [cmd, argv] = dieWithParent ? ['/bin/sh', ['-c', WATCHDOG, name, command, ...args]] : [command, [...args]];
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOptions });
  const pid = child.pid;
  if (pid !== undefined) {
    tracked.set(pid, { child, name });
    child.once('exit', () => tracked.delete(pid));
  }
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function killTracked(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (!child.kill('SIGTERM')) {
      clearTimeout(timer);
      resolve();
    }
  });
}

export async function killAllTracked(): Promise<void> {
  await Promise.all([...tracked.values()].map(({ child }) => killTracked(child)));
}

/** Names and PIDs of the children still running, for diagnostics. */
export function trackedProcesses(): Array<{ pid: number; name: string }> {
  return [...tracked.entries()].map(([pid, { name }]) => ({ pid, name }));
}

// `pnpm test`: make sure the system binaries exist (installing them when root),
// start the harness, run every vitest project with the harness env, stop the
// harness, exit with vitest's status. Extra arguments go to `vitest run`:
//   pnpm test -- --project integration packages/db
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';

// The root package is CommonJS for tsx (no import.meta); testkit is ESM and is loaded with import().
const root = join(dirname(resolve(process.argv[1] ?? 'scripts/test.ts')), '..');
const REQUIRED_BINARIES = ['kcat', 'dig', 'kdig', 'dnsmasq', 'unbound', 'named', 'kresd', 'redis-server', 'psql'] as const;

function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name} >/dev/null 2>&1 || test -x /usr/sbin/${name}`]).status === 0;
}

function ensureSystemDeps(): void {
  const missing = REQUIRED_BINARIES.filter((b) => !hasBinary(b));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      `test: missing system binaries: ${missing.join(', ')}; run \`sudo scripts/install-system-deps.sh\` (continuing; ` +
        'the harness will say what it cannot start)\n',
    );
    return;
  }
  process.stderr.write(`test: installing missing system binaries (${missing.join(', ')}) via scripts/install-system-deps.sh\n`);
  const r = spawnSync(join(root, 'scripts', 'install-system-deps.sh'), { stdio: 'inherit' });
  if (r.status !== 0) process.stderr.write(`test: install-system-deps.sh exited with ${r.status ?? r.signal ?? 'unknown'}\n`);
}

async function main(): Promise<number> {
  ensureSystemDeps();
  const args = process.argv.slice(2);
  if (args[0] === '--') args.shift();

  const { startHarness } = await import('../packages/testkit/src/index.js');
  const harness = await startHarness();
  let interrupted: NodeJS.Signals | undefined;
  try {
    const child = spawn('pnpm', ['exec', 'vitest', 'run', ...args], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...harness.env },
    });
    // The terminal sends SIGINT to vitest too; wait for it to exit, then clean up.
    const onSignal = (signal: NodeJS.Signals): void => {
      interrupted = signal;
      child.kill(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const code = await new Promise<number>((resolve) => {
      child.once('error', (err) => {
        process.stderr.write(`test: cannot run vitest: ${err.message}\n`);
        resolve(1);
      });
      child.once('exit', (status, signal) => resolve(status ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
    });
    return interrupted ? (interrupted === 'SIGINT' ? 130 : 143) : code;
  } finally {
    await harness.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`test: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

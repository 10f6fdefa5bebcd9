import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, runCli, type CliIo, type Command } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const bin = join(root, 'packages/cli/src/bin.ts');
const dir = mkdtempSync(join(tmpdir(), 'ghostdns-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The parent's environment minus anything GhostDNS would read. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith('GHOSTDNS_')) continue;
    if (['KAFKA_BROKERS', 'DATABASE_URL', 'REDIS_URL', 'SCHEMA_REGISTRY_URL'].includes(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(tsx, [bin, ...args], { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('ghostdns (spawned)', { timeout: 30_000 }, () => {
  it('config check prints the effective config, secrets masked, exit 0', async () => {
    const res = await run(['config', 'check'], {
      DATABASE_URL: 'postgres://ghost:hunter2@db.example:5432/ghost',
      GHOSTDNS_DNS_UPSTREAMS: '1.1.1.1:53,9.9.9.9:53',
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('listen: 127.0.0.1:5353');
    expect(res.stdout).toContain('- 9.9.9.9:53');
    expect(res.stdout).toContain('url: postgres://ghost:****@db.example:5432/ghost');
    expect(res.stdout).not.toContain('hunter2');
  });

  it('config check --format json reads the --config file', async () => {
    const file = join(dir, 'ghostdns.yaml');
    writeFileSync(file, 'http:\n  listen: 0.0.0.0:9000\nlog:\n  level: debug\n');
    const res = await run(['config', 'check', '--format', 'json', '--config', file]);
    expect(res.code).toBe(0);
    const config = JSON.parse(res.stdout) as { http: { listen: string }; log: { level: string } };
    expect(config.http.listen).toBe('0.0.0.0:9000');
    expect(config.log.level).toBe('debug');
  });

  it('config check with bad config lists every problem and exits 2', async () => {
    const res = await run(['config', 'check'], {
      GHOSTDNS_DNS_LISTEN: 'localhost',
      GHOSTDNS_DNS_TCP: 'sometimes',
      GHOSTDNS_TYPO: '1',
    });
    expect(res.code).toBe(ExitCode.config);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('dns.listen (env GHOSTDNS_DNS_LISTEN): expected host:port');
    expect(res.stderr).toContain('dns.tcp (env GHOSTDNS_DNS_TCP): expected a boolean');
    expect(res.stderr).toContain('GHOSTDNS_TYPO (env GHOSTDNS_TYPO): unknown GhostDNS environment variable');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('a missing config file exits 2', async () => {
    const res = await run(['config', 'check'], { GHOSTDNS_CONFIG: join(dir, 'nope.yaml') });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('file not found');
  });

  it('help exits 0; unknown command exits 64', async () => {
    const help = await run(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('config check');
    const bad = await run(['frobnicate']);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.stderr).toContain("unknown command 'frobnicate'");
  });
});

function memoryIo(env: Record<string, string> = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, env, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
}

describe('runCli (in process)', () => {
  const seen: unknown[] = [];
  const table: Command[] = [
    {
      path: ['token', 'create'],
      summary: 'make a token',
      options: { name: { type: 'string' } },
      allowArgs: true,
      run: async (ctx) => {
        seen.push({ values: ctx.values, args: ctx.args });
        return 0;
      },
    },
    { path: ['token'], summary: 'token group', run: async () => 5 },
  ];

  it('dispatches to the longest matching command with parsed options', async () => {
    const io = memoryIo();
    expect(await runCli(['token', 'create', '--name', 'ci', 'extra'], io, table)).toBe(0);
    expect(seen.at(-1)).toEqual({ values: { name: 'ci' }, args: ['extra'] });
    expect(await runCli(['token'], io, table)).toBe(5);
  });

  it.each<[string[], number, string]>([
    [['token', 'create', '--nope'], 64, "Unknown option '--nope'"],
    [['config', 'check', '--format', 'xml'], 64, '--format must be yaml or json'],
    [['config', 'check', 'stray'], 64, "unexpected argument 'stray'"],
    [['help', 'nothing'], 64, "unknown command 'nothing'"],
  ])('%j -> %i', async (argv, code, message) => {
    const io = memoryIo();
    const usesDefault = argv[0] !== 'token';
    expect(await (usesDefault ? runCli(argv, io) : runCli(argv, io, table))).toBe(code);
    expect(io.err.join('')).toContain(message);
  });

  it('--help prints command help', async () => {
    const io = memoryIo();
    expect(await runCli(['start', '--help'], io)).toBe(0);
    expect(io.out.join('')).toContain('usage: ghostdns start');
  });

  it('config keys lists every env variable', async () => {
    const io = memoryIo();
    expect(await runCli(['config', 'keys'], io)).toBe(0);
    const text = io.out.join('');
    expect(text).toContain('GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS');
    expect(text).toContain('GHOSTDNS_DATABASE_URL (or DATABASE_URL)');
  });
});

import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireComponent } from '@ghostdns/testkit';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** `ghostdns start` against the harness PostgreSQL: comes up, serves /healthz and /readyz, stops cleanly on SIGTERM. */
describe('ghostdns start (integration)', () => {
  it('starts all five services and shuts down cleanly on SIGTERM', async () => {
    const databaseUrl = requireComponent('postgres');

    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !name.startsWith('GHOSTDNS_')) env[name] = value;
    }
    Object.assign(env, {
      DATABASE_URL: databaseUrl,
      GHOSTDNS_HTTP_LISTEN: '127.0.0.1:0',
      GHOSTDNS_DNS_LISTEN: '127.0.0.1:0',
      GHOSTDNS_LOG_LEVEL: 'warn',
    });
    // node --import tsx (not the tsx wrapper) so SIGTERM reaches the CLI process itself.
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'packages/cli/src/bin.ts'), 'start'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolveExit) => child.on('close', (code) => resolveExit(code)));

    const httpUrl = await new Promise<string>((resolveUrl, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /HTTP {2}(http:\/\/\S+)/.exec(stdout);
        if (match?.[1] !== undefined && stdout.includes('Press Ctrl-C')) resolveUrl(match[1]);
      });
      void exited.then((code) => reject(new Error(`start exited early (${String(code)}): ${stderr}${stdout}`)));
    });

    expect(stdout).toContain('GhostDNS standalone is up');
    expect(stdout).not.toMatch(/:\/\/[^\s:]*:[^*\s]+@/); // no unmasked credentials
    const health = await fetch(`${httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const deadline = Date.now() + 30_000;
    let ready = 0;
    while (Date.now() < deadline && ready !== 200) {
      ready = (await fetch(`${httpUrl}/readyz`)).status;
      if (ready !== 200) await new Promise((r) => setImmediate(r));
    }
    expect(ready).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('stopped');
  });
});

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createScratchDatabase, freePort, freeUdpAndTcpPort, requireComponent, scratchDir, startTsx, waitFor, waitForHttp,
  type ManagedProcess,
} from '@ghostdns/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUdp } from './support.js';

// records-api -> records.changes.v1 -> resolver-edge, in one standalone `ghostdns start`:
// a record written over HTTP with a token answers on UDP, a second value joins the
// round robin, DELETE makes the name NXDOMAIN again, writes without a token are 401,
// `ghostdns token create|revoke` work on the same database, and the records come back
// after a restart (they live in the database; the in-process bus starts empty).

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const NXDOMAIN = 3;

const rcode = (flags: number | undefined): number => (flags ?? 0) & 0x000f;
const addresses = (answer: Awaited<ReturnType<typeof queryUdp>>): string[] =>
  (answer.answers ?? []).flatMap((a) => (a.type === 'A' ? [String(a.data)] : []));

describe('standalone: records API to resolver-edge', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let db: { url: string; drop(): Promise<void> };
  let data: { dir: string; remove(): void };
  let app: ManagedProcess;
  let base: string;
  let dnsPort: number;
  let admin: string;
  const name = `svc-${randomBytes(4).toString('hex')}.vpn.local`;

  const env = (): NodeJS.ProcessEnv => ({ DATABASE_URL: db.url, GHOSTDNS_DATA_DIR: data.dir, GHOSTDNS_LOG_LEVEL: 'warn' });

  async function start(): Promise<void> {
    const httpPort = await freePort();
    app = startTsx('ghostdns start', 'packages/cli/src/bin.ts', ['start'], {
      ...env(),
      GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      GHOSTDNS_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
    });
    base = `http://127.0.0.1:${httpPort}`;
    await waitForHttp(`${base}/readyz`, [app], 300_000);
  }

  async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return execFileAsync(TSX, ['packages/cli/src/bin.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env() } });
  }

  async function answersWith(expected: string[]): Promise<void> {
    await waitFor(async () => {
      const answer = await queryUdp(dnsPort, name).catch(() => null);
      return answer !== null && rcode(answer.flags) === 0 && [...addresses(answer)].sort().join() === [...expected].sort().join();
    }, { timeoutMs: 15_000, intervalMs: 50, description: `${name} to answer ${expected.join(', ')}` });
  }

  beforeAll(async () => {
    db = await createScratchDatabase(requireComponent('postgres'));
    stops.push(() => db.drop());
    data = scratchDir();
    stops.push(async () => data.remove());
    dnsPort = await freeUdpAndTcpPort();
    await start();
    admin = readFileSync(path.join(data.dir, 'admin.token'), 'utf8').trim();
  });

  afterAll(async () => {
    await app?.stop('SIGTERM');
    for (const stop of stops.reverse()) await stop();
  });

  it('logged where the admin token is, never the token', () => {
    expect(admin).toMatch(/^gdns_/);
    expect(app.output()).toContain(path.join(data.dir, 'admin.token'));
    expect(app.output()).not.toContain(admin);
  });

  it('refuses a write without a token (401) and the name stays unknown', async () => {
    const response = await fetch(`${base}/api/v1/records`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ domain: name, type: 'A', value: '100.64.1.1' }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'GHOSTDNS_API_UNAUTHORIZED' } });
    expect(rcode((await queryUdp(dnsPort, name)).flags)).toBe(NXDOMAIN);
  });

  let id = '';

  it('POST with the admin token answers over DNS; a second value joins the round robin', async () => {
    const response = await fetch(`${base}/api/v1/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ action: 'register', domain: name, type: 'A', value: '100.64.1.1', ttl: 60, metadata: { managed_by: 'ghostscale' } }),
    });
    expect(response.status).toBe(201);
    id = ((await response.json()) as { id: string }).id;
    await answersWith(['100.64.1.1']);

    const { stdout } = await cli('token', 'create', '--name', 'e2e-writer', '--scope', 'write');
    const writer = stdout.trim();
    expect(writer).toMatch(/^gdns_/);
    // The service-mesh variant: no Content-Type, so the JSON arrives as text/plain.
    const second = await fetch(`${base}/api/v1/records`, {
      method: 'POST', headers: { 'x-api-key': writer }, body: JSON.stringify({ domain: name, type: 'A', value: '100.64.1.2' }),
    });
    expect(second.status).toBe(200);
    await answersWith(['100.64.1.1', '100.64.1.2']);
    const first = addresses(await queryUdp(dnsPort, name))[0];
    await waitFor(async () => addresses(await queryUdp(dnsPort, name))[0] !== first, {
      timeoutMs: 10_000, intervalMs: 20, description: 'the answer order to rotate',
    });

    const listed = JSON.parse((await cli('token', 'list', '--format', 'json')).stdout) as { id: string; name: string }[];
    const writerRow = listed.find((t) => t.name === 'e2e-writer');
    expect(writerRow).toBeDefined();
    await cli('token', 'revoke', writerRow?.id ?? '');
    const revoked = await fetch(`${base}/api/v1/records`, {
      method: 'POST', headers: { 'x-api-key': writer }, body: JSON.stringify({ domain: name, type: 'A', value: '100.64.1.3' }),
    });
    expect(revoked.status).toBe(401);
  });

  it('records survive a restart', async () => {
    await app.stop('SIGTERM');
    await start();
    await answersWith(['100.64.1.1', '100.64.1.2']);
  });

  it('DELETE makes the name NXDOMAIN again', async () => {
    const response = await fetch(`${base}/api/v1/records/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(response.status).toBe(204);
    await waitFor(async () => rcode((await queryUdp(dnsPort, name)).flags) === NXDOMAIN, {
      timeoutMs: 15_000, intervalMs: 50, description: `${name} to be NXDOMAIN`,
    });
  });
});

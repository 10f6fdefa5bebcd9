import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../src/index.js';
import { haddnsCommands } from '../src/commands/haddns.js';

// The haddns commands with `wg show all dump` stubbed: a fresh peer named in wg0.conf,
// a peer that never handshook, and one on an interface nobody watches.
const SERVER = 'u73Ft2MqwXo7ZxNAcLhll3UGp5qddFgIcV8/ETj/Hx8=';
const LAPTOP = '8qJ0HLdCJ8KBgm6luPWisCZVDDPmKEYS1mA6Dd4e+3g=';
const PHONE = 'YwTyLAcTFlbq8cmPdAjslMbJYDVEbyiB3t2iOwpbzC8=';
const dir = mkdtempSync(join(tmpdir(), 'ghostdns-haddns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'wg0.conf'), `# Name = Laptop\n[Peer]\nPublicKey = ${LAPTOP}\n`);

const fresh = Math.floor(Date.now() / 1000) - 10;
const dump = [
  ['wg0', '(none)', SERVER, 51820, 'off'],
  ['wg0', LAPTOP, '(none)', '192.0.2.7:5000', '10.8.0.2/32,fd00::2/128', fresh, 100, 200, 'off'],
  ['wg0', PHONE, '(none)', '(none)', '10.8.0.3/32', 0, 0, 0, 'off'],
  ['wg9', PHONE, '(none)', '(none)', '10.9.0.3/32', fresh, 0, 0, 'off'],
].map((fields) => fields.join('\t')).join('\n');

async function haddns(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES: 'wg0', GHOSTDNS_PRESENCE_SUFFIX: 'vpn.test', GHOSTDNS_PRESENCE_WIREGUARD_CONFIG_DIR: dir, ...extraEnv },
  };
  const code = await runCli(['haddns', ...args], io, haddnsCommands({ dump: { read: async () => dump } }));
  return { code, stdout, stderr };
}

describe('ghostdns haddns', () => {
  it('update --dry-run --verbose prints every peer, its handshake age, state and change', async () => {
    const { code, stdout } = await haddns(['update', '--dry-run', '--verbose']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^wg0  laptop\\.vpn\\.test  ${LAPTOP.replace(/[+/]/g, '\\$&')}  handshake 1[0-9]s  online  would publish DEVICE_ONLINE$`));
    expect(lines[1]).toMatch(/^wg0 {2}peer-10-8-0-3\.vpn\.test {2}\S+ {2}handshake never {2}offline {2}would publish DEVICE_OFFLINE$/);
    expect(lines[2]).toBe('2 peer(s), 2 change(s)');
    expect(stdout).not.toContain('wg9');
  });

  it('update without --dry-run needs Kafka: standalone it is refused, pointing at the running process and --dry-run', async () => {
    const { code, stderr, stdout } = await haddns(['update']);
    expect(code).toBe(2);
    expect(stderr).toContain('KAFKA_BROKERS');
    expect(stderr).toContain('applies the changes itself every presence.pollInterval (5 s): --dry-run reports them');
    expect(stdout).toBe('');
  });

  it('update without --dry-run needs Redis too (the snapshot it decides against and writes back)', async () => {
    const { code, stderr } = await haddns(['update'], { KAFKA_BROKERS: '127.0.0.1:9' });
    expect(code).toBe(2);
    expect(stderr).toContain('REDIS_URL');
  });

  it('update needs a source: no WireGuard interfaces and no Tailscale is exit 2', async () => {
    const { code, stderr } = await haddns(['update', '--dry-run'], { GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES: '' });
    expect(code).toBe(2);
    expect(stderr).toContain('GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES');
  });

  it('export-dnsmasq writes host-records with global and instance names for online peers', async () => {
    const output = join(dir, 'haddns.conf');
    expect((await haddns(['export-dnsmasq', '--output', output])).code).toBe(0);
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    expect(lines.slice(1)).toEqual(['host-record=laptop.vpn.test,laptop.wg0.vpn.test,10.8.0.2,fd00::2']);
  });

  it('setup prints the presence configuration with its flags over the config, validated', async () => {
    const { code, stdout } = await haddns(['setup', '--suffix', 'lab.example', '--threshold', '120', '--interfaces', 'wg0, wg1']);
    expect(code).toBe(0);
    expect(stdout).toContain('GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES=wg0,wg1\n');
    expect(stdout).toContain('GHOSTDNS_PRESENCE_SUFFIX=lab.example\n');
    expect(stdout).toContain('GHOSTDNS_PRESENCE_HANDSHAKE_THRESHOLD=120\n');
    expect(stdout).toContain('#   wireguardInterfaces: [wg0, wg1]\n');
  });

  it('setup refuses settings presence-service would refuse (threshold below the poll interval)', async () => {
    const { code, stderr } = await haddns(['setup', '--threshold', '2']);
    expect(code).toBe(2);
    expect(stderr).toContain('GHOSTDNS_PRESENCE');
  });

  it('map needs a key and a name that makes a label', async () => {
    expect((await haddns(['map', LAPTOP])).code).toBe(64);
    expect((await haddns(['map', LAPTOP, 'laptop', '--source', 'zerotier'])).code).toBe(64);
    const bad = await haddns(['map', LAPTOP, '!!!']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('makes no DNS label');
  });

  it('map takes --domain or --no-domain, not both, and a domain that is a DNS name', async () => {
    expect((await haddns(['map', LAPTOP, 'laptop', '--domain', 'home.example', '--no-domain'])).code).toBe(64);
    const bad = await haddns(['map', LAPTOP, 'laptop', '--domain', 'home..example']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('custom domain "home..example" is not a DNS name');
  });
});

// Tailscale through the API, pointed at a loopback stand-in of api.tailscale.com (never the real one).
describe('ghostdns haddns with Tailscale', () => {
  let server: Server;
  let apiUrl: string;
  let answer: { status: number; body: unknown } = { status: 200, body: { devices: [] } };
  const device = (n: number, connected: boolean) => ({
    id: String(n), nodeId: `nTS${n}CNTRL`, name: `host-${n}.tail1234.ts.net`, hostname: `Host ${n}`, os: 'linux',
    addresses: [`100.64.0.${n}`], lastSeen: '2025-11-23T10:00:00Z', connectedToControl: connected,
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const ok = req.url === '/api/v2/tailnet/example.com/devices' && req.headers.authorization === 'Bearer tskey-api-test';
      res.writeHead(ok ? answer.status : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? answer.body : { message: 'not found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const tailscale = () => ({
    GHOSTDNS_PRESENCE_TAILSCALE_SOURCE: 'api', GHOSTDNS_PRESENCE_TAILSCALE_API_URL: apiUrl,
    GHOSTDNS_PRESENCE_TAILSCALE_TAILNET: 'example.com', GHOSTDNS_PRESENCE_TAILSCALE_API_KEY: 'tskey-api-test',
  });

  it('update --dry-run covers the tailnet next to WireGuard', async () => {
    answer = { status: 200, body: { devices: [device(1, true), device(2, false)] } };
    const { code, stdout } = await haddns(['update', '--dry-run', '--verbose'], tailscale());
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('tailscale  '))).toEqual([
      expect.stringMatching(/^tailscale {2}host-1\.vpn\.test {2}nTS1CNTRL {2}last seen \d+s {2}online {2}would publish DEVICE_ONLINE$/),
      expect.stringMatching(/^tailscale {2}host-2\.vpn\.test {2}nTS2CNTRL {2}last seen \d+s {2}offline {2}would publish DEVICE_OFFLINE$/),
    ]);
    expect(lines.at(-1)).toBe('4 peer(s), 4 change(s)');
  });

  it('export-dnsmasq writes the connected Tailscale devices too (no instance name: no interface)', async () => {
    answer = { status: 200, body: { devices: [device(1, true), device(2, false)] } };
    const { code, stdout } = await haddns(['export-dnsmasq'], tailscale());
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').slice(1)).toEqual([
      'host-record=laptop.vpn.test,laptop.wg0.vpn.test,10.8.0.2,fd00::2',
      'host-record=host-1.vpn.test,100.64.0.1',
    ]);
  });

  it('a source that cannot be polled: update reports the others and exits 1; export-dnsmasq writes nothing', async () => {
    answer = { status: 503, body: { message: 'unavailable' } };
    const update = await haddns(['update', '--dry-run'], tailscale());
    expect(update.code).toBe(1);
    expect(update.stdout).toMatch(/^wg0 {2}laptop\.vpn\.test /m);
    expect(update.stderr).toMatch(/^ghostdns haddns: tailscale: .*503.*; its previous state is kept$/m);
    const output = join(dir, 'not-written.conf');
    const exported = await haddns(['export-dnsmasq', '--output', output], tailscale());
    expect(exported.code).toBe(1);
    expect(exported.stderr).toContain('ghostdns haddns: tailscale: ');
    expect(existsSync(output)).toBe(false);
  });
});

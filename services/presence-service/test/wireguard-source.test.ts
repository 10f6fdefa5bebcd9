import { describe, expect, it } from 'vitest';
import { PresenceError } from '../src/errors.js';
import { wgShowAllDump } from '../src/wireguard/command.js';
import type { WgQuickConfigReader } from '../src/wireguard/command.js';
import { WireGuardSource } from '../src/wireguard/source.js';
import { dumpLine, KEY } from './wg-keys.js';

const PRIVATE = 'oLbkXKXq2Zx8nLR7e0B+0pTqXoYz8o3kIi2mKuJ1p2s=';
const DUMP = [
  dumpLine('wg0', PRIVATE, KEY.server, 51820, 'off'),
  dumpLine('wg0', KEY.laptop, '(none)', '203.0.113.7:41234', '10.8.0.2/32,fd00::2/128', 1_700_000_000, 5_120, 9_876, 25),
  dumpLine('wg0', KEY.phone, '(none)', '(none)', '10.8.0.3/32', 0, 0, 0, 'off'),
  'garbage line',
  dumpLine('wg1', PRIVATE, KEY.office, 51821, 'off'),
  dumpLine('wg1', KEY.router, '(none)', '(none)', '10.9.0.0/24', 1_700_000_000, 1, 1, 'off'),
  dumpLine('wg1', KEY.office, '(none)', '(none)', '10.9.0.7/32', 1_700_000_000, 1, 1, 'off'),
  dumpLine('other', PRIVATE, KEY.office, 51822, 'off'),
  dumpLine('other', KEY.laptop, '(none)', '(none)', '10.10.0.2/32', 1_700_000_000, 1, 1, 'off'),
].join('\n');

const configs: Record<string, string> = {
  wg0: `# Name = Alice's Laptop\n[Peer]\nPublicKey = ${KEY.laptop}\n`,
  wg1: `# Name = alice-s-laptop\n[Peer]\nPublicKey = ${KEY.office}\n`,
};
const configReader: WgQuickConfigReader = { read: async (name) => configs[name] ?? null };

describe('WireGuardSource', () => {
  it('maps the watched interfaces: names from comments, else tunnel addresses, collisions tagged', async () => {
    const malformed: number[] = [];
    const source = new WireGuardSource({
      dump: { read: async () => DUMP },
      configs: configReader,
      interfaces: ['wg0', 'wg1', 'absent'],
      onMalformed: (lines) => malformed.push(...lines.map((l) => l.line)),
      now: () => 1_700_000_010_000,
    });
    const peers = await source.poll();
    expect(malformed).toEqual([4]);
    expect(peers.map((p) => [p.interface, p.name, p.addresses])).toEqual([
      ['wg0', 'alice-s-laptop', ['10.8.0.2', 'fd00::2']],
      ['wg0', 'peer-10-8-0-3', ['10.8.0.3']],
      ['wg1', expect.stringMatching(/^peer-[0-9a-f]{8}$/), []],
      ['wg1', expect.stringMatching(/^alice-s-laptop-[0-9a-f]{6}$/), ['10.9.0.7']],
    ]);
    expect(peers[0]).toMatchObject({
      source: 'WIREGUARD', deviceId: KEY.laptop, lastHandshakeUs: 1_700_000_000_000_000, observedAtUs: 1_700_000_010_000_000,
      rxBytes: 5_120, persistentKeepaliveSec: 25,
    });
    expect(peers[1]?.lastHandshakeUs).toBeNull();
  });

  it('a database mapping names the peer before any comment and gives its domain; a disabled mapping leaves it unnamed (never online)', async () => {
    const source = new WireGuardSource({
      dump: { read: async () => DUMP },
      configs: configReader,
      interfaces: ['wg0', 'wg1'],
      mappings: {
        read: async (sourceId) =>
          new Map([
            [KEY.laptop, { source: sourceId, deviceId: KEY.laptop, name: 'work-laptop', enabled: true, customDomain: 'home.example' }],
            [KEY.office, { source: sourceId, deviceId: KEY.office, name: 'office', enabled: false, customDomain: null }],
          ]),
      },
    });
    const peers = await source.poll();
    expect(peers.map((p) => [p.interface, p.name, p.domain])).toEqual([
      ['wg0', 'work-laptop', 'home.example'],
      ['wg0', 'peer-10-8-0-3', null],
      ['wg1', expect.stringMatching(/^peer-[0-9a-f]{8}$/), null],
      ['wg1', null, null],
    ]);
  });

  it('a label is unique under its domain: a mapped peer under a custom domain keeps a label a peer under the suffix has', async () => {
    const mapped = (domain: string | null) =>
      new WireGuardSource({
        dump: { read: async () => DUMP },
        configs: configReader,
        interfaces: ['wg0', 'wg1'],
        mappings: {
          read: async (sourceId) => new Map([[KEY.office, { source: sourceId, deviceId: KEY.office, name: 'alice-s-laptop', enabled: true, customDomain: domain }]]),
        },
      });
    const office = async (domain: string | null) => (await mapped(domain).poll()).find((p) => p.deviceId === KEY.office && p.interface === 'wg1');
    expect(await office('office.example')).toMatchObject({ name: 'alice-s-laptop', domain: 'office.example' });
    const underSuffix = await office(null);
    expect(underSuffix?.name).toMatch(/^alice-s-laptop-[0-9a-f]{6}$/);
    expect(underSuffix?.domain).toBeNull();
  });

  it('mappings that cannot be read reject the poll', async () => {
    const source = new WireGuardSource({
      dump: { read: async () => DUMP },
      configs: configReader,
      interfaces: null,
      mappings: { read: async () => Promise.reject(new PresenceError('GHOSTDNS_PRESENCE_MAPPINGS_FAILED', 'db down')) },
    });
    await expect(source.poll()).rejects.toThrow('db down');
  });

  it('"all" watches every interface in the dump', async () => {
    const source = new WireGuardSource({ dump: { read: async () => DUMP }, configs: configReader, interfaces: null });
    expect(new Set((await source.poll()).map((p) => p.interface))).toEqual(new Set(['wg0', 'wg1', 'other']));
  });

  it('a dump that cannot be read rejects the poll (unknown, not "everyone offline")', async () => {
    const source = new WireGuardSource({ dump: wgShowAllDump({ binary: '/nonexistent/wg' }), configs: configReader, interfaces: null });
    await expect(source.poll()).rejects.toSatisfy((err: unknown) => err instanceof PresenceError && err.code === 'GHOSTDNS_PRESENCE_WG_FAILED');
  });
});

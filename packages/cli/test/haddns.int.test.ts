// Integration: `ghostdns haddns map` and `haddns setup --create-mappings` against a real
// PostgreSQL (a scratch database that the commands migrate), and `haddns update` applying
// a round on the harness's Kafka (librdkafka's mock cluster) and Redis; `wg show all dump` stubbed.
import { randomBytes } from 'node:crypto';
import { createKafkaBus } from '@ghostdns/bus';
import { BuiltinSchemaTable, createEventCodec, decodePresenceSnapshot, presenceSnapshotKey, Topics, type PresenceEvent } from '@ghostdns/contracts';
import { openDatabase, type Database } from '@ghostdns/db';
import { createLogger } from '@ghostdns/observability';
import { databasePeerMappings } from '@ghostdns/presence-service';
import { createRedisKeyValueStore } from '@ghostdns/runtime';
import { createScratchDatabase, requireComponent, waitFor, type ScratchDatabase } from '@ghostdns/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haddnsCommands } from '../src/commands/haddns.js';
import { runCli, type CliIo } from '../src/index.js';

const SERVER = 'u73Ft2MqwXo7ZxNAcLhll3UGp5qddFgIcV8/ETj/Hx8=';
const LAPTOP = '8qJ0HLdCJ8KBgm6luPWisCZVDDPmKEYS1mA6Dd4e+3g=';
const PHONE = 'YwTyLAcTFlbq8cmPdAjslMbJYDVEbyiB3t2iOwpbzC8=';
const OFFICE = 'XgbJchdsYV8wvieb3KcyPW3bNNXDT1b08IqU0l/Rv2A=';
const ROUTER = 'ZJzm8dGJa3IEj/vmdTueO/iukrmb4PNdATwsF954KVE=';
const fresh = Math.floor(Date.now() / 1000) - 10;
const dumpOf = (...peers: (string | number)[][]): string =>
  [['wg0', '(none)', SERVER, 51820, 'off'], ...peers].map((fields) => fields.join('\t')).join('\n');
const dump = dumpOf(
  ['wg0', LAPTOP, '(none)', '192.0.2.7:5000', '10.8.0.2/32', fresh, 100, 200, 'off'],
  ['wg0', PHONE, '(none)', '(none)', '10.8.0.3/32', 0, 0, 0, 'off'],
);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
const escaped = (key: string): string => key.replace(/[+/]/g, '\\$&');

describe('ghostdns haddns map / setup --create-mappings / update with mappings (PostgreSQL)', () => {
  let scratch: ScratchDatabase;
  let db: Database;

  beforeAll(async () => {
    scratch = await createScratchDatabase(requireComponent('postgres'));
    db = await openDatabase(scratch.url, { logger: quiet });
  });
  afterAll(async () => {
    await db?.close();
    await scratch?.drop();
  });

  async function haddns(args: string[], env: Record<string, string> = {}, wgDump = dump): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: {
        DATABASE_URL: scratch.url, GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES: 'wg0', GHOSTDNS_PRESENCE_SUFFIX: 'vpn.test',
        GHOSTDNS_PRESENCE_WIREGUARD_CONFIG_DIR: '/nonexistent', ...env,
      },
    };
    const code = await runCli(['haddns', ...args], io, haddnsCommands({ dump: { read: async () => wgDump } }));
    return { code, stdout, stderr };
  }

  it('map stores a mapping (migrating first), setup --create-mappings adds the peers without one', async () => {
    const mapped = await haddns(['map', LAPTOP, 'Work Laptop']);
    expect(mapped).toMatchObject({ code: 0, stdout: `wireguard ${LAPTOP} -> work-laptop.vpn.test (enabled)\n` });

    const setup = await haddns(['setup', '--create-mappings']);
    expect(setup.code).toBe(0);
    expect(setup.stdout).toContain('# 1 hostname mapping(s) created, 1 kept\n');

    expect((await haddns(['map', PHONE, 'phone', '--disable'])).stdout).toContain('(disabled)');
    const update = await haddns(['update', '--dry-run', '--verbose']);
    expect(update.stdout).toMatch(/^wg0 {2}work-laptop\.vpn\.test {2}/m);
    expect(update.stdout).toMatch(/^wg0 {2}\(no name\)/m);
    const rows = await databasePeerMappings(db).read('wireguard');
    expect(rows.get(LAPTOP)).toMatchObject({ name: 'work-laptop', enabled: true, customDomain: null });
    expect(rows.get(PHONE)).toMatchObject({ name: 'phone', enabled: false, customDomain: null });
  });

  it('map --domain puts the peer under its custom domain, kept by a later map without it, dropped by --no-domain', async () => {
    expect((await haddns(['map', LAPTOP, 'laptop', '--domain', 'Home.Example.'])).stdout).toBe(`wireguard ${LAPTOP} -> laptop.home.example (enabled)\n`);
    expect((await haddns(['map', LAPTOP, 'work-laptop'])).stdout).toBe(`wireguard ${LAPTOP} -> work-laptop.home.example (enabled)\n`);
    expect((await databasePeerMappings(db).read('wireguard')).get(LAPTOP)?.customDomain).toBe('home.example');
    expect((await haddns(['map', LAPTOP, 'work-laptop', '--no-domain'])).stdout).toBe(`wireguard ${LAPTOP} -> work-laptop.vpn.test (enabled)\n`);
    expect((await haddns(['map', 'nTS1CNTRL', 'nas', '--source', 'tailscale', '--domain', 'lab.example'])).stdout).toBe(
      'tailscale nTS1CNTRL -> nas.lab.example (enabled)\n',
    );
  });

  it('update applies one round: events with the custom domain on presence.events.v1, the snapshot in Redis; export-dnsmasq writes custom-domain names', async () => {
    const nodeId = `haddns-int-${randomBytes(4).toString('hex')}`;
    const env = { KAFKA_BROKERS: requireComponent('kafka'), REDIS_URL: requireComponent('redis'), GHOSTDNS_NODE_ID: nodeId };
    const wgDump = dumpOf(
      ['wg0', OFFICE, '(none)', '192.0.2.8:5000', '10.8.0.4/32', fresh, 100, 200, 'off'],
      ['wg0', ROUTER, '(none)', '192.0.2.9:5000', '10.8.0.5/32', fresh, 100, 200, 'off'],
    );
    expect((await haddns(['map', OFFICE, 'office', '--domain', 'home.example'])).code).toBe(0);

    const codec = createEventCodec(new BuiltinSchemaTable());
    await codec.init();
    const consumer = createKafkaBus({
      brokers: env.KAFKA_BROKERS.split(','), clientId: `haddns-int-${nodeId}`, codec, logger: createLogger({ level: 'error', name: 'haddns-int' }),
      kafkaLogLevel: 'error', maxWaitTimeInMs: 100, heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000,
    });
    const store = createRedisKeyValueStore({ url: env.REDIS_URL, logger: createLogger({ level: 'error', name: 'haddns-int' }) });
    try {
      await consumer.connect();
      const events: PresenceEvent[] = [];
      await consumer.subscribe(Topics.presence, async (batch) => void events.push(...batch.values.filter((e) => e.node_id === nodeId)), {
        groupId: `haddns-int-${nodeId}`,
        fromBeginning: true,
      });

      const applied = await haddns(['update'], env, wgDump);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      expect(applied.stdout.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^wg0  office\\.home\\.example  ${escaped(OFFICE)}  handshake \\d+s  online  published DEVICE_ONLINE$`)),
        expect.stringMatching(new RegExp(`^wg0  peer-10-8-0-5\\.vpn\\.test  ${escaped(ROUTER)}  handshake \\d+s  online  published DEVICE_ONLINE$`)),
        '2 peer(s), 2 change(s) (--verbose lists unchanged peers too)',
      ]);

      await waitFor(() => events.length >= 2, { timeoutMs: 60_000, intervalMs: 100, description: 'the two presence events on presence.events.v1' });
      expect(events.map((e) => [e.type, e.device_id, e.name, e.domain, e.interface, e.addresses]).sort()).toEqual(
        [
          ['DEVICE_ONLINE', OFFICE, 'office', 'home.example', 'wg0', ['10.8.0.4']],
          ['DEVICE_ONLINE', ROUTER, 'peer-10-8-0-5', null, 'wg0', ['10.8.0.5']],
        ].sort(),
      );

      await waitFor(() => store.isHealthy(), { description: 'Redis to be ready' });
      const snapshot = decodePresenceSnapshot((await store.get(presenceSnapshotKey(nodeId, 'wireguard'))) ?? Buffer.alloc(0));
      expect(snapshot?.online.map((d) => [d.deviceId, d.name, d.domain]).sort()).toEqual([[OFFICE, 'office', 'home.example'], [ROUTER, 'peer-10-8-0-5', null]].sort());

      // The next round starts from that snapshot, custom domains included: nothing changed, nothing to publish.
      const next = await haddns(['update', '--dry-run', '--verbose'], env, wgDump);
      expect(next.stdout).toMatch(new RegExp(`^wg0  peer-10-8-0-5\\.vpn\\.test  ${escaped(ROUTER)}  handshake \\d+s  online  no change$`, 'm'));
      expect(next.stdout).toMatch(new RegExp(`^wg0  office\\.home\\.example  ${escaped(OFFICE)}  handshake \\d+s  online  no change$`, 'm'));

      const exported = await haddns(['export-dnsmasq'], env, wgDump);
      expect(exported.stdout.trim().split('\n').slice(1)).toEqual([
        'host-record=office.home.example,office.wg0.home.example,10.8.0.4',
        'host-record=peer-10-8-0-5.vpn.test,peer-10-8-0-5.wg0.vpn.test,10.8.0.5',
      ]);
    } finally {
      await consumer.close();
      await store.close();
    }
  });
});

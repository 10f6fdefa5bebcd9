// Integration: `ghostdns haddns map` and `haddns setup --create-mappings` against a real
// PostgreSQL (a scratch database that the commands migrate), `wg show all dump` stubbed.
import { openDatabase, type Database } from '@ghostdns/db';
import { databasePeerMappings } from '@ghostdns/presence-service';
import { createScratchDatabase, requireComponent, type ScratchDatabase } from '@ghostdns/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haddnsCommands } from '../src/commands/haddns.js';
import { runCli, type CliIo } from '../src/index.js';

const SERVER = 'u73Ft2MqwXo7ZxNAcLhll3UGp5qddFgIcV8/ETj/Hx8=';
const LAPTOP = '8qJ0HLdCJ8KBgm6luPWisCZVDDPmKEYS1mA6Dd4e+3g=';
const PHONE = 'YwTyLAcTFlbq8cmPdAjslMbJYDVEbyiB3t2iOwpbzC8=';
const fresh = Math.floor(Date.now() / 1000) - 10;
const dump = [
  ['wg0', '(none)', SERVER, 51820, 'off'],
  ['wg0', LAPTOP, '(none)', '192.0.2.7:5000', '10.8.0.2/32', fresh, 100, 200, 'off'],
  ['wg0', PHONE, '(none)', '(none)', '10.8.0.3/32', 0, 0, 0, 'off'],
].map((fields) => fields.join('\t')).join('\n');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

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

  async function haddns(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: { DATABASE_URL: scratch.url, GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES: 'wg0', GHOSTDNS_PRESENCE_SUFFIX: 'vpn.test', GHOSTDNS_PRESENCE_WIREGUARD_CONFIG_DIR: '/nonexistent' },
    };
    const code = await runCli(['haddns', ...args], io, haddnsCommands({ dump: { read: async () => dump } }));
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
    expect(rows.get(LAPTOP)).toMatchObject({ name: 'work-laptop', enabled: true });
    expect(rows.get(PHONE)).toMatchObject({ name: 'phone', enabled: false });
  });
});

// Integration: local zones against real BIND9 (Debian's named) and dig.
//  - named is primary of the seed's codeandcore.home (verbatim) and of a
//    short-refresh zone; resolver-edge is their secondary (AXFR over TCP) and
//    answers authoritatively; a change on the primary (serial bump + SIGHUP)
//    reaches us on the SOA refresh timer.
//  - resolver-edge is primary of lab.test: `dig AXFR` transfers it, and a
//    second named is OUR secondary and answers from what it pulled.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createInProcessBus, silentLogger, type EventBus } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { startNamed, waitFor, type Named } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { udpQuery } from './int-support.js';

const execFileAsync = promisify(execFile);
const fixtures = fileURLToPath(new URL('./fixtures/zones/', import.meta.url));

async function dig(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]);
  return stdout;
}

function refreshZone(serial: number, extra: string): string {
  return `$TTL 60
@ IN SOA ns1.refresh.test. admin.refresh.test. ( ${serial} 1 1 3600 60 )
  IN NS ns1.refresh.test.
ns1 IN A 192.0.2.1
${extra}
`;
}

describe('local zones against BIND9', () => {
  const dirs: string[] = [];
  const mkdir = (): string => {
    const d = mkdtempSync(path.join(tmpdir(), 'ghostdns-zones-'));
    dirs.push(d);
    return d;
  };
  let primary: Named;
  let primaryDir = '';
  let ourSecondary: Named | null = null;
  let edge: ResolverEdge;
  let bus: EventBus;
  let port = 0;

  beforeAll(async () => {
    primaryDir = mkdir();
    copyFileSync(path.join(fixtures, 'db.codeandcore.home'), path.join(primaryDir, 'db.codeandcore.home'));
    writeFileSync(path.join(primaryDir, 'db.refresh.test'), refreshZone(1, 'old IN A 192.0.2.10'));
    primary = await startNamed({
      dir: primaryDir,
      config: `zone "codeandcore.home" { type primary; file "${primaryDir}/db.codeandcore.home"; };
zone "refresh.test" { type primary; file "${primaryDir}/db.refresh.test"; };`,
    });

    bus = createInProcessBus({ logger: silentLogger });
    await bus.connect();
    const config = parseConfig({
      dns: {
        listen: '127.0.0.1:0',
        upstreams: [],
        zoneFiles: [`lab.test:${path.join(fixtures, 'db.lab.test')}`],
        secondaryZones: [`codeandcore.home:127.0.0.1:${primary.port}`, `refresh.test:127.0.0.1:${primary.port}`],
        allowTransfer: ['127.0.0.1'],
      },
    });
    edge = new ResolverEdge({ config, publisher: bus, bus });
    port = (await edge.start()).udp.port;
  });

  afterAll(async () => {
    await edge?.stop({ drainTimeoutMs: 1000, flushTimeoutMs: 1000 });
    await bus?.close();
    await ourSecondary?.process.stop();
    await primary?.process.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('pulls the seed zone from BIND by AXFR and answers nas.codeandcore.home authoritatively', async () => {
    const out = await dig(port, '+norec', 'nas.codeandcore.home', 'A');
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/flags: qr aa/);
    expect(out).toMatch(/nas\.codeandcore\.home\.\s+86400\s+IN\s+A\s+192\.168\.238\.20/);
  });

  it.each([
    ['NXDOMAIN', 'nope.codeandcore.home', 'A', /status: NXDOMAIN/],
    ['NODATA', 'nas.codeandcore.home', 'AAAA', /status: NOERROR.*ANSWER: 0/s],
  ])('%s from the transferred zone carries its SOA', async (_l, name, type, status) => {
    const out = await dig(port, name, type);
    expect(out).toMatch(status);
    expect(out).toMatch(/AUTHORITY SECTION:\ncodeandcore\.home\.\s+86400\s+IN\s+SOA\s+ns1\.codeandcore\.home\. admin\.codeandcore\.home\. 2026051301/);
  });

  it('follows a change on the primary at the SOA refresh interval (serial 1 -> 2)', async () => {
    expect(await dig(port, '+short', 'new.refresh.test', 'A')).toBe('');
    writeFileSync(path.join(primaryDir, 'db.refresh.test'), refreshZone(2, 'new IN A 192.0.2.20'));
    primary.process.child.kill('SIGHUP'); // named reloads its zones
    await waitFor(async () => (await dig(port, '+short', 'new.refresh.test', 'A')).trim() === '192.0.2.20', {
      description: 'the refreshed record',
      timeoutMs: 20_000,
    });
    expect(await dig(port, 'old.refresh.test', 'A')).toMatch(/status: NXDOMAIN/);
  });

  it('serves AXFR of its own zone to dig over TCP, and refuses it over UDP', async () => {
    const out = await dig(port, 'lab.test', 'AXFR');
    expect(out).toMatch(/XFR size: 19 records/);
    expect(out).toMatch(/^lab\.test\.\s+3600\s+IN\s+SOA/m);
    const udp = await udpQuery(port, dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'lab.test', type: 'AXFR', class: 'IN' }] }));
    expect(udp.readUInt16BE(0)).toBe(7);
    expect((udp[3] ?? 0) & 0x0f).toBe(5); // REFUSED
    // Transferred secondaries are served onwards too.
    expect(await dig(port, 'codeandcore.home', 'AXFR')).toMatch(/XFR size: 14 records/);
  });

  it('BIND9 as OUR secondary transfers lab.test and answers from it', async () => {
    const dir = mkdir();
    ourSecondary = await startNamed({
      dir,
      config: `zone "lab.test" { type secondary; primaries { 127.0.0.1 port ${port}; }; file "${dir}/lab.test.saved"; };`,
    });
    const secondaryPort = ourSecondary.port;
    await waitFor(async () => (await dig(secondaryPort, '+short', 'host.deep.lab.test', 'A')).trim() === '192.0.2.80', {
      description: 'BIND answering from the zone it transferred from us',
      timeoutMs: 20_000,
    });
    expect(await dig(secondaryPort, '+norec', 'mail.lab.test', 'AAAA')).toMatch(/flags: qr aa[\s\S]*2001:db8::25/);
    expect(ourSecondary.process.output()).toMatch(/transferred serial 7/);
  });
});

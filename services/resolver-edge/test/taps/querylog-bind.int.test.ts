import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { QueryEvent } from '@ghostdns/contracts';
import { freeUdpAndTcpPort, scratchDir, startProcess, waitFor, type ManagedProcess } from '@ghostdns/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectingSink } from '../support.js';
import { BindQueryLogTap, noopQuerylogTapMetrics } from '../../src/taps/querylog/index.js';

const execFileAsync = promisify(execFile);
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


/**
 * Debian's named writing queries.log and query-errors.log. testkit's startNamed runs `named -g`,
 * which "forces all logging to stderr" and ignores the logging statement; this runs `-f`
 * (foreground, configured logging) with the same options.
 */
async function startLoggingNamed(dir: string, logging: string): Promise<{ port: number; named: ManagedProcess }> {
  for (const binary of ['/usr/sbin/named', '/usr/bin/dig']) if (!existsSync(binary)) throw new Error(`${binary} is missing (apt-get install bind9 bind9-dnsutils)`);
  const port = await freeUdpAndTcpPort();
  writeFileSync(path.join(dir, 'db.lab.test'), '$TTL 300\n@ IN SOA ns1.lab.test. admin.lab.test. 1 3600 1800 1209600 300\n@ IN NS ns1.lab.test.\nns1 IN A 127.0.0.1\nwww IN A 192.0.2.10\nwww IN AAAA 2001:db8::10\n');
  writeFileSync(path.join(dir, 'db.refused.test'), '$TTL 300\n@ IN SOA ns1.lab.test. admin.lab.test. 1 3600 1800 1209600 300\n@ IN NS ns1.lab.test.\nx IN A 192.0.2.20\n');
  const conf = path.join(dir, 'named.conf');
  writeFileSync(conf, `options {
  directory "${dir}"; pid-file none; session-keyfile none; managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; };
  recursion yes; forwarders { 127.0.0.1 port 1; }; forward only; notify no; dnssec-validation no;
  max-cache-ttl 0; servfail-ttl 0;
};
controls { };
${logging}
view "lan" {
  match-clients { any; };
  zone "lab.test" { type primary; file "${dir}/db.lab.test"; };
  zone "refused.test" { type primary; file "${dir}/db.refused.test"; allow-query { none; }; };
};
`);
  const named = startProcess('named', '/usr/sbin/named', ['-f', '-c', conf, '-u', 'root'], {});
  cleanups.push(() => named.stop());
  await waitFor(async () => {
    if (named.child.exitCode !== null) throw new Error(`named exited: ${named.output()}`);
    const { stdout } = await execFileAsync('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', '+short', 'ns1.lab.test']).catch(() => ({ stdout: '' }));
    return stdout.includes('127.0.0.1');
  }, { description: `named on 127.0.0.1:${port}`, timeoutMs: 20_000 });
  return { port, named };
}

async function dig(port: number, ...args: string[]): Promise<void> {
  // +retry=0: exactly one query per dig, so one query-log line
  await execFileAsync('dig', ['@127.0.0.1', '-p', String(port), '+time=5', '+tries=1', '+retry=0', ...args]);
}

describe('BindQueryLogTap against a real BIND 9', { timeout: 90_000 }, () => {
  it('every dig query becomes exactly one event with the right question, client, transport and known rcodes', async () => {
    const scratch = scratchDir();
    cleanups.push(() => scratch.remove());
    const { dir } = scratch;
    const { port } = await startLoggingNamed(dir, `logging {
  channel q { file "${dir}/queries.log"; severity info; print-time yes; print-category yes; print-severity yes; };
  channel e { file "${dir}/query-errors.log"; severity info; print-time yes; print-category yes; print-severity yes; };
  category queries { q; }; category query-errors { e; };
};`);
    const sink = new CollectingSink();
    const tap = new BindQueryLogTap({
      queriesLog: path.join(dir, 'queries.log'), stateDir: path.join(dir, 'taps'), timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      node: { id: 'bind-node', pop: 'lab' }, sink, rcodeWaitMs: 500, pollIntervalMs: 200, startAtEnd: false,
    });
    cleanups.push(() => tap.stop());
    await tap.start();

    const queries: [string[], Partial<QueryEvent>][] = [
      [['www.lab.test', 'A'], { qname: 'www.lab.test', qtype: 1, transport: 'UDP', rcode: null }],
      [['www.lab.test', 'AAAA', '+tcp'], { qname: 'www.lab.test', qtype: 28, transport: 'TCP' }],
      [['nope.lab.test', 'A', '+dnssec', '+cd'], { qname: 'nope.lab.test', rcode: null, flags: { qr: false, aa: false, tc: false, rd: true, ra: false, ad: false, cd: true } }],
      [['www.lab.test', 'A', '+subnet=192.0.2.0/24', '+norecurse'], { qname: 'www.lab.test', flags: { qr: false, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false } }],
      [['x.refused.test', 'A'], { qname: 'x.refused.test', rcode: 5, policy_action: 'REFUSED' }],
      [['example.com', 'A'], { qname: 'example.com', rcode: 2 }],
    ];
    for (const [args] of queries) await dig(port, ...args);
    // The readiness probe's ns1.lab.test queries are in the log too.
    const digged = (): QueryEvent[] => sink.events.filter((e) => e.qname !== 'ns1.lab.test');
    await waitFor(() => digged().length >= queries.length, { description: 'one event per dig query', timeoutMs: 20_000 });
    await tap.stop();
    const got = digged();
    expect(got).toHaveLength(queries.length);
    queries.forEach(([, expected], i) => {
      expect(got[i]).toMatchObject({ ...expected, source: 'BIND_QUERYLOG', node_id: 'bind-node', pop: 'lab', client_ip: '127.0.0.1', cache_status: 'UNKNOWN' });
      expect(got[i]?.client_port).toBeGreaterThan(0);
    });
    expect(new Set(sink.events.map((e) => e.event_id)).size).toBe(sink.events.length);
  });

  it('keeps every query across BIND\'s own `versions` rotations while it runs', async () => {
    const scratch = scratchDir();
    cleanups.push(() => scratch.remove());
    const { dir } = scratch;
    // 2 KB files, 3 versions: BIND renames queries.log -> .0 -> .1 itself every ~12 lines.
    const { port } = await startLoggingNamed(dir, `logging {
  channel q { file "${dir}/queries.log" versions 3 size 2k; severity info; print-time yes; };
  category queries { q; };
};`);
    const sink = new CollectingSink();
    let rotations = 0;
    const tap = new BindQueryLogTap({
      queriesLog: path.join(dir, 'queries.log'), queryErrorsLog: null, stateDir: path.join(dir, 'taps'), timezone: 'UTC',
      node: { id: 'bind-node', pop: 'lab' }, sink, rcodeWaitMs: 0, pollIntervalMs: 50, startAtEnd: false,
      metrics: { ...noopQuerylogTapMetrics, rotations: () => rotations++ },
    });
    cleanups.push(() => tap.stop());
    await tap.start();
    const count = 40;
    for (let i = 0; i < count; i++) {
      await dig(port, `n${i}.lab.test`, 'A');
      await tap.poll(); // the tap must see each rotation before BIND rotates again (3 versions kept)
    }
    await waitFor(() => sink.events.filter((e) => /^n\d+\.lab\.test$/.test(e.qname)).length >= count, {
      description: 'all rotated queries', timeoutMs: 20_000,
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${readdirSync(dir).join(' ')}: ${sink.events.map((e) => e.qname).join(' ')}`);
    });
    const names = sink.events.map((e) => e.qname).filter((n) => /^n\d+\.lab\.test$/.test(n));
    expect(names).toEqual(Array.from({ length: count }, (_, i) => `n${i}.lab.test`));
    expect(rotations).toBeGreaterThanOrEqual(2);
  });
});

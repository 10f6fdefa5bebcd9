// Integration: the dnstap tap against Debian's real resolvers on loopback —
// Unbound 1.17 (unix socket and TCP), BIND 9.18 (unix socket, and a
// `dnstap-output file` read back against `dnstap-read`), Knot Resolver 5.6
// (its dnstap module, unix socket). Queried with dig and kdig; every query
// must arrive as exactly one event with the right qname, qtype, rcode, client
// and transport, node_id from the dnstap identity. No resolver talks to
// anything but 127.0.0.1/::1: Unbound and kresd forward everything to a
// dnsmasq on loopback, BIND is authoritative only.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { QueryEvent } from '@ghostdns/contracts';
import {
  freeUdpAndTcpPort, scratchDir, startDnsmasq, startNamed, startProcess, waitFor, type ManagedProcess, type Named,
} from '@ghostdns/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectingSink } from '../support.js';
import { DnstapReceiver, readDnstapFile, type DnstapListenAddress } from '../../src/taps/dnstap/index.js';
import { which } from '../int-support.js';

const execFileAsync = promisify(execFile);


interface TestQuery {
  name: string;
  qtype: 'A' | 'AAAA' | 'TXT';
  rcode: number;
  tool: 'dig' | 'kdig';
  transport: 'UDP' | 'TCP';
  client: '127.0.0.1' | '::1';
  /** Fixed source port (dig -b addr#port), so the event's client_port can be checked. */
  sourcePort?: number;
}

const QTYPES = { A: 1, AAAA: 28, TXT: 16 } as const;
const CLIENT_SIDE = new Set(['CLIENT_QUERY', 'CLIENT_RESPONSE', 'AUTH_QUERY', 'AUTH_RESPONSE']);

async function ask(port: number, q: TestQuery): Promise<string> {
  const server = q.client === '::1' ? '@::1' : '@127.0.0.1';
  const args = [server, '-p', String(port), q.name, q.qtype];
  if (q.tool === 'dig') {
    args.push('+time=3', '+tries=1');
    if (q.transport === 'TCP') args.push('+tcp');
    if (q.sourcePort !== undefined) args.unshift('-b', `${q.client}#${q.sourcePort}`);
  } else {
    args.push('+time=3', '+retry=0');
    if (q.transport === 'TCP') args.push('+tcp');
  }
  const { stdout } = await execFileAsync(q.tool, args);
  return stdout;
}

/** The queries each resolver gets; `lab.test` answers any name, `other.test` is NXDOMAIN. */
async function testQueries(tag: string, ipv6: boolean): Promise<TestQuery[]> {
  const qs: TestQuery[] = [
    { name: `${tag}-udp.lab.test`, qtype: 'A', rcode: 0, tool: 'dig', transport: 'UDP', client: '127.0.0.1', sourcePort: await freeUdpAndTcpPort() },
    { name: `${tag}-nx.other.test`, qtype: 'A', rcode: 3, tool: 'dig', transport: 'UDP', client: '127.0.0.1', sourcePort: await freeUdpAndTcpPort() },
    { name: `${tag}-tcp.lab.test`, qtype: 'A', rcode: 0, tool: 'dig', transport: 'TCP', client: '127.0.0.1' },
    { name: `${tag}-kdig.lab.test`, qtype: 'A', rcode: 0, tool: 'kdig', transport: 'UDP', client: '127.0.0.1' },
    { name: `${tag}-kdig-tcp.other.test`, qtype: 'TXT', rcode: 3, tool: 'kdig', transport: 'TCP', client: '127.0.0.1' },
  ];
  if (ipv6) qs.push({ name: `${tag}-v6.lab.test`, qtype: 'AAAA', rcode: 0, tool: 'dig', transport: 'UDP', client: '::1' });
  return qs;
}

/** Sends the queries, waits for their events, and checks one client-side event per query. */
async function queryAndCheck(sink: CollectingSink, port: number, queries: TestQuery[], identity: string): Promise<QueryEvent[]> {
  for (const q of queries) {
    const out = await ask(port, q);
    expect(out, `${q.tool} ${q.name}`).toMatch(q.rcode === 3 ? /NXDOMAIN/ : /NOERROR/);
  }
  const mine = (): QueryEvent[] => sink.events.filter((e) => CLIENT_SIDE.has(e.message_type) && queries.some((q) => q.name === e.qname));
  // Resolvers flush their dnstap output on their own schedule (BIND/kresd: libfstrm, about a second).
  await waitFor(() => new Set(mine().map((e) => e.qname)).size === queries.length, { description: `events for ${queries.length} queries`, timeoutMs: 20_000 });
  const events = mine();
  for (const q of queries) {
    const forQuery = events.filter((e) => e.qname === q.name);
    expect(forQuery, q.name).toHaveLength(1);
    const [e] = forQuery;
    expect(e, q.name).toMatchObject({
      qtype: QTYPES[q.qtype], qclass: 1, rcode: q.rcode, transport: q.transport, client_ip: q.client, node_id: identity,
      source: 'DNSTAP', cache_status: 'UNKNOWN', policy_action: 'PASS', pop: 'it',
    });
    expect(e?.message_type, q.name).toMatch(/_RESPONSE$/);
    if (q.sourcePort !== undefined) expect(e?.client_port, q.name).toBe(q.sourcePort);
    expect(e?.response_time_us ?? 0, q.name).toBeGreaterThanOrEqual(e?.query_time_us ?? Infinity);
  }
  return events;
}

async function startReceiver(listen: string): Promise<{ receiver: DnstapReceiver; sink: CollectingSink; addr: DnstapListenAddress }> {
  const sink = new CollectingSink();
  const receiver = new DnstapReceiver({ listen, sink, node: { id: 'config-node', pop: 'it' } });
  return { receiver, sink, addr: await receiver.start() };
}

async function answers(port: number): Promise<boolean> {
  const { stdout } = await execFileAsync('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', 'ready.lab.test', 'A']).catch(() => ({ stdout: '' }));
  return /NOERROR/.test(stdout);
}

async function waitUntilServing(proc: ManagedProcess, port: number, receiver: DnstapReceiver): Promise<void> {
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}:\n${proc.output()}`);
      return receiver.connectionCount > 0 && (await answers(port));
    },
    { description: `${proc.name} answering on ${port} and connected to the tap`, timeoutMs: 30_000 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${proc.output().slice(-4000)}`);
  });
}

describe.each(['unix', 'tcp'] as const)('Unbound 1.17 with dnstap over %s', (kind) => {
  const scratch = scratchDir();
  let upstream: ManagedProcess;
  let upstreamPort = 0;
  let unbound: ManagedProcess;
  let port = 0;
  let tap: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    which('unbound');
    which('dig');
    which('kdig');
    which('dnsmasq');
    upstreamPort = await freeUdpAndTcpPort();
    upstream = startDnsmasq(upstreamPort, { 'up.example': '192.0.2.99' });
    tap = await startReceiver(kind === 'unix' ? `unix:${path.join(scratch.dir, 'dnstap.sock')}` : 'tcp:127.0.0.1:0');
    port = await freeUdpAndTcpPort();
    const output =
      tap.addr.kind === 'unix'
        ? `dnstap-socket-path: "${tap.addr.path}"`
        : `dnstap-ip: "${tap.addr.host}@${tap.addr.port}"\n  dnstap-tls: no`;
    const conf = path.join(scratch.dir, 'unbound.conf');
    writeFileSync(
      conf,
      `server:
  interface: 127.0.0.1@${port}
  interface: ::1@${port}
  do-ip6: yes
  username: ""
  chroot: ""
  directory: "${scratch.dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  num-threads: 2
  module-config: "iterator"
  do-not-query-localhost: no
  local-zone: "lab.test." redirect
  local-data: "lab.test. 60 IN A 192.0.2.7"
  local-data: "lab.test. 60 IN AAAA 2001:db8::7"
  local-zone: "other.test." static
dnstap:
  dnstap-enable: yes
  ${output}
  dnstap-send-identity: yes
  dnstap-identity: "unbound-${kind}"
  dnstap-log-client-query-messages: yes
  dnstap-log-client-response-messages: yes
  dnstap-log-forwarder-query-messages: yes
  dnstap-log-forwarder-response-messages: yes
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@${upstreamPort}
`,
    );
    unbound = startProcess('unbound', 'unbound', ['-d', '-c', conf], {});
    await waitUntilServing(unbound, port, tap.receiver);
  });

  afterAll(async () => {
    await unbound?.stop();
    await tap?.receiver.stop();
    await upstream?.stop();
    scratch.remove();
  });

  it('turns every dig/kdig query into exactly one event', async () => {
    const events = await queryAndCheck(tap.sink, port, await testQueries(`ub-${kind}`, true), `unbound-${kind}`);
    // Unbound's CLIENT_RESPONSE carries no query_time: it comes from the paired CLIENT_QUERY.
    expect(events.every((e) => e.message_type === 'CLIENT_RESPONSE' && e.response_time_us !== null && e.response_time_us > e.query_time_us - 1)).toBe(true);
  });

  it('reports the forwarded query as a FORWARDER_RESPONSE whose upstream is the dnsmasq', async () => {
    const name = 'up.example'; // the one name the dnsmasq knows
    await execFileAsync('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', name, 'A']);
    await waitFor(() => tap.sink.events.filter((e) => e.qname === name).length === 2, { description: 'client and forwarder events', timeoutMs: 20_000 });
    const events = tap.sink.events.filter((e) => e.qname === name);
    expect(events.map((e) => e.message_type).sort()).toEqual(['CLIENT_RESPONSE', 'FORWARDER_RESPONSE']);
    const fwd = events.find((e) => e.message_type === 'FORWARDER_RESPONSE');
    expect(fwd).toMatchObject({ upstream: `127.0.0.1:${upstreamPort}`, rcode: 0, answer_count: 1 });
    expect(events.find((e) => e.message_type === 'CLIENT_RESPONSE')).toMatchObject({ rcode: 0, answer_count: 1, upstream: null });
    expect(fwd?.upstream_latency_us).toBeGreaterThanOrEqual(0);
  });
});

describe('BIND 9.18 with dnstap', () => {
  const scratch = scratchDir();
  let named: Named;
  let tap: Awaited<ReturnType<typeof startReceiver>>;

  const zones = (dir: string): string => {
    writeFileSync(path.join(dir, 'db.lab.test'), '$TTL 60\n@ IN SOA ns1.lab.test. admin.lab.test. ( 1 60 60 3600 60 )\n  IN NS ns1.lab.test.\nns1 IN A 192.0.2.1\n* IN A 192.0.2.7\n* IN TXT "any"\n');
    writeFileSync(path.join(dir, 'db.other.test'), '$TTL 60\n@ IN SOA ns1.lab.test. admin.lab.test. ( 1 60 60 3600 60 )\n  IN NS ns1.lab.test.\n');
    return `zone "lab.test" { type primary; file "${dir}/db.lab.test"; };\nzone "other.test" { type primary; file "${dir}/db.other.test"; };`;
  };

  beforeAll(async () => {
    which('named');
    which('dig');
    which('kdig');
    tap = await startReceiver(`unix:${path.join(scratch.dir, 'dnstap.sock')}`);
    named = await startNamed({
      dir: scratch.dir,
      config: zones(scratch.dir),
      options: `dnstap { client; auth; };\n  dnstap-output unix "${path.join(scratch.dir, 'dnstap.sock')}";\n  dnstap-identity "bind-it";`,
    });
    await waitUntilServing(named.process, named.port, tap.receiver);
  });

  afterAll(async () => {
    await named?.process.stop();
    await tap?.receiver.stop();
    scratch.remove();
  });

  it('turns every dig/kdig query into exactly one event (AUTH_QUERY paired with CLIENT_RESPONSE)', async () => {
    // startNamed listens on 127.0.0.1 only (listen-on-v6 none): no IPv6 client here.
    const events = await queryAndCheck(tap.sink, named.port, await testQueries('bind', false), 'bind-it');
    // dig and kdig set RD: BIND logs the response as CLIENT_RESPONSE even with recursion no.
    expect(new Set(events.map((e) => e.message_type))).toEqual(new Set(['CLIENT_RESPONSE']));
  });

  it('without RD, the pair is AUTH_QUERY / AUTH_RESPONSE', async () => {
    const name = 'norec.lab.test';
    await execFileAsync('dig', ['@127.0.0.1', '-p', String(named.port), '+norec', '+time=3', '+tries=1', name, 'A']);
    await waitFor(() => tap.sink.events.some((e) => e.qname === name), { description: 'the +norec event', timeoutMs: 20_000 });
    expect(tap.sink.events.filter((e) => e.qname === name)).toMatchObject([{ message_type: 'AUTH_RESPONSE', rcode: 0, flags: { aa: true, rd: false } }]);
  });
});

describe('BIND 9.18 dnstap-output file, read back', () => {
  const scratch = scratchDir();

  it('readDnstapFile counts the same messages as dnstap-read', async () => {
    which('named');
    which('dnstap-read');
    const file = path.join(scratch.dir, 'bind.dnstap');
    writeFileSync(path.join(scratch.dir, 'db.lab.test'), '$TTL 60\n@ IN SOA ns1.lab.test. admin.lab.test. ( 1 60 60 3600 60 )\n  IN NS ns1.lab.test.\nns1 IN A 192.0.2.1\n* IN A 192.0.2.7\n');
    const named = await startNamed({
      dir: scratch.dir,
      config: `zone "lab.test" { type primary; file "${scratch.dir}/db.lab.test"; };`,
      options: `dnstap { client; auth; };\n  dnstap-output file "${file}";\n  dnstap-identity "bind-file";`,
    });
    try {
      for (let i = 0; i < 20; i++) {
        await execFileAsync('dig', ['@127.0.0.1', '-p', String(named.port), '+time=3', '+tries=1', ...(i % 4 === 0 ? ['+tcp'] : []), `f${i}.lab.test`, 'A']);
      }
    } finally {
      await named.process.stop(); // named closes the file (STOP frame) on shutdown
    }
    const { stdout } = await execFileAsync('dnstap-read', [file]);
    const dnstapReadLines = stdout.trim().split('\n').length;

    const reader = readDnstapFile(file, { node: { id: 'config-node', pop: 'it' } });
    const events: QueryEvent[] = [];
    for await (const batch of reader) events.push(...batch.events);
    expect(reader.stats.frames).toBe(dnstapReadLines);
    expect(reader.stats.skipped).toEqual({});
    for (let i = 0; i < 20; i++) {
      expect(events.filter((e) => e.qname === `f${i}.lab.test`), `f${i}`).toMatchObject([{ rcode: 0, node_id: 'bind-file', transport: i % 4 === 0 ? 'TCP' : 'UDP' }]);
    }
    scratch.remove();
  });
});

describe('Knot Resolver 5.6 with its dnstap module', () => {
  const scratch = scratchDir();
  let upstream: ManagedProcess;
  let kresd: ManagedProcess;
  let port = 0;
  let tap: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    which('kresd');
    which('dig');
    which('kdig');
    which('dnsmasq');
    const upstreamPort = await freeUdpAndTcpPort();
    upstream = startDnsmasq(upstreamPort, { 'up.example': '192.0.2.99' });
    const socket = path.join(scratch.dir, 'dnstap.sock');
    tap = await startReceiver(`unix:${socket}`);
    port = await freeUdpAndTcpPort();
    const conf = path.join(scratch.dir, 'kresd.conf');
    writeFileSync(
      conf,
      `net.listen('127.0.0.1', ${port}, { kind = 'dns' })
net.listen('::1', ${port}, { kind = 'dns' })
modules = {
  dnstap = {
    socket_path = "${socket}",
    identity = "kresd-it",
    client = { log_queries = true, log_responses = true },
  },
}
-- No DNSSEC validation (the loopback upstream signs nothing) and no root trust-anchor upkeep.
trust_anchors.remove('.')
cache.size = 10 * MB
policy.add(policy.suffix(policy.ANSWER({
  [kres.type.A] = { rdata = kres.str2ip('192.0.2.7'), ttl = 60 },
  [kres.type.AAAA] = { rdata = kres.str2ip('2001:db8::7'), ttl = 60 },
  [kres.type.TXT] = { rdata = '\\3any', ttl = 60 },
}, true), { todname('lab.test.') }))
policy.add(policy.suffix(policy.DENY, { todname('other.test.') }))
-- Everything else goes to the loopback dnsmasq, never to the Internet.
policy.add(policy.all(policy.FORWARD('127.0.0.1@${upstreamPort}')))
`,
    );
    kresd = startProcess('kresd', 'kresd', ['-n', '-c', conf, scratch.dir], {});
    await waitUntilServing(kresd, port, tap.receiver);
  });

  afterAll(async () => {
    await kresd?.stop();
    await tap?.receiver.stop();
    await upstream?.stop();
    scratch.remove();
  });

  it('turns every dig/kdig query into exactly one event', async () => {
    await queryAndCheck(tap.sink, port, await testQueries('kres', true), 'kresd-it');
  });
});

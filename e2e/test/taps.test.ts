import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createScratchDatabase, freePort, freeUdpAndTcpPort, requireComponent, scratchDir, startKafkaMock, startProcess,
  startTsx, waitFor, waitForHttp, type ManagedProcess,
} from '@ghostdns/testkit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { getStats } from './support.js';

// Resolvers people already run, tapped: their queries become rows and count in
// /api/v1/stats like resolver-edge's own. Unbound sends dnstap to a standalone
// `ghostdns start`; BIND9 writes its query log, tailed by a distributed
// resolver-edge on Kafka with ingest-worker and records-api beside it.

const execFileAsync = promisify(execFile);

async function dig(port: number, name: string): Promise<string> {
  // +retry=0: one query per dig, so one dnstap exchange or one query-log line.
  const { stdout } = await execFileAsync('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', '+retry=0', name, 'A']);
  return stdout;
}

async function rowsByNode(databaseUrl: string, source: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ node_id: string; n: string }>(
      'SELECT node_id, count(*) AS n FROM dns_queries WHERE source = $1 GROUP BY node_id',
      [source],
    );
    return Object.fromEntries(rows.map((r) => [r.node_id, Number(r.n)]));
  } finally {
    await client.end();
  }
}

const NAMES = ['a.lab.test', 'b.lab.test', 'c.lab.test'];

describe('standalone with a dnstap tap: Unbound -> ghostdns start', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('counts every query Unbound answered, under Unbound\'s dnstap identity', async () => {
    const db = await createScratchDatabase(requireComponent('postgres'));
    stops.push(() => db.drop());
    const data = scratchDir();
    stops.push(async () => data.remove());
    const socket = path.join(data.dir, 'dnstap.sock');
    const httpPort = await freePort();
    const app = startTsx('ghostdns start', 'packages/cli/src/bin.ts', ['start'], {
      DATABASE_URL: db.url,
      GHOSTDNS_DATA_DIR: data.dir,
      GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      GHOSTDNS_DNS_LISTEN: `127.0.0.1:${await freeUdpAndTcpPort()}`,
      GHOSTDNS_TAP_DNSTAP: `unix:${socket}`,
      GHOSTDNS_LOG_LEVEL: 'warn',
    });
    stops.push(() => app.stop('SIGTERM'));
    const base = `http://127.0.0.1:${httpPort}`;
    await waitForHttp(`${base}/readyz`, [app], 300_000);

    const port = await freeUdpAndTcpPort();
    const conf = path.join(data.dir, 'unbound.conf');
    writeFileSync(conf, `server:
  interface: 127.0.0.1@${port}
  username: ""
  chroot: ""
  directory: "${data.dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  module-config: "iterator"
  local-zone: "lab.test." redirect
  local-data: "lab.test. 60 IN A 192.0.2.7"
dnstap:
  dnstap-enable: yes
  dnstap-socket-path: "${socket}"
  dnstap-send-identity: yes
  dnstap-identity: "unbound-e2e"
  dnstap-log-client-query-messages: yes
  dnstap-log-client-response-messages: yes
`);
    const unbound: ManagedProcess = startProcess('unbound', 'unbound', ['-d', '-c', conf], {});
    stops.push(() => unbound.stop());
    // Unbound connects to the tap on its own schedule: a first query proves it answers, and its
    // event proves the dnstap connection is up.
    await waitFor(async () => {
      if (unbound.child.exitCode !== null) throw new Error(`unbound exited: ${unbound.output()}`);
      return (await dig(port, 'ready.lab.test').catch(() => '')).includes('NOERROR');
    }, { timeoutMs: 30_000, intervalMs: 200, description: 'unbound answering' });
    await waitFor(async () => (await getStats(base)).queries_total >= 1, { timeoutMs: 60_000, intervalMs: 200, description: 'the first tapped query counted' });

    const before = (await getStats(base)).queries_total;
    for (const name of NAMES) expect(await dig(port, name)).toContain('NOERROR');
    await waitFor(async () => (await getStats(base)).queries_total >= before + NAMES.length, {
      timeoutMs: 60_000, intervalMs: 200, description: 'the tapped queries counted',
    });
    expect((await getStats(base)).queries_total).toBe(before + NAMES.length);
    const byNode = await rowsByNode(db.url, 'DNSTAP');
    expect(Object.keys(byNode)).toEqual(['unbound-e2e']);
    expect(byNode['unbound-e2e']).toBe(before + NAMES.length);
  });
});

describe('distributed with a BIND query-log tap: named -> resolver-edge -> Kafka -> ingest-worker', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('counts every query BIND logged, under the tapping node\'s identity', async () => {
    const kafka = await startKafkaMock();
    stops.push(() => kafka.stop());
    const db = await createScratchDatabase(requireComponent('postgres'));
    stops.push(() => db.drop());
    const data = scratchDir();
    stops.push(async () => data.remove());

    // named logs queries to a file (-f keeps the logging statement; -g would send it to stderr).
    const port = await freeUdpAndTcpPort();
    writeFileSync(path.join(data.dir, 'db.lab.test'), '$TTL 300\n@ IN SOA ns1.lab.test. admin.lab.test. 1 3600 1800 1209600 300\n@ IN NS ns1.lab.test.\nns1 IN A 127.0.0.1\n* IN A 192.0.2.10\n');
    const queriesLog = path.join(data.dir, 'queries.log');
    const conf = path.join(data.dir, 'named.conf');
    writeFileSync(conf, `options {
  directory "${data.dir}"; pid-file none; session-keyfile none; managed-keys-directory "${data.dir}";
  listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; notify no; dnssec-validation no;
};
controls { };
logging {
  channel queries_file { file "${queriesLog}"; print-time yes; severity info; };
  category queries { queries_file; };
};
zone "lab.test" { type primary; file "${data.dir}/db.lab.test"; };
`);
    const named = startProcess('named', 'named', ['-f', '-c', conf, '-u', 'root'], {});
    stops.push(() => named.stop());
    await waitFor(async () => {
      if (named.child.exitCode !== null) throw new Error(`named exited: ${named.output()}`);
      return (await dig(port, 'ready.lab.test').catch(() => '')).includes('NOERROR');
    }, { timeoutMs: 30_000, intervalMs: 200, description: 'named answering' });

    const env = { KAFKA_BROKERS: kafka.brokers.join(','), DATABASE_URL: db.url, GHOSTDNS_LOG_LEVEL: 'warn', GHOSTDNS_DATA_DIR: data.dir };
    const ports = { edge: await freePort(), ingest: await freePort(), api: await freePort() };
    const processes = [
      startTsx('resolver-edge', 'services/resolver-edge/src/main.ts', [], {
        ...env,
        GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${ports.edge}`,
        GHOSTDNS_DNS_LISTEN: `127.0.0.1:${await freeUdpAndTcpPort()}`,
        GHOSTDNS_NODE_ID: 'bind-tapper',
        GHOSTDNS_TAP_BIND_QUERYLOG: queriesLog,
      }),
      startTsx('ingest-worker', 'services/ingest-worker/src/main.ts', [], { ...env, GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${ports.ingest}` }),
      startTsx('records-api', 'services/records-api/src/main.ts', [], { ...env, GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${ports.api}` }),
    ];
    for (const p of processes) stops.push(() => p.stop('SIGTERM'));
    for (const p of Object.values(ports)) await waitForHttp(`http://127.0.0.1:${p}/readyz`, processes, 300_000);

    const base = `http://127.0.0.1:${ports.api}`;
    const before = (await getStats(base)).queries_total;
    for (const name of NAMES) expect(await dig(port, name)).toContain('NOERROR');
    await waitFor(async () => (await getStats(base)).queries_total >= before + NAMES.length, {
      timeoutMs: 90_000, intervalMs: 200, description: 'the logged queries counted',
    });
    expect(await rowsByNode(db.url, 'BIND_QUERYLOG')).toEqual({ 'bind-tapper': before + NAMES.length });
  });
});

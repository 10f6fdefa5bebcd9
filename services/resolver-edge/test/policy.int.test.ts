// Integration: blocklists served by a real HTTP server (node:http on port 0)
// and read from real files, RPZ from a real zone file, the real resolver on
// port 0 forwarding to Debian's dnsmasq, queried over UDP and TCP (dns-packet
// and dig); plus the ACL and RRL stages on the real sockets.
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createInProcessBus, createKafkaBus, silentLogger, type EventBus, type Subscription } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { BuiltinSchemaTable, createEventCodec, Topics, type PolicyChangeEvent, type QueryEvent } from '@ghostdns/contracts';
import { requireComponent, waitFor, type ManagedProcess } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSource } from '../src/policy/lists.js';
import { ResolverEdge } from '../src/resolver-edge.js';
import { query, startUpstream, tcpQueries, udpQuery } from './int-support.js';
import { rcodeOf, RecordingMetrics } from './support.js';

const execFileAsync = promisify(execFile);

const RECORDS = {
  'www.example.test': '192.0.2.10',
  'ads.example.test': '192.0.2.66',
  'cdn.ads.example.test': '192.0.2.67',
  'tracker.example.test': '192.0.2.68',
  'garden.example.test': '192.0.2.80',
  'late.example.test': '192.0.2.81',
  'custom.example.test': '192.0.2.90',
  'www.listed.example.test': '192.0.2.91',
};

describe('policy, ACL and RRL on a running resolver-edge', () => {
  let dnsmasq: ManagedProcess;
  let upstreamPort = 0;
  let http: Server;
  let httpBase = '';
  const httpBodies = new Map<string, { status: number; body: string }>();
  let dir = '';
  const edges: ResolverEdge[] = [];
  let bus: EventBus;
  let subscription: Subscription;
  const events: QueryEvent[] = [];

  async function startEdge(
    overrides: Record<string, unknown>,
    metrics = new RecordingMetrics(),
    topics: EventBus | null = null,
  ): Promise<{ edge: ResolverEdge; port: number; metrics: RecordingMetrics }> {
    const edge = new ResolverEdge({
      config: parseConfig({
        node: { id: 'policy-int', pop: 'lab' },
        dns: { listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${upstreamPort}`], tcp: true, upstreamTimeoutMs: 2000 },
        ...overrides,
      }),
      publisher: bus,
      bus: topics,
      metrics,
      queue: { lingerMs: 5 },
    });
    edges.push(edge);
    const addrs = await edge.start();
    return { edge, port: addrs.udp.port, metrics };
  }

  beforeAll(async () => {
    ({ port: upstreamPort, dnsmasq } = await startUpstream(RECORDS));

    http = createServer((req, res) => {
      const entry = httpBodies.get(req.url ?? '');
      if (entry === undefined) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(entry.status, { 'content-type': 'text/plain' }).end(entry.body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const address = http.address();
    httpBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    dir = mkdtempSync(path.join(tmpdir(), 'ghostdns-policy-'));
    bus = createInProcessBus({ logger: silentLogger });
    await bus.connect();
    subscription = await bus.subscribe(Topics.queries, async (batch) => void events.push(...batch.values), { groupId: 'policy-int', fromBeginning: true });
  });

  afterAll(async () => {
    for (const edge of edges) await edge.stop({ drainTimeoutMs: 1000, flushTimeoutMs: 1000 });
    await subscription?.close();
    await bus?.close();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    await dnsmasq?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  describe('blocklists, allowlists and RPZ', () => {
    let port = 0;
    let edge: ResolverEdge;
    let metrics: RecordingMetrics;

    beforeAll(async () => {
      httpBodies.set('/adblock.txt', { status: 200, body: '! Title: test list\n||ads.example.test^\n@@||cdn.ads.example.test^\nexample.test##.banner\n' });
      writeFileSync(path.join(dir, 'hosts.txt'), '# hosts\n0.0.0.0 tracker.example.test\n127.0.0.1 localhost\n');
      writeFileSync(path.join(dir, 'allow.txt'), 'www.example.test\n');
      writeFileSync(
        path.join(dir, 'policy.rpz'),
        ['$TTL 60', '$ORIGIN rpz.test.', '@ SOA ns.rpz.test. admin.rpz.test. 1 3600 600 86400 60', '@ NS ns.rpz.test.',
          'nx.example.test CNAME .', '*.nodata.example.test CNAME *.', 'portal.example.test A 10.9.9.9',
          'alias.example.test CNAME garden.example.test.'].join('\n'),
      );
      ({ edge, port, metrics } = await startEdge({
        policy: {
          // plain.txt does not exist yet: a failed source at start (created before the reload test).
          blocklists: [`${httpBase}/adblock.txt`, path.join(dir, 'hosts.txt'), `file://${path.join(dir, 'plain.txt')}`],
          allowlists: [path.join(dir, 'allow.txt')],
          rpzFiles: [path.join(dir, 'policy.rpz')],
          blockResponse: 'nxdomain',
          reloadInterval: 0,
        },
      }));
    });

    it('blocks from the URL list and the hosts file, subdomains included, with a synthetic SOA', async () => {
      for (const [name, id] of [['ads.example.test', 0x0101], ['x.y.ads.example.test', 0x0102], ['tracker.example.test', 0x0103]] as const) {
        const wire = await udpQuery(port, query(name, id));
        const decoded = dnsPacket.decode(wire);
        expect(rcodeOf(wire)).toBe('NXDOMAIN');
        expect(decoded.id).toBe(id);
        expect(decoded.authorities?.[0]).toMatchObject({ type: 'SOA', ttl: 60 });
      }
      await waitFor(() => events.some((e) => e.qname === 'tracker.example.test'), { description: 'blocked event' });
      expect(events.find((e) => e.qname === 'ads.example.test')).toMatchObject({ policy_action: 'BLOCKED', rcode: 3, cache_status: 'NONE', upstream: null });
    });

    it('lets @@ exceptions and the allowlist through to the upstream', async () => {
      const wire = await udpQuery(port, query('cdn.ads.example.test', 0x0201));
      expect(dnsPacket.decode(wire).answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.67' });
      await waitFor(() => events.some((e) => e.qname === 'cdn.ads.example.test'), { description: 'allowlisted event' });
      expect(events.find((e) => e.qname === 'cdn.ads.example.test')?.policy_action).toBe('ALLOWLISTED');
      const www = await udpQuery(port, query('www.example.test', 0x0202));
      expect(dnsPacket.decode(www).answers?.[0]).toMatchObject({ data: '192.0.2.10' });
    });

    it('applies RPZ triggers (dig over UDP and TCP)', async () => {
      const dig = async (name: string, extra: string[] = []) =>
        (await execFileAsync('dig', ['@127.0.0.1', '-p', String(port), name, 'A', '+tries=1', '+time=3', ...extra])).stdout;
      expect(await dig('nx.example.test')).toMatch(/status: NXDOMAIN/);
      expect(await dig('a.nodata.example.test', ['+tcp'])).toMatch(/status: NOERROR.*\n.*ANSWER: 0/);
      const portal = await dig('portal.example.test', ['+short']);
      expect(portal.trim()).toBe('10.9.9.9');
      const alias = await dig('alias.example.test', ['+short']);
      expect(alias.trim().split('\n')).toEqual(['garden.example.test.', '192.0.2.80']);
    });

    it('reports a missing source and still serves the others', () => {
      expect(metrics.count('policy_reload|failure')).toBe(1);
      expect(metrics.rules.get('block')).toBe(2);
      expect(metrics.rules.get('rpz')).toBe(4);
    });

    it('reloads without restart; a failed reload keeps the previous lists', async () => {
      writeFileSync(path.join(dir, 'plain.txt'), 'late.example.test\n');
      await edge.reload();
      expect(rcodeOf(await udpQuery(port, query('late.example.test', 0x0301)))).toBe('NXDOMAIN');
      expect(metrics.count('policy_reload|success')).toBe(1);

      httpBodies.set('/adblock.txt', { status: 500, body: 'oops' });
      writeFileSync(path.join(dir, 'plain.txt'), '');
      await edge.reload();
      expect(metrics.count('policy_reload|failure')).toBe(2);
      expect(rcodeOf(await udpQuery(port, query('ads.example.test', 0x0302)))).toBe('NXDOMAIN');
      expect(rcodeOf(await udpQuery(port, query('late.example.test', 0x0303)))).toBe('NXDOMAIN');
    });
  });

  const change = (fields: Partial<PolicyChangeEvent> & Pick<PolicyChangeEvent, 'entity' | 'id'>): PolicyChangeEvent => ({
    event_id: `${fields.id}-${fields.op ?? 'UPSERT'}`, op: 'UPSERT', kind: 'BLOCK', source: null, format: null, enabled: null, domain: null,
    changed_at_us: Date.now() * 1000, actor: 'token:int:1', ...fields,
  });

  describe('lists and custom domains from the API (policy.changes.v1 on the in-process bus)', () => {
    let port = 0;
    let metrics: RecordingMetrics;
    const rcode = async (name: string, id: number): Promise<string> => rcodeOf(await udpQuery(port, query(name, id)));

    beforeAll(async () => {
      ({ port, metrics } = await startEdge({ policy: { reloadInterval: 0 } }, new RecordingMetrics(), bus));
    });

    it('a custom domain answers as blocked once its event is applied; its DELETE restores the upstream answer', async () => {
      expect(dnsPacket.decode(await udpQuery(port, query('custom.example.test', 0x0701))).answers?.[0]).toMatchObject({ data: '192.0.2.90' });
      await bus.publish(Topics.policyChanges, [change({ entity: 'ENTRY', id: 'e-custom', domain: 'custom.example.test' })]);
      await waitFor(async () => (await rcode('custom.example.test', 0x0702)) === 'NXDOMAIN', { timeoutMs: 15_000, intervalMs: 10, description: 'the entry blocking' });
      expect(rcodeOf(await udpQuery(port, query('deep.custom.example.test', 0x0703)))).toBe('NXDOMAIN');
      expect(metrics.entries.get('block')).toBe(1);

      await bus.publish(Topics.policyChanges, [change({ entity: 'ENTRY', id: 'e-custom', op: 'DELETE', domain: 'custom.example.test' })]);
      await waitFor(async () => (await rcode('custom.example.test', 0x0704)) === 'NOERROR', { timeoutMs: 15_000, intervalMs: 10, description: 'the entry gone' });
      expect(dnsPacket.decode(await udpQuery(port, query('custom.example.test', 0x0705))).answers?.[0]).toMatchObject({ data: '192.0.2.90' });
    });

    it('loads a list from a URL served on loopback; a list that cannot be fetched is counted', async () => {
      httpBodies.set('/api-list.txt', { status: 200, body: '0.0.0.0 listed.example.test\n' });
      await bus.publish(Topics.policyChanges, [
        change({ entity: 'LIST', id: 'l-url', source: `${httpBase}/api-list.txt`, format: 'HOSTS', enabled: true }),
        change({ entity: 'LIST', id: 'l-missing', source: `${httpBase}/missing.txt`, format: 'AUTO', enabled: true }),
      ]);
      await waitFor(async () => (await rcode('www.listed.example.test', 0x0801)) === 'NXDOMAIN', { timeoutMs: 5_000, intervalMs: 10, description: 'the URL list blocking' });
      await waitFor(() => metrics.count('policy_list_failure|api') === 1, { timeoutMs: 5_000, intervalMs: 10, description: 'the 404 counted' });
      expect(metrics.rules.get('block')).toBe(1);

      await bus.publish(Topics.policyChanges, [change({ entity: 'LIST', id: 'l-url', op: 'DELETE' })]);
      await waitFor(async () => (await rcode('www.listed.example.test', 0x0802)) === 'NOERROR', { timeoutMs: 15_000, intervalMs: 10, description: 'the list gone' });
    });
  });

  it('distributed: a custom domain published on Kafka blocks on an edge following the topic; its DELETE unblocks', async () => {
    const codec = createEventCodec(new BuiltinSchemaTable());
    await codec.init();
    const kafka = (clientId: string): EventBus =>
      createKafkaBus({
        brokers: requireComponent('kafka').split(','), clientId, codec, logger: silentLogger, kafkaLogLevel: 'error',
        maxWaitTimeInMs: 100, heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000,
      });
    const producer = kafka('policy-int-api');
    const consumer = kafka('policy-int-edge');
    let edge: ResolverEdge | undefined;
    try {
      await producer.connect();
      await consumer.connect();
      const started = await startEdge({ policy: { reloadInterval: 0 } }, new RecordingMetrics(), consumer);
      edge = started.edge;
      const port = started.port;
      const rcode = async (id: number): Promise<string> => rcodeOf(await udpQuery(port, query('custom.example.test', id)));
      const entryId = `kafka-${process.pid}-${Date.now()}`;
      await producer.publish(Topics.policyChanges, [change({ entity: 'ENTRY', id: entryId, domain: 'custom.example.test' })]);
      // The first change waits for the edge's consumer group to join.
      await waitFor(async () => (await rcode(0x0901)) === 'NXDOMAIN', { timeoutMs: 30_000, intervalMs: 20, description: 'the entry blocking over Kafka' });
      await producer.publish(Topics.policyChanges, [change({ entity: 'ENTRY', id: entryId, op: 'DELETE', domain: 'custom.example.test' })]);
      await waitFor(async () => (await rcode(0x0902)) === 'NOERROR', { timeoutMs: 10_000, intervalMs: 20, description: 'the entry gone over Kafka' });
    } finally {
      // Before the bus it follows closes; afterAll then finds it stopped.
      if (edge !== undefined) {
        edges.splice(edges.indexOf(edge), 1);
        await edge.stop({ drainTimeoutMs: 1000, flushTimeoutMs: 1000 });
      }
      await consumer.close();
      await producer.close();
    }
  });

  it('URL sources honour the size cap and the timeout', async () => {
    httpBodies.set('/big.txt', { status: 200, body: 'x.example\n'.repeat(1000) });
    await expect(readSource(`${httpBase}/big.txt`, { timeoutMs: 5000, maxBytes: 100 })).rejects.toMatchObject({ code: 'GHOSTDNS_RESOLVER_POLICY_SOURCE' });
    const stalled = createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    try {
      const a = stalled.address();
      const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/list.txt`;
      await expect(readSource(url, { timeoutMs: 200, maxBytes: 1000 })).rejects.toMatchObject({ code: 'GHOSTDNS_RESOLVER_POLICY_SOURCE' });
    } finally {
      stalled.closeAllConnections();
      await new Promise<void>((resolve) => stalled.close(() => resolve()));
    }
    expect(await readSource(`${httpBase}/big.txt`, { timeoutMs: 5000, maxBytes: 1_000_000 })).toHaveLength(10_000);
  });

  it('refuses clients outside allow-query, and recursion outside allow-recursion', async () => {
    const outside = await startEdge({ acl: { allowQuery: ['10.0.0.0/8'], allowRecursion: ['10.0.0.0/8'] } });
    const wire = await udpQuery(outside.port, query('www.example.test', 0x0401));
    expect(rcodeOf(wire)).toBe('REFUSED');
    expect(outside.metrics.count('acl_refused|query')).toBe(1);
    const [tcp] = await tcpQueries(outside.port, [query('www.example.test', 0x0402)]);
    expect(rcodeOf(tcp ?? Buffer.alloc(4))).toBe('REFUSED');

    writeFileSync(path.join(dir, 'local.rpz'), 'portal.example.test A 10.9.9.9\n');
    const noRecursion = await startEdge({ acl: { allowRecursion: ['10.0.0.0/8'] }, policy: { rpzFiles: [path.join(dir, 'local.rpz')], reloadInterval: 0 } });
    expect(rcodeOf(await udpQuery(noRecursion.port, query('www.example.test', 0x0403)))).toBe('REFUSED');
    expect(noRecursion.metrics.count('acl_refused|recursion')).toBe(1);
    // Policy answers come before the recursion ACL (local data still answers, as in BIND).
    const portal = dnsPacket.decode(await udpQuery(noRecursion.port, query('portal.example.test', 0x0404)));
    expect(portal.answers?.[0]).toMatchObject({ data: '10.9.9.9' });
  });

  it('rate limits identical UDP answers (drop, or TC=1 every 2nd), never TCP', async () => {
    const { port, metrics } = await startEdge({ rrl: { responsesPerSecond: 1, window: 5, slip: 2 } });
    const socket = createSocket('udp4');
    const received: Buffer[] = [];
    socket.on('message', (m) => received.push(m));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      const total = 12;
      for (let i = 0; i < total; i++) socket.send(query('www.example.test', 0x0500 + i), port, '127.0.0.1');
      const verdicts = () => metrics.count('rrl|send') + metrics.count('rrl|drop') + metrics.count('rrl|slip');
      await waitFor(() => verdicts() === total, { description: `${total} RRL verdicts` });
      const sent = metrics.count('rrl|send') + metrics.count('rrl|slip');
      await waitFor(() => received.length === sent, { description: `${sent} UDP answers` });
      const truncated = received.filter((m) => dnsPacket.decode(m).flag_tc);
      expect(truncated).toHaveLength(metrics.count('rrl|slip'));
      for (const m of truncated) expect(dnsPacket.decode(m).answers).toEqual([]);
      expect(metrics.count('rrl|drop')).toBeGreaterThan(0);
      expect(metrics.count('rrl|slip')).toBeGreaterThan(0);
    } finally {
      socket.close();
    }
    const tcp = await tcpQueries(port, Array.from({ length: 5 }, (_, i) => query('www.example.test', 0x0600 + i)));
    expect(tcp.map((m) => dnsPacket.decode(m).answers?.length)).toEqual([1, 1, 1, 1, 1]);
  });
});

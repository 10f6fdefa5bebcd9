// Integration: DNS over TLS with real clients and a real upstream.
//  - resolver-edge with dot.listen and a self-signed certificate made by openssl;
//    queried by kdig (Knot) with and without certificate verification;
//  - a second resolver-edge forwarding to the first over DoT (dns.tlsUpstreams,
//    certificate checked against the test CA), queries pipelined on one connection;
//  - EDNS end to end: a big RRset from dnsmasq truncated (TC) over UDP, the
//    forwarder retrying the upstream over TCP, the client falling back to TCP.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { parseConfig, type GhostConfigInput } from '@ghostdns/config';
import { scratchDir, waitFor, type ManagedProcess } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { frame, TcpFramer } from '../src/server/tcp-framing.js';
import { makeCertificate, startUpstream, udpQuery, which } from './int-support.js';
import { RecordingMetrics, RecordingPublisher, rcodeOf } from './support.js';

const execFileAsync = promisify(execFile);

function edgeConfig(dns: GhostConfigInput['dns'], extra: Omit<GhostConfigInput, 'dns'> = {}): ReturnType<typeof parseConfig> {
  return parseConfig({ node: { id: 'dot-int', pop: 'lab' }, ...extra, dns: { listen: '127.0.0.1:0', tcp: true, upstreamTimeoutMs: 2000, ...dns } });
}

const BIG = Array.from({ length: 60 }, (_, i) => `192.0.2.${i + 1}`);

describe('DNS over TLS', () => {
  const tmp = scratchDir();
  let tls: { cert: string; key: string };
  let dnsmasq: ManagedProcess;
  let edge: ResolverEdge;
  let downstream: ResolverEdge;
  let dotPort = 0;
  let udpPort = 0;
  let downstreamPort = 0;
  const downstreamMetrics = new RecordingMetrics();
  const edgeMetrics = new RecordingMetrics();
  let kdig = '';
  let dig = '';

  beforeAll(async () => {
    kdig = which('kdig');
    dig = which('dig');
    tls = makeCertificate(tmp.dir);
    // The big RRset (60 A records, ~1 KB) comes from repeated --address lines.
    const bigArgs = BIG.map((ip) => `--address=/big.example.test/${ip}`);
    const upstream = await startUpstream({ 'a.example.test': '192.0.2.10' }, bigArgs);
    dnsmasq = upstream.dnsmasq;

    edge = new ResolverEdge({
      config: edgeConfig({ upstreams: [`127.0.0.1:${upstream.port}`] }, { dot: { listen: '127.0.0.1:0' }, tls }),
      publisher: new RecordingPublisher(),
      metrics: edgeMetrics,
      spoolDir: null,
    });
    const addrs = await edge.start();
    dotPort = addrs.dot?.port ?? 0;
    udpPort = addrs.udp.port;
    expect(dotPort).toBeGreaterThan(0);

    downstream = new ResolverEdge({
      // Our self-signed certificate is its own CA: trusted through tls.upstreamCa.
      config: edgeConfig({ tlsUpstreams: [`127.0.0.1:${dotPort}#localhost`] }, { tls: { upstreamCa: tls.cert } }),
      publisher: new RecordingPublisher(),
      metrics: downstreamMetrics,
      spoolDir: null,
    });
    downstreamPort = (await downstream.start()).udp.port;
  });

  afterAll(async () => {
    await downstream?.stop({ drainTimeoutMs: 1000, flushTimeoutMs: 100 });
    await edge?.stop({ drainTimeoutMs: 1000, flushTimeoutMs: 100 });
    await dnsmasq?.stop();
    tmp.remove();
  });

  it('kdig +tls-ca verifies the certificate and gets the answer', async () => {
    const { stdout } = await execFileAsync(kdig, [
      '@127.0.0.1', '-p', String(dotPort), `+tls-ca=${tls.cert}`, '+tls-hostname=localhost', 'a.example.test', 'A',
    ]);
    expect(stdout).toMatch(/status: NOERROR/);
    expect(stdout).toMatch(/TLS session \(TLS1\.[23]\)/);
    expect(stdout).toMatch(/a\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.10/);
  });

  it('kdig +tls (opportunistic) gets the answer; the event says DOT', async () => {
    const { stdout } = await execFileAsync(kdig, ['@127.0.0.1', '-p', String(dotPort), '+tls', 'a.example.test']);
    expect(stdout).toMatch(/192\.0\.2\.10/);
    expect(edgeMetrics.count('requests|DOT|A')).toBeGreaterThanOrEqual(2);
  });

  it('kdig with the wrong hostname refuses the certificate', async () => {
    await expect(
      execFileAsync(kdig, ['@127.0.0.1', '-p', String(dotPort), `+tls-ca=${tls.cert}`, '+tls-hostname=wrong.example', 'a.example.test']),
    ).rejects.toThrow();
  });

  it('pipelines queries on one TLS connection with out-of-order completion allowed', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: dotPort, ca: [readFileSync(tls.cert)], servername: 'localhost' });
    await once(socket, 'secureConnect');
    const framer = new TcpFramer();
    const ids = new Set<number>();
    socket.on('data', (c: Buffer) => framer.push(c).forEach((m) => ids.add(m.readUInt16BE(0))));
    socket.write(Buffer.concat([1, 2, 3].map((id) => frame(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'a.example.test', class: 'IN' }] })))));
    await waitFor(() => ids.size === 3, { timeoutMs: 5000, description: 'three answers' });
    socket.destroy();
  });

  it('forwards over DoT to an upstream resolver-edge, certificate verified, one kept-open connection', async () => {
    const answers = await Promise.all(['a.example.test', 'a.example.test', 'a.example.test'].map((name, i) =>
      udpQuery(downstreamPort, dnsPacket.encode({ type: 'query', id: 100 + i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] }))));
    for (const a of answers) expect(dnsPacket.decode(a).answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.10' });
    const label = `tls://127.0.0.1:${dotPort}`;
    expect(downstreamMetrics.count(`forward_responses|${label}|NOERROR`)).toBeGreaterThanOrEqual(1);
  });

  it('a DoT upstream whose certificate is not trusted is never used: SERVFAIL', async () => {
    const untrusting = new ResolverEdge({
      config: edgeConfig({ tlsUpstreams: [`127.0.0.1:${dotPort}#localhost`], upstreamTimeoutMs: 500 }),
      publisher: new RecordingPublisher(),
      spoolDir: null,
    });
    const port = (await untrusting.start()).udp.port;
    try {
      const r = await udpQuery(port, dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'a.example.test', class: 'IN' }] }));
      expect(rcodeOf(r)).toBe('SERVFAIL');
    } finally {
      await untrusting.stop({ drainTimeoutMs: 500, flushTimeoutMs: 100 });
    }
  });

  it('EDNS: a big answer is truncated for a 512-byte client, the upstream re-asked over TCP, dig retries over TCP', async () => {
    // Plain UDP without EDNS: dnsmasq truncates, the forwarder asks it again over TCP, we truncate for the client.
    const r = await udpQuery(udpPort, dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'big.example.test', class: 'IN' }] }));
    expect(r.length).toBeLessThanOrEqual(512);
    const d = dnsPacket.decode(r);
    expect(d.flag_tc).toBe(true);
    expect(d.answers).toEqual([]);
    expect(edgeMetrics.count('failover|truncated')).toBeGreaterThanOrEqual(1);
    // dig without EDNS gets TC from us and falls back to TCP, where the whole RRset comes.
    const { stdout } = await execFileAsync(dig, ['@127.0.0.1', '-p', String(udpPort), '+noedns', '+retry=0', 'big.example.test', 'A']);
    expect(stdout).toMatch(/Truncated, retrying in TCP mode/);
    expect(stdout.match(/\tIN\tA\t192\.0\.2\./g)?.length).toBe(BIG.length);
    // With EDNS 1232 the whole RRset fits in one datagram.
    const edns = await execFileAsync(dig, ['@127.0.0.1', '-p', String(udpPort), '+bufsize=1232', '+dnssec', '+cd', '+retry=0', 'big.example.test', 'A']);
    expect(edns.stdout).not.toMatch(/Truncated/);
    expect(edns.stdout).toMatch(/flags: qr[a-z ]* cd;/);
    expect(edns.stdout).toMatch(/EDNS: version: 0, flags: do;/);
  });
});

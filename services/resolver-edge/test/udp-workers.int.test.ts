// Integration: dns.workers = 2 — the real service process (main.ts) forks two
// cluster workers sharing one UDP socket, each publishing its own events to the
// harness's Kafka (from its event thread); a real dnsmasq is the upstream; the
// primary's /metrics serves the workers' metrics summed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, freeUdpAndTcpPort, requireComponent, startDnsmasq, startTsx, waitFor, waitForHttp } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { query, udpQuery } from './int-support.js';

async function lookup(port: number, name: string, id: number): Promise<dnsPacket.Packet> {
  return dnsPacket.decode(await udpQuery(port, query(name, id)));
}

describe('resolver-edge with dns.workers = 2', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ghostdns-workers-'));
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers through the shared socket and exits cleanly', async () => {
    const kafka = requireComponent('kafka');
    const upstreamPort = await freeUdpAndTcpPort();
    const dnsmasq = startDnsmasq(upstreamPort, { 'w.workers.test': '192.0.2.44' });
    stops.push(() => dnsmasq.stop());
    const dnsPort = await freeUdpAndTcpPort();
    const httpPort = await freePort();
    const edge = startTsx('resolver-edge', 'services/resolver-edge/src/main.ts', [], {
      KAFKA_BROKERS: kafka,
      GHOSTDNS_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      GHOSTDNS_DNS_UPSTREAMS: `127.0.0.1:${upstreamPort}`,
      GHOSTDNS_DNS_WORKERS: '2',
      GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      GHOSTDNS_DATA_DIR: dir,
      GHOSTDNS_LOG_LEVEL: 'warn',
    });
    stops.push(() => edge.stop());
    await waitForHttp(`http://127.0.0.1:${httpPort}/readyz`, [edge, dnsmasq]);

    // dnsmasq may still be starting: poll the first answer.
    await waitFor(async () => {
      try {
        return (await lookup(dnsPort, 'w.workers.test', 1)).answers?.length === 1;
      } catch {
        return false;
      }
    }, { timeoutMs: 20_000, intervalMs: 100, description: 'a first answer' });
    // Each worker has its own cache; the kernel picks the worker per datagram.
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => lookup(dnsPort, 'w.workers.test', 100 + i)));
    for (const [i, a] of answers.entries()) {
      expect(a.id).toBe(100 + i);
      expect(a.answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.44' });
    }
    // The primary's /metrics carries the workers' counters, summed: every UDP query answered counts once.
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const udpRequests = metrics
      .split('\n')
      .filter((l) => l.startsWith('coredns_dns_requests_total{') && l.includes('proto="udp"'))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(udpRequests).toBeGreaterThanOrEqual(41);
    expect(metrics.match(/^# TYPE coredns_dns_requests_total /gm)).toHaveLength(1);
    expect(metrics).toMatch(/^process_cpu_seconds_total/m);
    expect(await edge.stop('SIGTERM')).toBe(0);
  });
});

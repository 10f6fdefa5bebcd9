import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort, freeUdpAndTcpPort, requireComponent, startKafkaMock, startTsx, waitFor, waitForHttp, type KafkaMock, type ManagedProcess,
} from '@ghostdns/testkit';
import { startWireGuardLab, type WireGuardLab } from '../../services/presence-service/test/support/wireguard-lab.js';
import { queryUdp } from './support.js';

// HADDNS end to end: a real WireGuard peer (wireguard-go in a namespace of our own)
// watched by presence-service through `wg show all dump`, its transitions carried
// over Kafka to resolver-edge, which answers `<peer>.<suffix>` (and `<peer>.<interface>.<suffix>`)
// only while the peer is there, and withdraws them when presence-service dies (its snapshot in Redis expires).

const SUFFIX = 'vpn.e2e.test';
const NAME = `laptop.${SUFFIX}`;
/** Handshake threshold: also the snapshot's lifetime, so how long a dead presence-service's names last. */
const THRESHOLD_S = 30;

/** SIGKILLs a process and everything below it (tsx runs the service in a child of its own). */
function killTree(pid: number): void {
  // ps exits 1 when there are no children: stdout is all we need.
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  for (const child of children) killTree(Number(child));
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** RCODE and A records of a query (RFC 1035 §4.1.1: RCODE is the low 4 bits of the flags). */
async function lookup(port: number, name: string): Promise<{ rcode: number; addresses: string[]; ttls: number[] }> {
  const answer = await queryUdp(port, name);
  const records = (answer.answers ?? []).flatMap((a) => (a.type === 'A' ? [{ data: a.data, ttl: a.ttl ?? -1 }] : []));
  return { rcode: (answer.flags ?? 0) & 0x000f, addresses: records.map((r) => r.data), ttls: records.map((r) => r.ttl) };
}

describe('presence-aware names follow a real WireGuard peer (presence-service + resolver-edge on Kafka)', () => {
  let lab: WireGuardLab;
  let kafka: KafkaMock;
  const processes: ManagedProcess[] = [];
  let dnsPort: number;
  let presenceHttp: number;
  let presence: ManagedProcess;
  let instanceName: string;

  beforeAll(async () => {
    // The server keeps a 1 s keepalive towards the laptop: the keepalive rule takes it offline in seconds,
    // with the 300 s handshake threshold never reached during the test.
    lab = await startWireGuardLab({ serverKeepaliveSec: 1, clientKeepaliveSec: 1 });
    lab.nameClient('Laptop');
    instanceName = `laptop.${lab.server}.${SUFFIX}`;
    kafka = await startKafkaMock();
    dnsPort = await freeUdpAndTcpPort();
    presenceHttp = await freePort();
    const edgeHttp = await freePort();
    const common = {
      KAFKA_BROKERS: kafka.brokers.join(','),
      // Shared: presence-service keeps its snapshot there, resolver-edge checks it.
      REDIS_URL: requireComponent('redis'),
      GHOSTDNS_PRESENCE_SUFFIX: SUFFIX,
      // A node of its own per run: no snapshot of an earlier run in the shared Redis.
      GHOSTDNS_NODE_ID: `e2e-presence-${randomBytes(4).toString('hex')}`,
    };
    presence = startTsx('presence-service', 'services/presence-service/src/main.ts', [], {
      ...common,
      GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${presenceHttp}`,
      GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES: lab.server,
      GHOSTDNS_PRESENCE_WIREGUARD_CONFIG_DIR: lab.configDir,
      GHOSTDNS_PRESENCE_POLL_INTERVAL: '0.5',
      // Every step below starts from a fresh handshake, well inside the threshold (wg rekeys only every 120 s).
      GHOSTDNS_PRESENCE_HANDSHAKE_THRESHOLD: String(THRESHOLD_S),
    });
    processes.push(
      presence,
      startTsx('resolver-edge', 'services/resolver-edge/src/main.ts', [], {
        ...common,
        GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${edgeHttp}`,
        GHOSTDNS_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      }),
    );
    await waitForHttp(`http://127.0.0.1:${presenceHttp}/readyz`, processes, 300_000);
    await waitForHttp(`http://127.0.0.1:${edgeHttp}/readyz`, processes, 300_000);
  });

  afterAll(async () => {
    const codes = await Promise.all(processes.map((p) => p.stop('SIGTERM')));
    await kafka?.stop();
    await lab?.close();
    expect(codes).toEqual(processes.map(() => 0));
  });

  const resolves = (description: string, name = NAME) =>
    waitFor(async () => (await lookup(dnsPort, name)).addresses.join() === lab.clientAddress, { timeoutMs: 60_000, intervalMs: 200, description });
  const gone = (description: string, name = NAME, timeoutMs = 60_000) =>
    waitFor(async () => (await lookup(dnsPort, name)).rcode === 3, { timeoutMs, intervalMs: 200, description });

  it('does not resolve before the peer handshakes, resolves while it is there, stops when it goes, resolves again when it returns', async () => {
    expect((await lookup(dnsPort, NAME)).rcode).toBe(3); // NXDOMAIN: presence names fail closed
    await lab.startClient();
    await resolves(`${NAME} to resolve once the peer handshakes`);
    expect((await lookup(dnsPort, NAME)).ttls).toEqual([5]);
    await resolves(`the instance name ${instanceName} to resolve`, instanceName);

    await lab.stopClient();
    await gone(`${NAME} to stop resolving once the peer is gone`);
    await gone(`${instanceName} to stop resolving once the peer is gone`, instanceName);

    await lab.startClient();
    await resolves(`${NAME} to resolve again after a new handshake`);
  });

  it('exports presence metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${presenceHttp}/metrics`)).text();
    // The runtime adds service and node labels, before or after ours.
    expect(text).toMatch(new RegExp(`ghostdns_presence_peers\\{[^}]*interface="${lab.server}",state="online"[^}]*\\} 1\\n`));
    expect(text).toMatch(/ghostdns_presence_polls_total\{[^}]*source="wireguard",outcome="ok"[^}]*\} [1-9]/);
    expect(text).toMatch(/ghostdns_presence_handshake_age_seconds_count\{[^}]*source="wireguard"[^}]*\} [1-9]/);
    expect(text).toMatch(/ghostdns_presence_transitions_total\{[^}]*type="DEVICE_OFFLINE"[^}]*\} [1-9]/);
  });

  it('fails closed when presence-service dies: SIGKILL with the peer online, the names stop resolving once its snapshot expires', async () => {
    // A fresh handshake, so that only the snapshot's expiry can take the name away.
    await lab.stopClient();
    await gone(`${NAME} to stop resolving before the fresh handshake`);
    await lab.startClient();
    await resolves(`${NAME} to resolve before presence-service is killed`);

    killTree(presence.child.pid ?? 0);
    await presence.stop('SIGKILL');
    processes.splice(processes.indexOf(presence), 1);

    const deadline = (THRESHOLD_S + 10) * 1000;
    await gone(`${NAME} to stop resolving within the threshold of presence-service's death`, NAME, deadline);
    await gone(`${instanceName} to stop resolving as well`, instanceName, deadline);
  });
});

// Tailscale: presence-service reads the devices of a local stand-in of the Tailscale API v2
// (the documented response shape, on loopback), and resolver-edge answers a device's MagicDNS
// short name under our suffix while the control plane says it is connected.
describe('Tailscale devices answer under the suffix by their MagicDNS short name (presence-service + resolver-edge)', () => {
  let kafka: KafkaMock;
  let api: Server;
  const processes: ManagedProcess[] = [];
  let dnsPort: number;
  let connected = true;
  const tsName = `nas.${SUFFIX}`;

  beforeAll(async () => {
    api = createServer((req, res) => {
      const ok = req.method === 'GET' && req.url === '/api/v2/tailnet/-/devices' && req.headers.authorization === 'Bearer tskey-api-e2e';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? {
        devices: [{
          addresses: ['100.90.1.3', 'fd7a:115c:a1e0::3'], id: '9000003', nodeId: 'nNAS3CNTRL', user: 'amelie@example.com',
          name: 'nas.tail1234.ts.net', hostname: 'nas', os: 'linux', created: '2025-03-09T20:13:24Z', lastSeen: new Date().toISOString(),
          authorized: true, tags: ['tag:storage'], connectedToControl: connected,
        }],
      } : { message: 'unauthorized' }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    kafka = await startKafkaMock();
    dnsPort = await freeUdpAndTcpPort();
    const presenceHttp = await freePort();
    const edgeHttp = await freePort();
    const common = {
      KAFKA_BROKERS: kafka.brokers.join(','),
      REDIS_URL: requireComponent('redis'),
      GHOSTDNS_PRESENCE_SUFFIX: SUFFIX,
      GHOSTDNS_NODE_ID: `e2e-tailscale-${randomBytes(4).toString('hex')}`,
    };
    processes.push(
      startTsx('presence-service', 'services/presence-service/src/main.ts', [], {
        ...common,
        GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${presenceHttp}`,
        GHOSTDNS_PRESENCE_TAILSCALE_SOURCE: 'api',
        GHOSTDNS_PRESENCE_TAILSCALE_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
        GHOSTDNS_PRESENCE_TAILSCALE_API_KEY: 'tskey-api-e2e',
        GHOSTDNS_PRESENCE_POLL_INTERVAL: '0.5',
        GHOSTDNS_PRESENCE_HANDSHAKE_THRESHOLD: String(THRESHOLD_S),
      }),
      startTsx('resolver-edge', 'services/resolver-edge/src/main.ts', [], {
        ...common,
        GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${edgeHttp}`,
        GHOSTDNS_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      }),
    );
    await waitForHttp(`http://127.0.0.1:${presenceHttp}/readyz`, processes, 300_000);
    await waitForHttp(`http://127.0.0.1:${edgeHttp}/readyz`, processes, 300_000);
  });

  afterAll(async () => {
    const codes = await Promise.all(processes.map((p) => p.stop('SIGTERM')));
    await kafka?.stop();
    api?.closeAllConnections();
    await new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve()));
    expect(codes).toEqual(processes.map(() => 0));
  });

  it('resolves while the device is connected, stops when the control plane says it is not', async () => {
    await waitFor(async () => (await lookup(dnsPort, tsName)).addresses.join() === '100.90.1.3', { timeoutMs: 60_000, intervalMs: 200, description: `${tsName} to resolve` });
    expect((await lookup(dnsPort, tsName)).ttls).toEqual([5]);
    connected = false;
    await waitFor(async () => (await lookup(dnsPort, tsName)).rcode === 3, { timeoutMs: 60_000, intervalMs: 200, description: `${tsName} to stop resolving` });
  });
});

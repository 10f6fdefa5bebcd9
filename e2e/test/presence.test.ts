import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort, freeUdpAndTcpPort, startKafkaMock, startTsx, waitFor, waitForHttp, type KafkaMock, type ManagedProcess,
} from '@ghostdns/testkit';
import { startWireGuardLab, type WireGuardLab } from '../../services/presence-service/test/support/wireguard-lab.js';
import { queryUdp } from './support.js';

// HADDNS end to end: a real WireGuard peer (wireguard-go in a namespace of our own)
// watched by presence-service through `wg show all dump`, its transitions carried
// over Kafka to resolver-edge, which answers `<peer>.<suffix>` only while the peer is there.

const SUFFIX = 'vpn.e2e.test';
const NAME = `laptop.${SUFFIX}`;

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

  beforeAll(async () => {
    // The server keeps a 1 s keepalive towards the laptop: the keepalive rule takes it offline in seconds,
    // with the 300 s handshake threshold never reached during the test.
    lab = await startWireGuardLab({ serverKeepaliveSec: 1, clientKeepaliveSec: 1 });
    lab.nameClient('Laptop');
    kafka = await startKafkaMock();
    dnsPort = await freeUdpAndTcpPort();
    presenceHttp = await freePort();
    const edgeHttp = await freePort();
    const common = { KAFKA_BROKERS: kafka.brokers.join(','), GHOSTDNS_PRESENCE_SUFFIX: SUFFIX, GHOSTDNS_NODE_ID: 'e2e-presence' };
    processes.push(
      startTsx('presence-service', 'services/presence-service/src/main.ts', [], {
        ...common,
        GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${presenceHttp}`,
        GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES: lab.server,
        GHOSTDNS_PRESENCE_WIREGUARD_CONFIG_DIR: lab.configDir,
        GHOSTDNS_PRESENCE_POLL_INTERVAL: '0.5',
        GHOSTDNS_PRESENCE_HANDSHAKE_THRESHOLD: '300',
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
    await lab?.close();
    expect(codes).toEqual(processes.map(() => 0));
  });

  const resolves = (description: string) =>
    waitFor(async () => (await lookup(dnsPort, NAME)).addresses.join() === lab.clientAddress, { timeoutMs: 60_000, intervalMs: 200, description });
  const gone = (description: string) =>
    waitFor(async () => (await lookup(dnsPort, NAME)).rcode === 3, { timeoutMs: 60_000, intervalMs: 200, description });

  it('does not resolve before the peer handshakes, resolves while it is there, stops when it goes, resolves again when it returns', async () => {
    expect((await lookup(dnsPort, NAME)).rcode).toBe(3); // NXDOMAIN: presence names fail closed
    await lab.startClient();
    await resolves(`${NAME} to resolve once the peer handshakes`);
    expect((await lookup(dnsPort, NAME)).ttls).toEqual([5]);

    await lab.stopClient();
    await gone(`${NAME} to stop resolving once the peer is gone`);

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
});

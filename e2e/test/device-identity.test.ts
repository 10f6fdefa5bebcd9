import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScratchDatabase, freePort, freeUdpAndTcpPort, requireComponent, scratchDir, startTsx, waitFor, waitForHttp, type ManagedProcess,
} from '@ghostdns/testkit';
import { startWireGuardLab, type WireGuardLab } from '../../services/presence-service/test/support/wireguard-lab.js';
import { queryUdp } from './support.js';

// Identity behind NAT and custom domains (issue 6, items 3 and 6), on the home server's
// `ghostdns start`: a real WireGuard peer gets a hostname mapping with a custom domain
// through the API, resolves under it while it is there, and the queries it sends from its
// own tunnel address (through a veth into its namespace, as a resolver on the VPN server
// sees them) become rows that name the device, joinable with its presence history.

const SUFFIX = 'vpn.e2e.test';
const CUSTOM_DOMAIN = 'home.e2e.test';
const FQDN = `laptop.${CUSTOM_DOMAIN}`;

interface PresencePeer {
  source: string;
  device_id: string;
  fqdn: string | null;
  online: boolean;
  addresses: string[];
}

describe('a WireGuard peer is a device in analytics and answers under its custom domain (ghostdns start)', () => {
  let lab: WireGuardLab;
  let db: { url: string; drop(): Promise<void> };
  let data: { dir: string; remove(): void };
  let app: ManagedProcess;
  let base: string;
  let admin: string;
  let dnsPort: number;
  let dnsHost: string;
  let client: pg.Client;

  beforeAll(async () => {
    lab = await startWireGuardLab({ serverKeepaliveSec: 1, clientKeepaliveSec: 1, routeToHost: true });
    if (lab.hostAddress === null) throw new Error('the lab has no host address');
    dnsHost = lab.hostAddress;
    db = await createScratchDatabase(requireComponent('postgres'));
    data = scratchDir();
    dnsPort = await freeUdpAndTcpPort();
    const httpPort = await freePort();
    app = startTsx('ghostdns start', 'packages/cli/src/bin.ts', ['start'], {
      DATABASE_URL: db.url,
      GHOSTDNS_DATA_DIR: data.dir,
      GHOSTDNS_LOG_LEVEL: 'warn',
      GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      // The VPN server's resolver: it listens where the tunnel's traffic is routed.
      GHOSTDNS_DNS_LISTEN: `${dnsHost}:${dnsPort}`,
      GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES: lab.server,
      GHOSTDNS_PRESENCE_WIREGUARD_CONFIG_DIR: lab.configDir,
      GHOSTDNS_PRESENCE_SUFFIX: SUFFIX,
      GHOSTDNS_PRESENCE_POLL_INTERVAL: '0.5',
      GHOSTDNS_PRESENCE_HANDSHAKE_THRESHOLD: '30',
    });
    base = `http://127.0.0.1:${httpPort}`;
    await waitForHttp(`${base}/readyz`, [app], 300_000);
    admin = readFileSync(path.join(data.dir, 'admin.token'), 'utf8').trim();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    const code = await app?.stop('SIGTERM');
    await lab?.close();
    await db?.drop();
    data?.remove();
    expect(code).toBe(0);
  });

  const addressesOf = async (name: string): Promise<string[]> =>
    ((await queryUdp(dnsPort, name, 'A', dnsHost)).answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : []));

  it('maps the peer with a custom domain through the API; it answers there while online', async () => {
    const put = await fetch(`${base}/api/v1/presence/mappings/wireguard/${encodeURIComponent(lab.clientPublicKey)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ name: 'Laptop', custom_domain: CUSTOM_DOMAIN }),
    });
    expect(put.status).toBeLessThan(300);
    expect(await addressesOf(FQDN)).toEqual([]);
    await lab.startClient();
    await waitFor(async () => (await addressesOf(FQDN)).join() === lab.clientAddress, {
      timeoutMs: 60_000, intervalMs: 200, description: `${FQDN} to resolve once the peer handshakes`,
    });
    await waitFor(async () => (await addressesOf(`laptop.${lab.server}.${CUSTOM_DOMAIN}`)).join() === lab.clientAddress, {
      timeoutMs: 10_000, intervalMs: 200, description: 'the instance name under the custom domain',
    });
    // The suffix no longer names it: the custom domain replaces it.
    expect(await addressesOf(`laptop.${SUFFIX}`)).toEqual([]);
  });

  it('stores the query the peer sends from its tunnel address with its identity, joinable with its presence history', async () => {
    const qname = `whoami-${Date.now()}.${CUSTOM_DOMAIN}`;
    // dig inside the namespace, from the peer's own tunnel address, to the VPN server's resolver.
    await lab.runInNamespace('dig', ['+tries=1', '+time=3', '-b', lab.clientAddress, `@${dnsHost}`, '-p', String(dnsPort), qname, 'A']);
    const row = await waitFor(async () => {
      const { rows } = await client.query<{ client_ip: string; device_source: string | null; device_id: string | null; device_name: string | null }>(
        'SELECT host(client_ip) AS client_ip, device_source, device_id, device_name FROM dns_queries WHERE domain = $1', [qname]);
      return rows[0];
    }, { timeoutMs: 60_000, intervalMs: 250, description: `the row of ${qname}` });
    expect(row).toEqual({ client_ip: lab.clientAddress, device_source: 'wireguard', device_id: lab.clientPublicKey, device_name: 'laptop' });

    // Which device queried what while it was online: each query joined to the device's latest transition before it.
    const joined = await waitFor(async () => {
      const { rows } = await client.query<{ name: string; domain: string | null; online: boolean }>(
        `SELECT h.name, h.domain, h.online
           FROM dns_queries q
           CROSS JOIN LATERAL (
             SELECT name, domain, online FROM presence_history p
              WHERE p.source = q.device_source AND p.device_id = q.device_id AND p.observed_at <= q.queried_at
              ORDER BY p.observed_at DESC LIMIT 1) h
          WHERE q.domain = $1`, [qname]);
      return rows[0];
    }, { timeoutMs: 30_000, intervalMs: 250, description: 'the presence history of the device' });
    expect(joined).toEqual({ name: 'laptop', domain: CUSTOM_DOMAIN, online: true });
  });

  it('lists the peer online under its custom domain in /api/v1/presence/peers', async () => {
    const peer = await waitFor(async () => {
      const res = await fetch(`${base}/api/v1/presence/peers?online=true`, { headers: { authorization: `Bearer ${admin}` } });
      const peers = (await res.json()) as PresencePeer[];
      return peers.find((p) => p.device_id === lab.clientPublicKey);
    }, { timeoutMs: 30_000, intervalMs: 250, description: 'the peer in /api/v1/presence/peers' });
    expect(peer).toMatchObject({ source: 'wireguard', fqdn: FQDN, online: true });
    expect(peer?.addresses).toContain(lab.clientAddress);
  });
});

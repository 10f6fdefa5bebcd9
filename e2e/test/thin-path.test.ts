import { migrate, openDatabase } from '@ghostdns/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScratchDatabase, freePort, freeUdpAndTcpPort, requireComponent, scratchDir, startDnsmasq, startKafkaMock,
  startTsx, waitFor, waitForHttp, type KafkaMock, type ManagedProcess,
} from '@ghostdns/testkit';
import { connectLive, getStats, queryUdp } from './support.js';

// The walking skeleton's journey: a real UDP query to resolver-edge, forwarded to a
// real upstream (dnsmasq), one event on the bus, a row in dns_queries, counted by
// records-api and pushed to a WebSocket client — as five processes on Kafka, and as
// one standalone process, on PostgreSQL and on TimescaleDB.

const UPSTREAM_RECORDS = { 'thin.path.test': '192.0.2.53', 'second.path.test': '192.0.2.54' };

interface Engine {
  name: 'postgres' | 'timescaledb';
  databaseUrl(): Promise<{ url: string; drop(): Promise<void> }>;
}

const engines: Engine[] = [
  { name: 'postgres', databaseUrl: () => createScratchDatabase(requireComponent('postgres')) },
  { name: 'timescaledb', databaseUrl: migratedTimescale },
];

/**
 * The TimescaleDB stand-in is one PGlite session shared by every client, so PostgreSQL's
 * advisory lock cannot keep five processes from migrating it at once (each "session" is the
 * same session). Migrate it once first, as a deployment's migration job would.
 */
async function migratedTimescale(): Promise<{ url: string; drop(): Promise<void> }> {
  const url = requireComponent('timescaledb');
  const quiet = (): undefined => undefined;
  const db = await openDatabase(url, { logger: { debug: quiet, info: quiet, warn: quiet, error: quiet }, poolSize: 1 });
  try {
    await migrate(db, { logger: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
  } finally {
    await db.close();
  }
  return { url, drop: async () => {} };
}

let upstream: ManagedProcess;
let upstreamPort: number;

beforeAll(async () => {
  upstreamPort = await freeUdpAndTcpPort();
  upstream = startDnsmasq(upstreamPort, UPSTREAM_RECORDS);
  await waitFor(
    async () => {
      if (upstream.child.exitCode !== null) throw new Error(`dnsmasq exited: ${upstream.output()}`);
      try {
        const answer = await queryUdp(upstreamPort, 'thin.path.test');
        return answer.answers?.length === 1;
      } catch {
        return false;
      }
    },
    { timeoutMs: 15_000, intervalMs: 100, description: 'dnsmasq upstream to answer' },
  );
});

afterAll(async () => {
  await upstream?.stop();
});

async function expectJourney(dnsPort: number, httpBase: string, liveBase: string, name: string): Promise<void> {
  const before = await getStats(httpBase);
  const live = await connectLive(`${liveBase}/ws/events`);
  try {
    const answer = await queryUdp(dnsPort, name);
    expect((answer.flags ?? 0) & 0x000f).toBe(0); // RCODE NOERROR (RFC 1035 §4.1.1)
    const addresses = (answer.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : []));
    expect(addresses).toEqual([UPSTREAM_RECORDS[name as keyof typeof UPSTREAM_RECORDS]]);

    await waitFor(async () => (await getStats(httpBase)).queries_total === before.queries_total + 1, {
      timeoutMs: 60_000, intervalMs: 200, description: `${name} to be counted in /api/v1/stats`,
    });
    await waitFor(async () => live.events.some((e) => e.domain === name), {
      timeoutMs: 30_000, intervalMs: 100, description: `${name} on the WebSocket`,
    });
    const event = live.events.find((e) => e.domain === name);
    expect(event?.type).toBe('dns_query');
    expect(event?.client).toBe('127.0.0.1');
  } finally {
    live.close();
  }
}

describe.each(engines)('distributed: five processes on Kafka and $name', (engine) => {
  let kafka: KafkaMock;
  let db: { url: string; drop(): Promise<void> };
  const processes: ManagedProcess[] = [];
  const ports: Record<string, number> = {};
  let dnsPort: number;

  beforeAll(async () => {
    // Its own broker: consumer groups and topics start empty, so counts are exact.
    kafka = await startKafkaMock();
    db = await engine.databaseUrl();
    dnsPort = await freeUdpAndTcpPort();
    const services = ['resolver-edge', 'ingest-worker', 'presence-service', 'records-api', 'events-gateway'] as const;
    for (const service of services) {
      ports[service] = await freePort();
      processes.push(
        startTsx(service, `services/${service}/src/main.ts`, [], {
          KAFKA_BROKERS: kafka.brokers.join(','),
          DATABASE_URL: db.url,
          GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${ports[service]}`,
          GHOSTDNS_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
          GHOSTDNS_DNS_UPSTREAMS: `127.0.0.1:${upstreamPort}`,
          GHOSTDNS_NODE_ID: `e2e-${engine.name}`,
        }),
      );
    }
    // Five tsx processes compiling and migrating at once on two cores take a while.
    for (const service of services) {
      await waitForHttp(`http://127.0.0.1:${ports[service]}/readyz`, processes, 300_000);
    }
  });

  afterAll(async () => {
    const codes = await Promise.all(processes.map((p) => p.stop('SIGTERM')));
    await kafka?.stop();
    await db?.drop();
    // A clean SIGTERM shutdown exits 0 in every service.
    expect(codes).toEqual(processes.map(() => 0));
  });

  it('answers a UDP query and shows it in /api/v1/stats and on the WebSocket', async () => {
    await expectJourney(dnsPort, `http://127.0.0.1:${ports['records-api']}`, `ws://127.0.0.1:${ports['events-gateway']}`, 'thin.path.test');
  });

  it('every service reports healthy', async () => {
    for (const port of Object.values(ports)) {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(response.status).toBe(200);
    }
  });
});

describe.each(engines)('standalone: one process on $name', (engine) => {
  let db: { url: string; drop(): Promise<void> };
  let data: { dir: string; remove(): void };
  let app: ManagedProcess;
  let dnsPort: number;
  let httpPort: number;

  beforeAll(async () => {
    db = await engine.databaseUrl();
    data = scratchDir();
    dnsPort = await freeUdpAndTcpPort();
    httpPort = await freePort();
    app = startTsx('ghostdns start', 'packages/cli/src/bin.ts', ['start'], {
      DATABASE_URL: db.url,
      GHOSTDNS_DATA_DIR: data.dir,
      GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      GHOSTDNS_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      GHOSTDNS_DNS_UPSTREAMS: `127.0.0.1:${upstreamPort}`,
    });
    await waitForHttp(`http://127.0.0.1:${httpPort}/readyz`, [app]);
  });

  afterAll(async () => {
    const code = await app?.stop('SIGINT');
    await db?.drop();
    data?.remove();
    expect(code).toBe(0);
  });

  it('answers a UDP query and shows it in /api/v1/stats and on the WebSocket', async () => {
    await expectJourney(dnsPort, `http://127.0.0.1:${httpPort}`, `ws://127.0.0.1:${httpPort}`, 'thin.path.test');
  });
});

describe('standalone with the embedded PostgreSQL: a second start finds everything where it was', () => {
  it('keeps counted queries across a clean restart', async () => {
    const data = scratchDir();
    const dnsPort = await freeUdpAndTcpPort();
    const httpPort = await freePort();
    const env = {
      DATABASE_URL: undefined,
      GHOSTDNS_DATA_DIR: data.dir,
      GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      GHOSTDNS_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      GHOSTDNS_DNS_UPSTREAMS: `127.0.0.1:${upstreamPort}`,
    };
    const httpBase = `http://127.0.0.1:${httpPort}`;
    try {
      const first = startTsx('ghostdns start (1)', 'packages/cli/src/bin.ts', ['start'], env);
      await waitForHttp(`${httpBase}/readyz`, [first], 180_000);
      await expectJourney(dnsPort, httpBase, `ws://127.0.0.1:${httpPort}`, 'second.path.test');
      // SIGHUP reloads; it must not stop the process (nor its embedded PostgreSQL).
      first.child.kill('SIGHUP');
      await expectJourney(dnsPort, httpBase, `ws://127.0.0.1:${httpPort}`, 'thin.path.test');
      const counted = (await getStats(httpBase)).queries_total;
      expect(counted).toBe(2);
      expect(await first.stop('SIGINT')).toBe(0);

      const second = startTsx('ghostdns start (2)', 'packages/cli/src/bin.ts', ['start'], env);
      try {
        await waitForHttp(`${httpBase}/readyz`, [second], 180_000);
        expect((await getStats(httpBase)).queries_total).toBe(counted);
      } finally {
        expect(await second.stop('SIGINT')).toBe(0);
      }
    } finally {
      data.remove();
    }
  });
});

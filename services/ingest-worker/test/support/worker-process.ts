import net from 'node:net';
import { createKafkaBus, silentLogger, type EventBus } from '@ghostdns/bus';
import { BuiltinSchemaTable, createEventCodec, Topics, type QueryEvent } from '@ghostdns/contracts';
import { startTsx, type ManagedProcess } from '@ghostdns/testkit';
import pg from 'pg';
import { queryEvent } from '../fixtures.js';

/** The ingest worker as a real process (distributed mode), as in production; `env` overrides. */
export function startWorker(name: string, brokers: readonly string[], databaseUrl: string, env: NodeJS.ProcessEnv = {}): ManagedProcess {
  return startTsx(name, 'services/ingest-worker/src/main.ts', [], {
    KAFKA_BROKERS: brokers.join(','),
    DATABASE_URL: databaseUrl,
    GHOSTDNS_HTTP_LISTEN: '127.0.0.1:0',
    GHOSTDNS_LOG_LEVEL: 'warn',
    GHOSTDNS_ANALYTICS_ROLLUP_INTERVAL_SECONDS: '1',
    ...env,
  });
}

/** A Kafka producer with the production codec (Avro, Confluent wire format, built-in schema ids). */
export async function startProducer(brokers: readonly string[]): Promise<EventBus> {
  const codec = createEventCodec(new BuiltinSchemaTable());
  await codec.init();
  const bus = createKafkaBus({ brokers: [...brokers], clientId: 'ingest-no-loss-test', codec, logger: silentLogger });
  await bus.connect();
  return bus;
}

/** `count` valid events over the last few hours (several rollup hours), from three nodes and many clients. */
export function eventStream(count: number): QueryEvent[] {
  const now = Date.now() * 1000;
  return Array.from({ length: count }, (_, i) =>
    queryEvent({
      query_time_us: now - (i % 240) * 60_000_000 - i,
      response_time_us: now - (i % 240) * 60_000_000 - i + 800,
      node_id: `edge-${i % 3}`,
      pop: i % 3 === 0 ? 'ams1' : 'fra1',
      client_ip: `10.0.${i % 7}.${i % 250}`,
      qname: `host${i % 40}.example${i % 5}.co.uk`,
      rcode: i % 10 === 0 ? 3 : 0,
      cache_status: i % 2 === 0 ? 'HIT' : 'MISS',
    }),
  );
}

/** Publishes in chunks, calling `between` after each chunk (the test kills or cuts there). */
export async function publishInChunks(
  bus: EventBus,
  events: readonly QueryEvent[],
  chunk: number,
  between: (published: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    await bus.publish(Topics.queries, events.slice(i, i + chunk));
    await between(Math.min(events.length, i + chunk));
  }
}

export interface StoreTotals {
  rows: number;
  distinctEvents: number;
  nodeMinute: number;
  domainHourly: number;
  clientHourly: number;
  daily: number;
  nodes: number;
}

/** What the store holds for the test's events: raw rows and every aggregate's total. */
export async function storeTotals(client: pg.Pool): Promise<StoreTotals> {
  const { rows } = await client.query<Record<keyof StoreTotals, string>>(`
    SELECT (SELECT count(*) FROM dns_queries)::text AS "rows",
           (SELECT count(DISTINCT event_id) FROM dns_queries)::text AS "distinctEvents",
           (SELECT coalesce(sum(queries), 0) FROM dns_node_stats_1m)::text AS "nodeMinute",
           (SELECT coalesce(sum(hit_count), 0) FROM dns_domain_stats_1h)::text AS "domainHourly",
           (SELECT coalesce(sum(hit_count), 0) FROM dns_client_stats_1h)::text AS "clientHourly",
           (SELECT coalesce(sum(hit_count), 0) FROM dns_daily_stats)::text AS "daily",
           (SELECT count(*) FROM dns_nodes)::text AS "nodes"`);
  const row = rows[0];
  if (row === undefined) throw new Error('no totals');
  return {
    rows: Number(row.rows),
    distinctEvents: Number(row.distinctEvents),
    nodeMinute: Number(row.nodeMinute),
    domainHourly: Number(row.domainHourly),
    clientHourly: Number(row.clientHourly),
    daily: Number(row.daily),
    nodes: Number(row.nodes),
  };
}

/**
 * A TCP proxy to PostgreSQL the test can cut: while cut, every open connection is destroyed
 * and new ones are closed at once (what a database outage looks like to the worker).
 */
export class CuttableProxy {
  private readonly server = net.createServer((socket) => this.accept(socket));
  private readonly open = new Set<net.Socket>();
  private cut = false;
  /** Connections refused while cut (the worker's retries). */
  refused = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    return address.port;
  }

  setCut(cut: boolean): void {
    this.cut = cut;
    if (cut) for (const socket of this.open) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.cut) {
      this.refused++;
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

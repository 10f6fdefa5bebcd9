// Events without waiting, against a real Kafka: a private librdkafka mock
// cluster (kcat), a real upstream (dnsmasq), ResolverEdge publishing through
// KafkaBus with the contracts codec, and the disk spool. Mid-stream the broker
// process is frozen (SIGSTOP: its TCP connections stay up but nothing answers,
// which is what an unreachable broker looks like to a client), queries keep
// coming, then it is resumed (SIGCONT). Every query must be answered NOERROR,
// and every event must reach a consumer afterwards.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaBus, type BusLogger, type EventBus } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { BuiltinSchemaTable, createEventCodec, Topics } from '@ghostdns/contracts';
import {
  freeUdpAndTcpPort, startDnsmasq, startKafkaMock, trackedProcesses, waitFor, type KafkaMock, type ManagedProcess,
} from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { RecordingMetrics, rcodeOf } from './support.js';

const NAMES = 100;
const PHASE = 1_000; // queries before, during and after noticing the outage: 3,000 in all
const CONCURRENCY = 16;

const quietBusLogger: BusLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The kcat process under testkit's /bin/sh watchdog: the one whose brokers are frozen. */
function kcatPid(watchdogPid: number): number {
  const children = readFileSync(`/proc/${watchdogPid}/task/${watchdogPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  for (const pid of children) {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'kcat') return pid;
  }
  throw new Error(`no kcat under watchdog ${watchdogPid}`);
}

/** Sends `total` queries with at most CONCURRENCY in flight; resolves with the rcode (or failure) of each. */
async function queryLoad(port: number, first: number, total: number, answered: Map<string, number>, failures: string[]): Promise<void> {
  let next = first;
  const end = first + total;
  const worker = async (socket: Socket): Promise<void> => {
    while (next < end) {
      const i = next++;
      const name = `host${i % NAMES}.outage.test`;
      const id = i & 0xffff;
      const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });
      try {
        const answer = await new Promise<Buffer>((resolve, reject) => {
          const timer = setTimeout(() => {
            socket.off('message', onMessage);
            reject(new Error('no answer within 5 s'));
          }, 5_000);
          const onMessage = (m: Buffer): void => {
            if (m.length < 2 || m.readUInt16BE(0) !== id) return;
            clearTimeout(timer);
            socket.off('message', onMessage);
            resolve(m);
          };
          socket.on('message', onMessage);
          socket.send(query, port, '127.0.0.1');
        });
        const rcode = rcodeOf(answer);
        if (rcode !== 'NOERROR') failures.push(`${name}: ${rcode}`);
        else answered.set(name, (answered.get(name) ?? 0) + 1);
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      }
    }
  };
  const sockets = await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const s = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      return s;
    }),
  );
  try {
    await Promise.all(sockets.map(worker));
  } finally {
    for (const s of sockets) s.close();
  }
}

// Both event paths: built and published on the answer thread (standalone), and
// on the event thread with its own KafkaBus from config (distributed).
describe.each([
  { path: 'on the answer thread', eventThread: false },
  { path: 'on the event thread', eventThread: true },
])('events during a Kafka outage, published $path', ({ eventThread }) => {
  let kafka: KafkaMock;
  let kcat = 0;
  let dnsmasq: ManagedProcess;
  let upstreamPort = 0;
  const spoolDir = mkdtempSync(join(tmpdir(), 'ghostdns-outage-spool-'));
  const buses: EventBus[] = [];
  let edge: ResolverEdge | null = null;

  beforeAll(async () => {
    const before = new Set(trackedProcesses().map((p) => p.pid));
    kafka = await startKafkaMock();
    const watchdog = trackedProcesses().find((p) => p.name === 'kcat-mock-kafka' && !before.has(p.pid));
    if (watchdog === undefined) throw new Error('kcat mock process not found');
    kcat = kcatPid(watchdog.pid);

    upstreamPort = await freeUdpAndTcpPort();
    const records: Record<string, string> = {};
    for (let i = 0; i < NAMES; i++) records[`host${i}.outage.test`] = `192.0.2.${(i % 250) + 1}`;
    dnsmasq = startDnsmasq(upstreamPort, records);
    const probe = createSocket('udp4');
    try {
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 300);
            probe.once('message', () => {
              clearTimeout(timer);
              resolve(true);
            });
            probe.send(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'host0.outage.test', class: 'IN' }] }), upstreamPort, '127.0.0.1');
          }),
        { timeoutMs: 15_000, intervalMs: 100, description: 'dnsmasq answering' },
      );
    } finally {
      probe.close();
    }
  });

  afterAll(async () => {
    if (kcat > 0) {
      try {
        process.kill(kcat, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await edge?.stop({ drainTimeoutMs: 2_000, flushTimeoutMs: 2_000 });
    for (const b of buses) await b.close().catch(() => undefined);
    await kafka?.stop();
    await dnsmasq?.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('answers every query while the broker is frozen, spools the events and delivers all of them after', async () => {
    const codec = createEventCodec(new BuiltinSchemaTable());
    await codec.init();
    const bus = createKafkaBus({
      brokers: kafka.brokers, clientId: 'outage-edge', codec, logger: quietBusLogger, kafkaLogLevel: 'error',
      requestTimeoutMs: 5_000, connectionTimeoutMs: 2_000,
    });
    buses.push(bus);
    await bus.connect();

    const metrics = new RecordingMetrics();
    edge = new ResolverEdge({
      config: parseConfig({
        node: { id: 'edge-outage', pop: 'test' },
        kafka: { brokers: kafka.brokers },
        log: { level: 'error' },
        dns: { listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${upstreamPort}`], tcp: false, upstreamTimeoutMs: 2_000 },
        // Every query goes upstream: this test is about the event path, not the cache.
        cache: { maxBytes: 0 },
        spool: { maxBytes: 64 * 1024 * 1024, fsyncIntervalMs: 50 },
      }),
      publisher: bus,
      metrics,
      spoolDir,
      spool: { publishTimeoutMs: 1_500 },
      queue: { retryInitialMs: 100, retryMaxMs: 1_000 },
      eventThread: eventThread ? { clientIdSuffix: 'outage-edge-events' } : null,
    });
    const { udp } = await edge.start();

    const answered = new Map<string, number>();
    const failures: string[] = [];

    // 1. Bus up.
    await queryLoad(udp.port, 0, PHASE, answered, failures);
    await waitFor(() => edge?.eventQueueDepth === 0, { timeoutMs: 30_000, description: 'first events published' });

    // 2. Broker frozen: answering goes on; the sink notices (publish timeout) and spools.
    process.kill(kcat, 'SIGSTOP');
    await queryLoad(udp.port, PHASE, PHASE, answered, failures);
    await waitFor(() => metrics.count('spool_written') > 0, { timeoutMs: 30_000, description: 'events spooled to disk' });
    await queryLoad(udp.port, 2 * PHASE, PHASE, answered, failures);
    await waitFor(() => readdirSync(spoolDir).some((f) => f.endsWith('.seg')), { timeoutMs: 10_000, description: 'a spool segment on disk' });
    const spooled = metrics.count('spool_written');

    // 3. Broker back.
    process.kill(kcat, 'SIGCONT');
    expect(failures.slice(0, 10)).toEqual([]);
    expect([...answered.values()].reduce((a, b) => a + b, 0)).toBe(3 * PHASE);

    await waitFor(() => edge?.eventQueueDepth === 0 && metrics.spoolBytes === 0, { timeoutMs: 120_000, intervalMs: 200, description: 'spool replayed and emptied' });
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.seg'))).toEqual([]);

    // 4. A consumer reading the topic from the start sees every event (deduped on event_id, as the store does).
    const consumerBus = createKafkaBus({
      brokers: kafka.brokers, clientId: 'outage-consumer', codec, logger: quietBusLogger, kafkaLogLevel: 'error',
      maxWaitTimeInMs: 100, heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000,
    });
    buses.push(consumerBus);
    await consumerBus.connect();
    const seen = new Map<string, string>(); // event_id -> qname
    let deliveries = 0;
    await consumerBus.subscribe(
      Topics.queries,
      async (batch) => {
        for (const e of batch.values) {
          deliveries++;
          if (e.node_id === 'edge-outage') seen.set(e.event_id, e.qname);
        }
      },
      { groupId: 'outage-check', fromBeginning: true },
    );
    await waitFor(() => seen.size >= 3 * PHASE, { timeoutMs: 120_000, intervalMs: 200, description: `${3 * PHASE} distinct events consumed` });
    expect(seen.size).toBe(3 * PHASE);
    const perName = new Map<string, number>();
    for (const qname of seen.values()) perName.set(qname, (perName.get(qname) ?? 0) + 1);
    expect(perName).toEqual(answered);

    expect(spooled).toBeGreaterThan(0);
    expect(metrics.count('spool_replayed')).toBeGreaterThanOrEqual(spooled);
    expect(metrics.count('spool_dropped')).toBe(0);
    expect(metrics.count('events_dropped')).toBe(0);
    console.log(
      `outage: ${3 * PHASE} queries answered NOERROR; ${spooled} events spooled and replayed; ` +
        `${deliveries} deliveries for ${seen.size} distinct events (duplicates are at-least-once retries)`,
    );
  }, 300_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createKafkaBus, silentLogger, type EventBus, type Subscription } from '@ghostdns/bus';
import { Topics, type DeadLetter } from '@ghostdns/contracts';
import {
  createScratchDatabase,
  freePort,
  requireComponent,
  startKafkaMock,
  waitFor,
  waitForHttp,
  type KafkaMock,
  type ManagedProcess,
  type ScratchDatabase,
} from '@ghostdns/testkit';
import { PRESENCE_GROUP_ID } from '../src/tokens.js';
import { presenceEvent } from './fixtures.js';
import { startProducer, startWorker } from './support/worker-process.js';

// Distributed mode: the worker as a real process (main.ts) on a private Kafka mock and a scratch
// PostgreSQL database consumes presence.events.v1 (Avro) into presence_history, and what it cannot
// decode or refuses goes to dns.queries.dlq.v1 like the query consumer's.
const DEADLINE_MS = 120_000;

describe('ingest worker on Kafka: presence.events.v1', () => {
  let kafka: KafkaMock | undefined;
  let scratch: ScratchDatabase | undefined;
  let reader: pg.Pool | undefined;
  let producer: EventBus | undefined;
  let dlqSubscription: Subscription | undefined;
  let worker: ManagedProcess | undefined;
  let metricsUrl = '';
  const letters: DeadLetter[] = [];

  beforeAll(async () => {
    const server = requireComponent('postgres');
    kafka = await startKafkaMock();
    scratch = await createScratchDatabase(server);
    reader = new pg.Pool({ connectionString: scratch.url, max: 1 });
    producer = await startProducer(kafka.brokers);
    dlqSubscription = await producer.subscribe(
      Topics.queriesDeadLetter,
      async (batch) => {
        letters.push(...batch.values);
      },
      { groupId: 'presence-kafka-test-dlq', fromBeginning: true },
    );
    const port = await freePort();
    worker = startWorker('ingest-worker', kafka.brokers, scratch.url, { GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${port}` });
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, [worker], DEADLINE_MS);
  }, DEADLINE_MS * 2);

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await dlqSubscription?.close();
    await producer?.close();
    await reader?.end();
    await scratch?.drop();
    await kafka?.stop();
  });

  function output(): string {
    return worker?.output().slice(-4000) ?? '';
  }

  async function historyRows(ids: readonly string[]): Promise<number> {
    if (reader === undefined) throw new Error('no reader');
    const result = await reader.query<{ n: string }>('SELECT count(*)::text AS n FROM presence_history WHERE event_id = ANY($1::uuid[])', [ids]);
    return Number(result.rows[0]?.n ?? '0');
  }

  async function metric(pattern: RegExp): Promise<number> {
    return Number(pattern.exec(await (await fetch(metricsUrl)).text())?.[1] ?? '0');
  }

  async function until(condition: () => Promise<boolean> | boolean, description: string): Promise<void> {
    try {
      await waitFor(condition, { timeoutMs: DEADLINE_MS, intervalMs: 100, description });
    } catch (error) {
      throw new Error(`${String(error)}\n${output()}`, { cause: error });
    }
  }

  it('stores each transition once, a redelivered one included', async () => {
    if (producer === undefined) throw new Error('not set up');
    const online = presenceEvent();
    const offline = presenceEvent({ type: 'DEVICE_OFFLINE', observed_at_us: online.observed_at_us + 60_000_000 });
    await producer.publish(Topics.presence, [online, offline]);
    await until(async () => (await historyRows([online.event_id, offline.event_id])) === 2, 'two presence_history rows');

    const batches = /^ghostdns_ingest_presence_batches_total\{[^}]*\} (\d+)$/m;
    const before = await metric(batches);
    await producer.publish(Topics.presence, [online]);
    await until(async () => (await metric(batches)) > before, 'the redelivered event committed');
    expect(await historyRows([online.event_id, offline.event_id])).toBe(2);
    expect(await metric(/^ghostdns_ingest_presence_rows_total\{[^}]*\} (\d+)$/m)).toBe(2);
  });

  it('dead-letters what it cannot decode and what it refuses, with the reason, and counts both', async () => {
    if (kafka === undefined) throw new Error('not set up');
    // A producer whose "Avro" is garbage: the worker's bus cannot decode it.
    const garbage = Buffer.from('not-avro-presence');
    const rogue = createKafkaBus({
      brokers: kafka.brokers,
      clientId: 'presence-kafka-test-rogue',
      codec: {
        encode: () => garbage,
        decode: () => {
          throw new Error('write-only codec');
        },
      },
      logger: silentLogger,
    });
    await rogue.connect();
    try {
      await rogue.publish(Topics.presence, [presenceEvent()]);
    } finally {
      await rogue.close();
    }
    const refused = presenceEvent({ device_id: '' });
    await producer?.publish(Topics.presence, [refused]);

    const fromPresence = (): DeadLetter[] => letters.filter((l) => l.source_topic === Topics.presence);
    await until(() => fromPresence().length === 2, 'two dead letters from presence.events.v1');
    const [undecodable, mapped] = [fromPresence().find((l) => l.payload.equals(garbage)), fromPresence().find((l) => !l.payload.equals(garbage))];
    expect(undecodable?.reason).not.toBe('');
    expect(mapped?.reason).toBe('invalid_device: device_id=""');
    expect(JSON.parse(mapped?.payload.toString() ?? '{}')).toMatchObject({ event_id: refused.event_id });

    const labels = `topic="${Topics.presence}",group="${PRESENCE_GROUP_ID}"`;
    expect(await metric(new RegExp(`^ghostdns_bus_undecodable_messages_total\\{${labels}[^}]*\\} (\\d+)$`, 'm'))).toBe(1);
    expect(await metric(new RegExp(`^ghostdns_bus_dead_lettered_messages_total\\{${labels}[^}]*\\} (\\d+)$`, 'm'))).toBe(1);
    expect(await metric(/^ghostdns_ingest_presence_dead_lettered_total\{reason="invalid_device"[^}]*\} (\d+)$/m)).toBe(1);
  });
});

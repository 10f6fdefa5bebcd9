import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import kafkajs from 'kafkajs';
import { requireComponent, startKafkaMock } from '@ghostdns/testkit';
import { BuiltinSchemaTable, createEventCodec, Topics, type DeadLetter, type EventCodec } from '@ghostdns/contracts';
import { createKafkaBus, type EventBus, type KafkaBusOptions } from '../src/index.js';
import { runEventBusContract } from './contract.js';
import { makeQueryEvent, memoryLogger, uniqueId, waitFor } from './helpers.js';

// A private mock cluster: group re-joins are what these tests time, and the
// harness's shared broker carries every other file's groups and topics.
// requireComponent still fails the run when the harness has no Kafka at all.
requireComponent('kafka');
const kafka = await startKafkaMock();
afterAll(() => kafka.stop());
const brokers = kafka.brokers;
// The real wire format (Confluent framing + Avro) with the built-in schema ids.
const codec: EventCodec = createEventCodec(new BuiltinSchemaTable());
await codec.init();

function kafkaBus(overrides: Partial<KafkaBusOptions> = {}): EventBus {
  return createKafkaBus({
    brokers,
    clientId: uniqueId('bus-int'),
    codec,
    logger: memoryLogger(),
    retry: { initialMs: 50, maxMs: 500 },
    heartbeatIntervalMs: 500,
    sessionTimeoutMs: 10_000,
    maxWaitTimeInMs: 100,
    kafkaLogLevel: 'warn',
    ...overrides,
  });
}

// Group re-joins on the mock cluster take seconds each and far longer on a busy
// machine; these are deadlines for progress, not timing assertions.
vi.setConfig({ testTimeout: 240_000 });
runEventBusContract('KafkaBus', () => kafkaBus(), { timeoutMs: 100_000 });

describe('KafkaBus specifics', () => {
  let raw: kafkajs.Producer;
  beforeAll(async () => {
    const kafka = new kafkajs.Kafka({ brokers, clientId: uniqueId('raw'), logLevel: kafkajs.logLevel.NOTHING });
    raw = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await raw.connect();
  });
  afterAll(async () => {
    await raw?.disconnect();
  });

  it('dead-letters an undecodable message and keeps the partition flowing', async () => {
    const lags: { topic: string; partition: number; lag: number }[] = [];
    const bus = kafkaBus({
      deadLetterTopic: Topics.queriesDeadLetter,
      metrics: { consumerLag: (topic, _group, partition, lag) => void lags.push({ topic, partition, lag }) },
    });
    await bus.connect();
    try {
      const key = uniqueId('poison');
      const garbage = Buffer.from(`not-avro-${uniqueId('g')}`);
      const good = makeQueryEvent({ client_ip: key });
      const letters: DeadLetter[] = [];
      const seen: string[] = [];
      await bus.subscribe(
        Topics.queriesDeadLetter,
        async (b) => {
          letters.push(...b.values.filter((l) => l.payload.equals(garbage)));
        },
        { groupId: uniqueId('g-dlq'), fromBeginning: true },
      );
      await bus.subscribe(
        Topics.queries,
        async (b) => {
          seen.push(...b.values.filter((v) => v.client_ip === key).map((v) => v.event_id));
        },
        { groupId: uniqueId('g-poison'), fromBeginning: true },
      );
      // Same key, so the poison message sits right before the good one in one partition.
      await raw.send({ topic: Topics.queries, messages: [{ key, value: garbage }] });
      await bus.publish(Topics.queries, [good]);

      await waitFor(() => seen.includes(good.event_id), 'the good event behind the poison one', 45_000);
      await waitFor(() => letters.length >= 1, 'the dead letter', 45_000);
      const letter = letters[0];
      expect(letter.source_topic).toBe(Topics.queries);
      expect(letter.reason).toMatch(/^GHOSTDNS_CONTRACT_BAD_MAGIC/);
      expect(letter.offset).toMatch(/^\d+$/);
      expect(seen).toEqual([good.event_id]);
      // Consumer lag is reported per committed batch: a caught-up partition reads 0.
      expect(lags.some((l) => l.topic === Topics.queries && l.lag === 0)).toBe(true);
      expect(lags.every((l) => Number.isInteger(l.lag) && l.lag >= 0)).toBe(true);
    } finally {
      await bus.close();
    }
  });

  it('a handler slower than the session timeout runs once and its member stays in the group', async () => {
    const logger = memoryLogger();
    const sessionTimeoutMs = 6_000;
    const bus = kafkaBus({ logger, sessionTimeoutMs, heartbeatIntervalMs: 1_000, kafkaLogLevel: 'info' });
    await bus.connect();
    try {
      const key = uniqueId('slow');
      const event = makeQueryEvent({ client_ip: key });
      let calls = 0;
      let done = false;
      await bus.subscribe(
        Topics.queries,
        async (b) => {
          if (!b.values.some((v) => v.event_id === event.event_id)) return;
          calls++;
          // A slow sink: the handler outlives the session timeout by half again.
          // (The librdkafka mock is lenient about session timeouts, so test/heartbeat.test.ts
          // is what proves heartbeats are sent; this proves the slow path end to end.)
          await new Promise((resolve) => setTimeout(resolve, sessionTimeoutMs * 1.5));
          done = true;
        },
        { groupId: uniqueId('g-slow'), fromBeginning: true },
      );
      await bus.publish(Topics.queries, [event]);
      await waitFor(() => done, 'the slow handler to finish', 45_000);
      const joins = logger.lines.filter((l) => l.msg === 'Consumer has joined the group');
      expect(joins).toHaveLength(1);
      expect(calls).toBe(1);
      expect(bus.isHealthy()).toBe(true);
    } finally {
      await bus.close();
    }
  });

  it('without a dead-letter topic an undecodable message goes to onUndecodable and is skipped', async () => {
    const undecodable: { reason: string; offset: string; value: Buffer | null }[] = [];
    const bus = kafkaBus({
      onUndecodable: async (rawMsg, reason, position) => {
        undecodable.push({ reason, offset: position.offset, value: rawMsg.value });
      },
    });
    await bus.connect();
    try {
      const key = uniqueId('poison2');
      const garbage = Buffer.from([0xde, 0xad, 0xbe, 0xef, ...Buffer.from(key)]);
      const good = makeQueryEvent({ client_ip: key });
      const seen: string[] = [];
      await bus.subscribe(
        Topics.queries,
        async (b) => {
          seen.push(...b.values.filter((v) => v.client_ip === key).map((v) => v.event_id));
        },
        { groupId: uniqueId('g-poison2'), fromBeginning: true },
      );
      await raw.send({ topic: Topics.queries, messages: [{ key, value: garbage }] });
      await bus.publish(Topics.queries, [good]);
      await waitFor(() => seen.includes(good.event_id), 'the good event', 45_000);
      await waitFor(() => undecodable.some((u) => u.value?.equals(garbage)), 'the onUndecodable call', 45_000);
    } finally {
      await bus.close();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { EventBus } from '@ghostdns/bus';
import {
  createScratchDatabase,
  requireComponent,
  startKafkaMock,
  waitFor,
  type KafkaMock,
  type ManagedProcess,
  type ScratchDatabase,
} from '@ghostdns/testkit';
import {
  CuttableProxy,
  eventStream,
  publishInChunks,
  startProducer,
  startWorker,
  storeTotals,
  type StoreTotals,
} from './support/worker-process.js';

// Proof of no loss on plain PostgreSQL (a scratch database per test: the TimescaleDB stand-in
// is one shared session and cannot host a private database or be cut from one client).
const EVENTS = 3_000;
const CHUNK = 100;
const DEADLINE_MS = 240_000;

function complete(n: number): StoreTotals {
  return { rows: n, distinctEvents: n, nodeMinute: n, domainHourly: n, clientHourly: n, daily: n, nodes: 3 };
}

describe('ingest worker: no loss (real processes, Kafka mock, PostgreSQL)', () => {
  let kafka: KafkaMock | undefined;
  let scratch: ScratchDatabase | undefined;
  let reader: pg.Pool | undefined;
  let producer: EventBus | undefined;
  const workers: ManagedProcess[] = [];

  beforeEach(async () => {
    const server = requireComponent('postgres');
    kafka = await startKafkaMock();
    scratch = await createScratchDatabase(server);
    reader = new pg.Pool({ connectionString: scratch.url, max: 1 });
    producer = await startProducer(kafka.brokers);
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    workers.length = 0;
    await producer?.close();
    await reader?.end();
    await scratch?.drop();
    await kafka?.stop();
  });

  function output(): string {
    return workers.map((w) => `--- ${w.name} ---\n${w.output().slice(-3000)}`).join('\n');
  }

  async function rows(): Promise<number> {
    if (reader === undefined) throw new Error('no reader');
    try {
      return (await storeTotals(reader)).rows;
    } catch {
      return 0; // not migrated yet
    }
  }

  async function expectComplete(): Promise<void> {
    const pool = reader;
    if (pool === undefined) throw new Error('no reader');
    let last: StoreTotals | undefined;
    try {
      await waitFor(
        async () => {
          last = await storeTotals(pool).catch(() => undefined);
          return last !== undefined && JSON.stringify(last) === JSON.stringify(complete(EVENTS));
        },
        { timeoutMs: DEADLINE_MS, intervalMs: 250, description: `${EVENTS} rows and matching aggregates` },
      );
    } catch (error) {
      throw new Error(`${String(error)}; last totals ${JSON.stringify(last)}\n${output()}`, { cause: error });
    }
    expect(last).toEqual(complete(EVENTS));
  }

  it(
    'finds exactly N rows and matching aggregates after two SIGKILLs mid-stream',
    async () => {
      if (kafka === undefined || scratch === undefined || producer === undefined) throw new Error('not set up');
      const { brokers } = kafka;
      const dbUrl = scratch.url;
      let generation = 0;
      workers.push(startWorker(`ingest-worker#${generation}`, brokers, dbUrl));
      const killAt = new Set([1_000, 2_000]);

      await publishInChunks(producer, eventStream(EVENTS), CHUNK, async (published) => {
        if (!killAt.has(published)) return;
        // Mid-stream: the worker has stored some of what was published, not all of it.
        const before = await rows();
        await waitFor(async () => (await rows()) > before, {
          timeoutMs: DEADLINE_MS,
          intervalMs: 50,
          description: `worker #${generation} storing rows`,
        });
        const victim = workers[workers.length - 1];
        await victim?.stop('SIGKILL');
        generation++;
        workers.push(startWorker(`ingest-worker#${generation}`, brokers, dbUrl));
      });

      expect(generation).toBe(2);
      await expectComplete();
    },
    DEADLINE_MS * 2,
  );

  it(
    'loses nothing when the database goes away for a while mid-stream',
    async () => {
      if (kafka === undefined || scratch === undefined || producer === undefined) throw new Error('not set up');
      const target = new URL(scratch.url);
      const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || '5432') });
      const port = await proxy.listen();
      const viaProxy = new URL(scratch.url);
      viaProxy.port = String(port);
      try {
        workers.push(startWorker('ingest-worker', kafka.brokers, viaProxy.toString()));
        let outageDone = false;
        await publishInChunks(producer, eventStream(EVENTS), CHUNK, async (published) => {
          if (published === 1_000) {
            await waitFor(async () => (await rows()) > 0, { timeoutMs: DEADLINE_MS, intervalMs: 50, description: 'first rows' });
            proxy.setCut(true);
          } else if (published === 2_000) {
            // Down long enough for the worker to fail on the batches published meanwhile and
            // retry them several times with backoff.
            try {
              await waitFor(() => proxy.refused >= 4, { timeoutMs: DEADLINE_MS, intervalMs: 50, description: 'worker retries while the database is down' });
            } catch (error) {
              throw new Error(`${String(error)}\n${output()}`, { cause: error });
            }
            proxy.setCut(false);
            outageDone = true;
          }
        });
        expect(outageDone).toBe(true);
        expect(workers[0]?.child.exitCode).toBeNull();
        await expectComplete();
      } finally {
        await proxy.close();
      }
    },
    DEADLINE_MS * 2,
  );
});

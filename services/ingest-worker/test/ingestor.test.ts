import { describe, expect, it } from 'vitest';
import { createInProcessBus, silentLogger, type DecodedBatch, type EventBus } from '@ghostdns/bus';
import { Topics, type DeadLetter } from '@ghostdns/contracts';
import { PresenceIngestor, QueryIngestor, type RowWriter } from '../src/ingestor.js';
import { QueryEventMapper, type RejectReason } from '../src/mapper.js';
import type { PresenceRejectReason } from '../src/presence-mapper.js';
import type { IngestMetrics, PresenceMetrics } from '../src/ports.js';
import type { DnsQueryRow, PresenceHistoryRow } from '../src/row.js';
import { presenceEvent, queryEvent } from './fixtures.js';
import { RecordingLogger } from './support/recording-logger.js';

class RecordingMetrics implements IngestMetrics {
  readonly calls: string[] = [];
  readonly rejections: RejectReason[] = [];
  batchReceived(size: number): void {
    this.calls.push(`received:${size}`);
  }
  rejected(reason: RejectReason): void {
    this.rejections.push(reason);
  }
  dbWrite(seconds: number): void {
    this.calls.push(seconds >= 0 ? 'db' : 'db:negative');
  }
  batchCommitted(insertedRows: number): void {
    this.calls.push(`committed:${insertedRows}`);
  }
}

class RecordingPresenceMetrics implements PresenceMetrics {
  readonly calls: string[] = [];
  batchReceived(size: number): void {
    this.calls.push(`received:${size}`);
  }
  rejected(reason: PresenceRejectReason): void {
    this.calls.push(`rejected:${reason}`);
  }
  dbWrite(): void {
    this.calls.push('db');
  }
  batchCommitted(insertedRows: number): void {
    this.calls.push(`committed:${insertedRows}`);
  }
  deadLettered(reason: PresenceRejectReason): void {
    this.calls.push(`dead-lettered:${reason}`);
  }
  addressesDropped(count: number): void {
    this.calls.push(`addresses-dropped:${count}`);
  }
}

/** A writer whose commit the test controls. */
class ControlledWriter<Row extends { event_id: string } = DnsQueryRow> implements RowWriter<Row> {
  readonly batches: Row[][] = [];
  private pending: { resolve: (n: number) => void; reject: (e: Error) => void } | null = null;
  constructor(private readonly mode: 'manual' | 'dedupe' | Error) {}
  private readonly seen = new Set<string>();

  write(rows: readonly Row[]): Promise<number> {
    this.batches.push([...rows]);
    if (this.mode instanceof Error) return Promise.reject(this.mode);
    if (this.mode === 'dedupe') {
      let inserted = 0;
      for (const row of rows) {
        if (!this.seen.has(row.event_id)) inserted++;
        this.seen.add(row.event_id);
      }
      return Promise.resolve(inserted);
    }
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
  }

  commit(n: number): void {
    this.pending?.resolve(n);
  }
}

function batch(values = [queryEvent(), queryEvent()]): DecodedBatch<typeof Topics.queries> {
  return { topic: Topics.queries, partition: 2, values, lastOffset: '41' };
}

function setup(writer: ControlledWriter) {
  const metrics = new RecordingMetrics();
  const logger = new RecordingLogger();
  const ingestor = new QueryIngestor(new QueryEventMapper(), writer, metrics, logger);
  return { metrics, logger, ingestor };
}

describe('QueryIngestor', () => {
  it('resolves the handler only after the write committed', async () => {
    const writer = new ControlledWriter('manual');
    const { ingestor, metrics } = setup(writer);
    let settled = false;
    const handled = ingestor.handle(batch()).then(() => {
      settled = true;
    });
    // Let every already-queued microtask run: the handler must still be waiting on the write.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(writer.batches).toHaveLength(1);
    expect(settled).toBe(false);
    expect(metrics.calls).toEqual(['received:2']);
    writer.commit(2);
    await handled;
    expect(settled).toBe(true);
    expect(metrics.calls).toEqual(['received:2', 'db', 'committed:2']);
  });

  it('rejects when the database fails, so the bus redelivers', async () => {
    const writer = new ControlledWriter(new Error('connection terminated'));
    const { ingestor, metrics, logger } = setup(writer);
    await expect(ingestor.handle(batch())).rejects.toThrow('connection terminated');
    expect(metrics.calls).toEqual(['received:2', 'db']);
    expect(logger.lines.map((l) => l.level)).toEqual(['error']);
  });

  it('counts and logs rejected events and writes the rest', async () => {
    const writer = new ControlledWriter('dedupe');
    const { ingestor, metrics, logger } = setup(writer);
    const good = queryEvent();
    const outcome = await ingestor.ingest([good, queryEvent({ qname: '' }), queryEvent({ client_ip: 'nope' })]);
    expect(outcome.inserted).toBe(1);
    expect(outcome.rejected.map((r) => r.reason)).toEqual(['empty_qname', 'invalid_client_ip']);
    expect(metrics.rejections).toEqual(['empty_qname', 'invalid_client_ip']);
    expect(writer.batches[0]?.map((r) => r.event_id)).toEqual([good.event_id]);

    await ingestor.handle(batch([queryEvent({ qname: '' })]));
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ level: 'warn', obj: { rejected: 1, partition: 2, lastOffset: '41' } });
  });

  it('does not touch the database when every event is rejected', async () => {
    const writer = new ControlledWriter('dedupe');
    const { ingestor, metrics } = setup(writer);
    const outcome = await ingestor.ingest([queryEvent({ qname: '' })]);
    expect(outcome).toMatchObject({ inserted: 0, duplicates: 0 });
    expect(writer.batches).toHaveLength(0);
    expect(metrics.calls).toEqual(['received:1', 'committed:0']);
  });

  it('reports a redelivered batch as duplicates', async () => {
    const writer = new ControlledWriter('dedupe');
    const { ingestor } = setup(writer);
    const values = [queryEvent(), queryEvent()];
    expect(await ingestor.ingest(values)).toMatchObject({ inserted: 2, duplicates: 0 });
    expect(await ingestor.ingest(values)).toMatchObject({ inserted: 0, duplicates: 2 });
  });
});

describe('QueryIngestor dead letters', () => {
  it('publishes refused events with their reason before the handler resolves', async () => {
    const letters: DeadLetter[] = [];
    const metrics = new RecordingMetrics();
    const ingestor = new QueryIngestor(new QueryEventMapper(), new ControlledWriter('dedupe'), metrics, new RecordingLogger(), {
      publish: (batchOfLetters) => {
        letters.push(...batchOfLetters);
        return Promise.resolve();
      },
    });
    const bad = queryEvent({ qname: '' });
    await ingestor.handle(batch([queryEvent(), bad]));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ source_topic: Topics.queries, partition: 2, offset: '41' });
    expect(letters[0]?.reason).toMatch(/^empty_qname: qname=/);
    expect(JSON.parse(letters[0]?.payload.toString() ?? '{}')).toMatchObject({ event_id: bad.event_id });
  });

  it('rejects when the dead-letter topic is unreachable, so nothing is committed', async () => {
    const ingestor = new QueryIngestor(new QueryEventMapper(), new ControlledWriter('dedupe'), new RecordingMetrics(), new RecordingLogger(), {
      publish: () => Promise.reject(new Error('broker down')),
    });
    await expect(ingestor.handle(batch([queryEvent({ qname: '' })]))).rejects.toThrow('broker down');
  });
});

/** A writer failing its first call: the database is down, then back. */
function failingOnce<Row extends { event_id: string }>(attempts: string[][]): RowWriter<Row> {
  let failuresLeft = 1;
  return {
    async write(rows) {
      attempts.push(rows.map((r) => r.event_id));
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error('database is down');
      }
      return rows.length;
    },
  };
}

describe.each([
  {
    topic: Topics.queries,
    subscribe: (bus: EventBus, attempts: string[][]) =>
      bus.subscribe(Topics.queries, new QueryIngestor(new QueryEventMapper(), failingOnce(attempts), new RecordingMetrics(), new RecordingLogger()).handle, {
        groupId: 'ingest-worker',
      }),
    publish: (bus: EventBus) => {
      const events = [queryEvent({ client_ip: '10.0.0.1' }), queryEvent({ client_ip: '10.0.0.1' })];
      return bus.publish(Topics.queries, events).then(() => events.map((e) => e.event_id));
    },
  },
  {
    topic: Topics.presence,
    subscribe: (bus: EventBus, attempts: string[][]) =>
      bus.subscribe(Topics.presence, new PresenceIngestor(failingOnce(attempts), new RecordingPresenceMetrics(), new RecordingLogger()).handle, {
        groupId: 'ingest-worker-presence',
      }),
    publish: (bus: EventBus) => {
      const events = [presenceEvent(), presenceEvent({ type: 'DEVICE_OFFLINE' })];
      return bus.publish(Topics.presence, events).then(() => events.map((e) => e.event_id));
    },
  },
])('the $topic ingestor on the in-process bus', ({ subscribe, publish }) => {
  it('gets a batch again after a database error, and the replay is stored', async () => {
    const attempts: string[][] = [];
    const bus = createInProcessBus({ logger: silentLogger, retry: { initialMs: 1, maxMs: 5 } });
    await bus.connect();
    const subscription = await subscribe(bus, attempts);
    try {
      const ids = await publish(bus);
      const deadline = Date.now() + 5_000;
      while (attempts.length < 2 && Date.now() < deadline) await new Promise<void>((r) => setTimeout(r, 5));
      expect(attempts).toHaveLength(2);
      expect(attempts[1]).toEqual(attempts[0]);
      expect(attempts[0]).toEqual(ids);
    } finally {
      await subscription.close();
      await bus.close();
    }
  });
});

function presenceBatch(values = [presenceEvent(), presenceEvent()]): DecodedBatch<typeof Topics.presence> {
  return { topic: Topics.presence, partition: 1, values, lastOffset: '7' };
}

describe('PresenceIngestor', () => {
  function setupPresence(writer: ControlledWriter<PresenceHistoryRow>, letters?: DeadLetter[] | Error) {
    const metrics = new RecordingPresenceMetrics();
    const logger = new RecordingLogger();
    const deadLetters =
      letters === undefined
        ? undefined
        : {
            publish: (batchOfLetters: readonly DeadLetter[]) => {
              if (letters instanceof Error) return Promise.reject(letters);
              letters.push(...batchOfLetters);
              return Promise.resolve();
            },
          };
    return { metrics, logger, ingestor: new PresenceIngestor(writer, metrics, logger, deadLetters) };
  }

  it('resolves the handler only after the write committed', async () => {
    const writer = new ControlledWriter<PresenceHistoryRow>('manual');
    const { ingestor, metrics } = setupPresence(writer);
    let settled = false;
    const handled = ingestor.handle(presenceBatch()).then(() => {
      settled = true;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(writer.batches).toHaveLength(1);
    expect(settled).toBe(false);
    writer.commit(2);
    await handled;
    expect(metrics.calls).toEqual(['received:2', 'db', 'committed:2']);
  });

  it('rejects when the database fails, so the bus redelivers', async () => {
    const { ingestor, metrics, logger } = setupPresence(new ControlledWriter(new Error('connection terminated')));
    await expect(ingestor.handle(presenceBatch())).rejects.toThrow('connection terminated');
    expect(metrics.calls).toEqual(['received:2', 'db']);
    expect(logger.lines).toMatchObject([{ level: 'error', obj: { topic: Topics.presence, partition: 1, lastOffset: '7' } }]);
  });

  it('reports a redelivered batch as duplicates', async () => {
    const { ingestor } = setupPresence(new ControlledWriter('dedupe'));
    const values = [presenceEvent(), presenceEvent({ type: 'DEVICE_OFFLINE' })];
    expect(await ingestor.ingest(values)).toMatchObject({ inserted: 2, duplicates: 0 });
    expect(await ingestor.ingest(values)).toMatchObject({ inserted: 0, duplicates: 2 });
  });

  it('writes an event with its invalid addresses dropped, counting and logging them', async () => {
    const writer = new ControlledWriter<PresenceHistoryRow>('dedupe');
    const { ingestor, metrics, logger } = setupPresence(writer);
    const event = presenceEvent({ addresses: ['10.8.0.2/32', 'fe80::1%wg0', 'nope'] });
    await ingestor.handle(presenceBatch([event]));
    expect(writer.batches[0]?.map((r) => r.addresses)).toEqual([['10.8.0.2']]);
    expect(metrics.calls).toEqual(['received:1', 'addresses-dropped:2', 'db', 'committed:1']);
    expect(logger.lines).toMatchObject([
      { level: 'warn', obj: { event_id: event.event_id, device_id: event.device_id, invalid: ['fe80::1%wg0', 'nope'] } },
    ]);
  });

  it('dead-letters refused events with their reason and source topic before resolving, and writes the rest', async () => {
    const writer = new ControlledWriter<PresenceHistoryRow>('dedupe');
    const letters: DeadLetter[] = [];
    const { ingestor, metrics, logger } = setupPresence(writer, letters);
    const good = presenceEvent();
    const bad = presenceEvent({ observed_at_us: -1 });
    await ingestor.handle(presenceBatch([good, bad]));
    expect(writer.batches[0]?.map((r) => r.event_id)).toEqual([good.event_id]);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ source_topic: Topics.presence, partition: 1, offset: '7', reason: 'invalid_observed_at: observed_at_us=-1' });
    expect(JSON.parse(letters[0]?.payload.toString() ?? '{}')).toMatchObject({ event_id: bad.event_id });
    expect(metrics.calls).toEqual(['received:2', 'rejected:invalid_observed_at', 'db', 'committed:1', 'dead-lettered:invalid_observed_at']);
    expect(logger.lines).toMatchObject([
      { level: 'warn', obj: { topic: Topics.presence, rejected: 1, samples: [{ event_id: bad.event_id, reason: 'invalid_observed_at' }] } },
    ]);
  });

  it('rejects when the dead-letter topic is unreachable, so nothing is committed', async () => {
    const { ingestor, metrics } = setupPresence(new ControlledWriter('dedupe'), new Error('broker down'));
    await expect(ingestor.handle(presenceBatch([presenceEvent({ device_id: '' })]))).rejects.toThrow('broker down');
    expect(metrics.calls).not.toContain('dead-lettered:invalid_device');
  });
});

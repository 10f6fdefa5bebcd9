import { describe, expect, it } from 'vitest';
import { createInProcessBus, silentLogger, type DecodedBatch } from '@ghostdns/bus';
import { Topics, type DeadLetter } from '@ghostdns/contracts';
import { QueryIngestor, type RowWriter } from '../src/ingestor.js';
import { QueryEventMapper, type RejectReason } from '../src/mapper.js';
import type { IngestLogger, IngestMetrics } from '../src/ports.js';
import type { DnsQueryRow } from '../src/row.js';
import { queryEvent } from './fixtures.js';

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

class RecordingLogger implements IngestLogger {
  readonly lines: { level: string; obj: object | string; msg?: string }[] = [];
  info(obj: object | string, msg?: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object | string, msg?: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object | string, msg?: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
}

/** A writer whose commit the test controls. */
class ControlledWriter implements RowWriter {
  readonly batches: DnsQueryRow[][] = [];
  private pending: { resolve: (n: number) => void; reject: (e: Error) => void } | null = null;
  constructor(private readonly mode: 'manual' | 'dedupe' | Error) {}
  private readonly seen = new Set<string>();

  write(rows: readonly DnsQueryRow[]): Promise<number> {
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

describe('QueryIngestor on the in-process bus', () => {
  it('gets a batch again after a database error, and the replay is stored', async () => {
    const attempts: string[][] = [];
    let failuresLeft = 1;
    const writer: RowWriter = {
      async write(rows) {
        attempts.push(rows.map((r) => r.event_id));
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new Error('database is down');
        }
        return rows.length;
      },
    };
    const bus = createInProcessBus({ logger: silentLogger, retry: { initialMs: 1, maxMs: 5 } });
    await bus.connect();
    const ingestor = new QueryIngestor(new QueryEventMapper(), writer, new RecordingMetrics(), new RecordingLogger());
    const subscription = await bus.subscribe(Topics.queries, ingestor.handle, { groupId: 'ingest-worker' });
    try {
      const events = [queryEvent({ client_ip: '10.0.0.1' }), queryEvent({ client_ip: '10.0.0.1' })];
      await bus.publish(Topics.queries, events);
      const deadline = Date.now() + 5_000;
      while (attempts.length < 2 && Date.now() < deadline) await new Promise<void>((r) => setTimeout(r, 5));
      expect(attempts).toHaveLength(2);
      expect(attempts[1]).toEqual(attempts[0]);
      expect(attempts[0]).toEqual(events.map((e) => e.event_id));
    } finally {
      await subscription.close();
      await bus.close();
    }
  });
});

import type { DecodedBatch } from '@ghostdns/bus';
import type { DeadLetter, QueryEvent, Topics } from '@ghostdns/contracts';
import type { QueryEventMapper, RejectedEvent } from './mapper.js';
import type { DeadLetterPublisher, IngestLogger, IngestMetrics } from './ports.js';
import type { DnsQueryRow } from './row.js';

/** The part of QueryEventWriter the ingestor uses. */
export interface RowWriter {
  write(rows: readonly DnsQueryRow[]): Promise<number>;
}

export interface IngestOutcome {
  /** Rows newly stored. */
  inserted: number;
  /** Valid rows that were already stored (a redelivered batch). */
  duplicates: number;
  /** Events refused by the mapper; handle() routes them to dns.queries.dlq.v1. */
  rejected: RejectedEvent[];
}

/**
 * Maps and writes batches of QueryEvents. `handle` is the BatchHandler given
 * to the bus: it resolves only after the write transaction committed, so the
 * bus commits offsets only for durable rows; a database error rejects and the
 * bus redelivers the batch (the unique key makes the replay idempotent).
 * Refused events are published to the dead-letter topic (when a publisher is
 * given) before the handler resolves, so the offset that skips them is
 * committed only once they are durable there.
 */
export class QueryIngestor {
  constructor(
    private readonly mapper: QueryEventMapper,
    private readonly writer: RowWriter,
    private readonly metrics: IngestMetrics,
    private readonly logger: IngestLogger,
    private readonly deadLetters?: DeadLetterPublisher,
  ) {}

  readonly handle = async (batch: DecodedBatch<typeof Topics.queries>): Promise<void> => {
    let outcome: IngestOutcome;
    try {
      outcome = await this.ingest(batch.values);
    } catch (error) {
      this.logger.error(
        { topic: batch.topic, partition: batch.partition, lastOffset: batch.lastOffset, size: batch.values.length, err: error },
        'ingest batch failed; offsets not committed, the bus will redeliver',
      );
      throw error;
    }
    if (outcome.rejected.length > 0) {
      await this.deadLetter(batch, outcome.rejected);
      this.logger.warn(
        {
          topic: batch.topic,
          partition: batch.partition,
          lastOffset: batch.lastOffset,
          rejected: outcome.rejected.length,
          samples: outcome.rejected.slice(0, 5).map((r) => ({ event_id: r.event.event_id, reason: r.reason, detail: r.detail })),
        },
        'query events rejected',
      );
    }
  };

  private async deadLetter(batch: DecodedBatch<typeof Topics.queries>, rejected: readonly RejectedEvent[]): Promise<void> {
    if (this.deadLetters === undefined) return;
    const letters: DeadLetter[] = rejected.map((r) => ({
      source_topic: batch.topic,
      partition: batch.partition,
      // The bus hands the handler decoded values without their own offsets: the batch's last
      // offset locates the message to within its batch; the payload carries its event_id.
      offset: batch.lastOffset,
      reason: `${r.reason}: ${r.detail}`,
      // The decoded event as JSON: the Avro bytes are not passed to handlers.
      payload: Buffer.from(JSON.stringify(r.event)),
    }));
    try {
      await this.deadLetters.publish(letters);
    } catch (error) {
      this.logger.error(
        { topic: batch.topic, partition: batch.partition, lastOffset: batch.lastOffset, rejected: letters.length, err: error },
        'dead-lettering refused events failed; offsets not committed, the bus will redeliver',
      );
      throw error;
    }
    for (const r of rejected) this.metrics.deadLettered?.(r.reason);
  }

  async ingest(values: readonly QueryEvent[]): Promise<IngestOutcome> {
    this.metrics.batchReceived(values.length);
    const { rows, rejected } = this.mapper.mapBatch(values);
    for (const r of rejected) this.metrics.rejected(r.reason);

    let inserted = 0;
    if (rows.length > 0) {
      const started = process.hrtime.bigint();
      try {
        inserted = await this.writer.write(rows);
      } finally {
        this.metrics.dbWrite(Number(process.hrtime.bigint() - started) / 1e9);
      }
    }
    this.metrics.batchCommitted(inserted);
    const newest = rows.reduce<string | null>((max, row) => (max === null || row.queried_at > max ? row.queried_at : max), null);
    if (newest !== null) this.metrics.eventLag?.((Date.now() - Date.parse(newest)) / 1000);
    return { inserted, duplicates: rows.length - inserted, rejected };
  }
}

import type { DecodedBatch } from '@ghostdns/bus';
import type { QueryEvent, Topics } from '@ghostdns/contracts';
import type { QueryEventMapper, RejectedEvent } from './mapper.js';
import type { IngestLogger, IngestMetrics } from './ports.js';
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
  /** Events refused by the mapper; a later issue routes them to dns.queries.dlq.v1. */
  rejected: RejectedEvent[];
}

/**
 * Maps and writes batches of QueryEvents. `handle` is the BatchHandler given
 * to the bus: it resolves only after the write transaction committed, so the
 * bus commits offsets only for durable rows; a database error rejects and the
 * bus redelivers the batch (the unique key makes the replay idempotent).
 */
export class QueryIngestor {
  constructor(
    private readonly mapper: QueryEventMapper,
    private readonly writer: RowWriter,
    private readonly metrics: IngestMetrics,
    private readonly logger: IngestLogger,
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
    return { inserted, duplicates: rows.length - inserted, rejected };
  }
}

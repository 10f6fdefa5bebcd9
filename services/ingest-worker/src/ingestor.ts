import type { DecodedBatch } from '@ghostdns/bus';
import { Topics, type DeadLetter, type PresenceEvent, type TopicName, type TopicPayloads } from '@ghostdns/contracts';
import type { QueryEventMapper, RejectReason } from './mapper.js';
import type { MappedBatch, RejectedEvent } from './mapping.js';
import { PresenceEventMapper, type PresenceRejectReason } from './presence-mapper.js';
import type { DeadLetterPublisher, IngestLogger, IngestMetrics, PresenceMetrics, StreamMetrics } from './ports.js';
import type { DnsQueryRow, PresenceHistoryRow } from './row.js';

/** The part of a TableWriter the ingestor uses. */
export interface RowWriter<Row> {
  write(rows: readonly Row[]): Promise<number>;
}

export interface IngestOutcome<Event, Reason extends string> {
  /** Rows newly stored. */
  inserted: number;
  /** Valid rows that were already stored (a redelivered batch). */
  duplicates: number;
  /** Events refused by the mapper; handle() routes them to the dead-letter topic. */
  rejected: RejectedEvent<Event, Reason>[];
}

/** Topics whose events carry an event_id (the ones stored with a unique key on it). */
export type EventTopic = { [K in TopicName]: TopicPayloads[K] extends { event_id: string } ? K : never }[TopicName];

/** What an Ingestor consumes one topic with. */
export interface IngestStream<K extends EventTopic, Row, Reason extends string> {
  readonly topic: K;
  readonly mapper: { mapBatch(events: readonly TopicPayloads[K][]): MappedBatch<TopicPayloads[K], Row, Reason> };
  readonly writer: RowWriter<Row>;
  readonly metrics: StreamMetrics<Reason>;
  /** The row's event time (ISO 8601, UTC): the newest of a batch gives the lag. */
  readonly eventTime: (row: Row) => string;
}

/**
 * Maps and writes batches of one topic's events. `handle` is the BatchHandler
 * given to the bus: it resolves only after the write transaction committed, so
 * the bus commits offsets only for durable rows; a database error rejects and
 * the bus redelivers the batch (the unique key makes the replay idempotent).
 * Refused events are published to the dead-letter topic (when a publisher is
 * given) before the handler resolves, so the offset that skips them is
 * committed only once they are durable there.
 */
export class Ingestor<K extends EventTopic, Row, Reason extends string> {
  readonly topic: K;

  constructor(
    private readonly stream: IngestStream<K, Row, Reason>,
    private readonly logger: IngestLogger,
    private readonly deadLetters?: DeadLetterPublisher,
  ) {
    this.topic = stream.topic;
  }

  readonly handle = async (batch: DecodedBatch<K>): Promise<void> => {
    let outcome: IngestOutcome<TopicPayloads[K], Reason>;
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
        'events rejected',
      );
    }
  };

  private async deadLetter(batch: DecodedBatch<K>, rejected: readonly RejectedEvent<TopicPayloads[K], Reason>[]): Promise<void> {
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
    for (const r of rejected) this.stream.metrics.deadLettered?.(r.reason);
  }

  async ingest(values: readonly TopicPayloads[K][]): Promise<IngestOutcome<TopicPayloads[K], Reason>> {
    const { mapper, writer, metrics, eventTime } = this.stream;
    metrics.batchReceived(values.length);
    const { rows, rejected } = mapper.mapBatch(values);
    for (const r of rejected) metrics.rejected(r.reason);

    let inserted = 0;
    if (rows.length > 0) {
      const started = process.hrtime.bigint();
      try {
        inserted = await writer.write(rows);
      } finally {
        metrics.dbWrite(Number(process.hrtime.bigint() - started) / 1e9);
      }
    }
    metrics.batchCommitted(inserted);
    const newest = rows.reduce<string | null>((max, row) => {
      const time = eventTime(row);
      return max === null || time > max ? time : max;
    }, null);
    if (newest !== null) metrics.eventLag?.((Date.now() - Date.parse(newest)) / 1000);
    return { inserted, duplicates: rows.length - inserted, rejected };
  }
}

/** dns.queries.v1 into dns_queries. */
export class QueryIngestor extends Ingestor<typeof Topics.queries, DnsQueryRow, RejectReason> {
  constructor(
    mapper: QueryEventMapper,
    writer: RowWriter<DnsQueryRow>,
    metrics: IngestMetrics,
    logger: IngestLogger,
    deadLetters?: DeadLetterPublisher,
  ) {
    super({ topic: Topics.queries, mapper, writer, metrics, eventTime: (row) => row.queried_at }, logger, deadLetters);
  }
}

/**
 * presence.events.v1 into presence_history. Addresses inet cannot hold are
 * dropped from their event (which is kept), counted and logged.
 */
export class PresenceIngestor extends Ingestor<typeof Topics.presence, PresenceHistoryRow, PresenceRejectReason> {
  constructor(
    writer: RowWriter<PresenceHistoryRow>,
    metrics: PresenceMetrics,
    logger: IngestLogger,
    deadLetters?: DeadLetterPublisher,
  ) {
    const mapper = new PresenceEventMapper((event: PresenceEvent, invalid) => {
      metrics.addressesDropped(invalid.length);
      logger.warn({ event_id: event.event_id, device_id: event.device_id, invalid }, 'invalid presence addresses dropped');
    });
    super({ topic: Topics.presence, mapper, writer, metrics, eventTime: (row) => row.observed_at }, logger, deadLetters);
  }
}

import type { DecodedBatch } from '@ghostdns/bus';
import { Topics, type DeadLetter, type PresenceEvent, type TopicName, type TopicPayloads } from '@ghostdns/contracts';
import type { QueryEventMapper, RejectReason } from './mapper.js';
import type { MappedBatch, RejectedEvent } from './mapping.js';
import { PresenceEventMapper, type PresenceRejectReason } from './presence-mapper.js';
import type { DeadLetterPublisher, IngestLogger, IngestMetrics, PresenceMetrics, SecurityMetrics, StreamMetrics } from './ports.js';
import type { DnsQueryRow, PresenceHistoryRow, SecurityEventRow } from './row.js';
import { SecurityEventMapper, type SecurityRejectReason } from './security-mapper.js';

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

/**
 * Sees each batch's rows once the batch is durable (written, refused events dead-lettered), so a
 * redelivered batch that failed before is not seen twice. Must neither throw nor wait: the handler
 * resolves right after it, and the bus commits.
 */
export interface BatchObserver<Row> {
  observe(rows: readonly Row[]): void;
}

/** Topics whose events carry an event_id (the ones stored with a unique key on it). */
export type EventTopic = { [K in TopicName]: TopicPayloads[K] extends { event_id: string } ? K : never }[TopicName];

interface StoredBatch<Event, Row, Reason extends string> {
  outcome: IngestOutcome<Event, Reason>;
  /** The valid rows, stored now or before. */
  rows: Row[];
}

/** What an Ingestor consumes one topic with. */
export interface IngestStream<K extends EventTopic, Row, Reason extends string> {
  readonly topic: K;
  readonly mapper: { mapBatch(events: readonly TopicPayloads[K][]): MappedBatch<TopicPayloads[K], Row, Reason> };
  readonly writer: RowWriter<Row>;
  readonly metrics: StreamMetrics<Reason>;
  /** The row's event time (ISO 8601, UTC): the newest of a batch gives the lag. */
  readonly eventTime: (row: Row) => string;
  readonly observer?: BatchObserver<Row>;
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
    let stored: StoredBatch<TopicPayloads[K], Row, Reason>;
    try {
      stored = await this.store(batch.values);
    } catch (error) {
      this.logger.error(
        { topic: batch.topic, partition: batch.partition, lastOffset: batch.lastOffset, size: batch.values.length, err: error },
        'ingest batch failed; offsets not committed, the bus will redeliver',
      );
      throw error;
    }
    const { outcome, rows } = stored;
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
    this.stream.observer?.observe(rows);
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
    return (await this.store(values)).outcome;
  }

  private async store(values: readonly TopicPayloads[K][]): Promise<StoredBatch<TopicPayloads[K], Row, Reason>> {
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
    return { outcome: { inserted, duplicates: rows.length - inserted, rejected }, rows };
  }
}

/** dns.queries.v1 into dns_queries; each stored batch is shown to `observer` (the security detectors). */
export class QueryIngestor extends Ingestor<typeof Topics.queries, DnsQueryRow, RejectReason> {
  constructor(
    mapper: QueryEventMapper,
    writer: RowWriter<DnsQueryRow>,
    metrics: IngestMetrics,
    logger: IngestLogger,
    deadLetters?: DeadLetterPublisher,
    observer?: BatchObserver<DnsQueryRow>,
  ) {
    super({ topic: Topics.queries, mapper, writer, metrics, eventTime: (row) => row.queried_at, observer }, logger, deadLetters);
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

/** security.events.v1 into security_events: what the detectors (this worker's or others') publish. */
export class SecurityIngestor extends Ingestor<typeof Topics.security, SecurityEventRow, SecurityRejectReason> {
  constructor(writer: RowWriter<SecurityEventRow>, metrics: SecurityMetrics, logger: IngestLogger, deadLetters?: DeadLetterPublisher) {
    super(
      { topic: Topics.security, mapper: new SecurityEventMapper(), writer, metrics, eventTime: (row) => row.detected_at },
      logger,
      deadLetters,
    );
  }
}

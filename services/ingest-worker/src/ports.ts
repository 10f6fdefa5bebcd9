import type { DeadLetter } from '@ghostdns/contracts';
import type { RejectReason } from './mapper.js';

/** Pino-compatible structured logger: what the worker needs from observability's Logger. */
export interface IngestLogger {
  info(objOrMsg: object | string, msg?: string): void;
  warn(objOrMsg: object | string, msg?: string): void;
  error(objOrMsg: object | string, msg?: string): void;
}

/** What the worker reports; createIngestMetrics() backs it with the runtime's registry. */
export interface IngestMetrics {
  /** A batch arrived from the bus (ghostdns_ingest_batch_size). */
  batchReceived(size: number): void;
  /** One event refused by the mapper (ghostdns_ingest_rejected_total{reason}). */
  rejected(reason: RejectReason): void;
  /** Duration of one write transaction, failed or not (ghostdns_ingest_db_seconds). */
  dbWrite(seconds: number): void;
  /** A batch is durable: rows newly inserted (ghostdns_ingest_rows_total, ghostdns_ingest_batches_total). */
  batchCommitted(insertedRows: number): void;
  /** A refused event is durable on the dead-letter topic (ghostdns_ingest_dead_lettered_total{reason}). */
  deadLettered?(reason: RejectReason): void;
  /** Age of the newest event of a committed batch, in seconds (ghostdns_ingest_event_lag_seconds). */
  eventLag?(seconds: number): void;
  /** One rollup refresh on PostgreSQL: its duration and the hours it recomputed (ghostdns_ingest_rollup_*). */
  rollupRefreshed?(seconds: number, hours: number): void;
  /** A maintenance task failed; it is retried on its next round (ghostdns_ingest_maintenance_failures_total{task}). */
  maintenanceFailed?(task: MaintenanceTask): void;
}

/** Periodic work of the worker on the analytics store. Bounded set: used as a metric label. */
export type MaintenanceTask = 'policies' | 'rollups' | 'partitions' | 'retention';

/** Where refused events go (the bus, on Topics.queriesDeadLetter); resolves once they are durable. */
export interface DeadLetterPublisher {
  publish(letters: readonly DeadLetter[]): Promise<void>;
}

export const noopIngestMetrics: IngestMetrics = {
  batchReceived: () => undefined,
  rejected: () => undefined,
  dbWrite: () => undefined,
  batchCommitted: () => undefined,
};

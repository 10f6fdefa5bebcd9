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
}

export const noopIngestMetrics: IngestMetrics = {
  batchReceived: () => undefined,
  rejected: () => undefined,
  dbWrite: () => undefined,
  batchCommitted: () => undefined,
};

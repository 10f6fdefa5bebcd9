/** Stable error codes of the ingest worker (GHOSTDNS_INGEST_*). */
export type IngestErrorCode =
  | 'GHOSTDNS_INGEST_DB_WRITE_FAILED'
  | 'GHOSTDNS_INGEST_SUBSCRIBE_FAILED';

export class IngestError extends Error {
  override readonly name = 'IngestError';

  constructor(
    readonly code: IngestErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

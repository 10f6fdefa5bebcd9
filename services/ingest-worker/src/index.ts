export { IngestWorkerModule, IngestSubscriber } from './module.js';
export { INGEST_GROUP_ID, QUERY_INGESTOR } from './tokens.js';
export {
  QueryEventMapper,
  apexDomain,
  formatFlags,
  epochMicrosToIso,
  FLAG_ORDER,
  REJECT_REASONS,
  type MapResult,
  type MappedBatch,
  type RejectedEvent,
  type RejectReason,
} from './mapper.js';
export { QueryEventWriter, INSERT_DNS_QUERIES_SQL, toColumnArrays, type PgPoolLike } from './writer.js';
export { QueryIngestor, type IngestOutcome, type RowWriter } from './ingestor.js';
export { createIngestMetrics, ingestInstruments, type IngestInstruments } from './metrics.js';
export { noopIngestMetrics, type IngestLogger, type IngestMetrics } from './ports.js';
export { DNS_QUERY_COLUMNS, type DnsQueryRow, type DnsQueryColumn } from './row.js';
export { IngestError, type IngestErrorCode } from './errors.js';

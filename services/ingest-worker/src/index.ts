export { IngestWorkerModule, IngestSubscriber } from './module.js';
export { ANALYTICS_MAINTAINER, INGEST_GROUP_ID, QUERY_INGESTOR } from './tokens.js';
export { AnalyticsMaintainer, type AnalyticsMaintainerOptions } from './maintainer.js';
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
export {
  noopIngestMetrics,
  type DeadLetterPublisher,
  type IngestLogger,
  type IngestMetrics,
  type MaintenanceTask,
} from './ports.js';
export { DNS_QUERY_COLUMNS, type DnsQueryRow, type DnsQueryColumn } from './row.js';
export { IngestError, type IngestErrorCode } from './errors.js';

export { IngestWorkerModule, IngestSubscriber } from './module.js';
export {
  ANALYTICS_MAINTAINER,
  INGEST_GROUP_ID,
  PRESENCE_GROUP_ID,
  PRESENCE_INGESTOR,
  QUERY_INGESTOR,
} from './tokens.js';
export { AnalyticsMaintainer, type AnalyticsMaintainerOptions } from './maintainer.js';
export {
  EventMapper,
  epochMicrosToIso,
  type MapResult,
  type MappedBatch,
  type RejectedEvent,
} from './mapping.js';
export { QueryEventMapper, apexDomain, formatFlags, FLAG_ORDER, REJECT_REASONS, type RejectReason } from './mapper.js';
export {
  PresenceEventMapper,
  hostAddress,
  PRESENCE_REJECT_REASONS,
  type InvalidAddressListener,
  type PresenceRejectReason,
} from './presence-mapper.js';
export {
  TableWriter,
  QueryEventWriter,
  PresenceHistoryWriter,
  INSERT_DNS_QUERIES_SQL,
  INSERT_PRESENCE_HISTORY_SQL,
  unnestInsertSql,
  toColumnArrays,
  type ColumnList,
  type PgPoolLike,
} from './writer.js';
export {
  Ingestor,
  QueryIngestor,
  PresenceIngestor,
  type EventTopic,
  type IngestOutcome,
  type IngestStream,
  type RowWriter,
} from './ingestor.js';
export {
  createIngestMetrics,
  createPresenceMetrics,
  ingestInstruments,
  presenceInstruments,
  type IngestInstruments,
  type PresenceInstruments,
  type StreamInstruments,
} from './metrics.js';
export {
  noopIngestMetrics,
  type DeadLetterPublisher,
  type IngestLogger,
  type IngestMetrics,
  type MaintenanceTask,
  type PresenceMetrics,
  type StreamMetrics,
} from './ports.js';
export {
  DNS_QUERY_COLUMNS,
  PRESENCE_HISTORY_COLUMNS,
  type DnsQueryRow,
  type DnsQueryColumn,
  type PresenceHistoryRow,
  type PresenceHistoryColumn,
} from './row.js';
export { IngestError, type IngestErrorCode } from './errors.js';

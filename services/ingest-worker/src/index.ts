export { IngestWorkerModule, IngestSubscriber } from './module.js';
export {
  ANALYTICS_MAINTAINER,
  INGEST_GROUP_ID,
  PRESENCE_GROUP_ID,
  PRESENCE_INGESTOR,
  QUERY_INGESTOR,
  SECURITY_GROUP_ID,
  SECURITY_INGESTOR,
  SECURITY_MONITOR,
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
export { SecurityEventMapper, SECURITY_REJECT_REASONS, type SecurityRejectReason } from './security-mapper.js';
export {
  TableWriter,
  QueryEventWriter,
  PresenceHistoryWriter,
  SecurityEventWriter,
  INSERT_DNS_QUERIES_SQL,
  INSERT_PRESENCE_HISTORY_SQL,
  INSERT_SECURITY_EVENTS_SQL,
  unnestInsertSql,
  toColumnArrays,
  type ColumnList,
  type PgPoolLike,
} from './writer.js';
export {
  Ingestor,
  QueryIngestor,
  PresenceIngestor,
  SecurityIngestor,
  type BatchObserver,
  type EventTopic,
  type IngestOutcome,
  type IngestStream,
  type RowWriter,
} from './ingestor.js';
export {
  createIngestMetrics,
  createPresenceMetrics,
  createSecurityMetrics,
  createDetectionMetrics,
  ingestInstruments,
  presenceInstruments,
  securityInstruments,
  detectionInstruments,
  type DetectionInstruments,
  type IngestInstruments,
  type PresenceInstruments,
  type StreamInstruments,
} from './metrics.js';
export {
  noopIngestMetrics,
  type DeadLetterPublisher,
  type DetectionMetrics,
  type IngestLogger,
  type IngestMetrics,
  type MaintenanceTask,
  type PresenceMetrics,
  type SecurityEventPublisher,
  type SecurityMetrics,
  type StreamMetrics,
} from './ports.js';
export {
  DNS_QUERY_COLUMNS,
  PRESENCE_HISTORY_COLUMNS,
  SECURITY_EVENT_COLUMNS,
  type DnsQueryRow,
  type DnsQueryColumn,
  type PresenceHistoryRow,
  type PresenceHistoryColumn,
  type SecurityEventRow,
  type SecurityEventColumn,
} from './row.js';
export { IngestError, type IngestErrorCode } from './errors.js';
export {
  createDetectors,
  DistinctNameDetector,
  RateDetector,
  DETECTION_KINDS,
  TUNNELING,
  DGA,
  NXDOMAIN_BURST,
  QUERY_FLOOD,
  BLOCKED_BURST,
  type Detection,
  type DetectionKind,
  type Detector,
  type NameRule,
  type RateRule,
} from './detection/detectors.js';
export { SecurityMonitor, MAX_UNPUBLISHED, type SecurityMonitorOptions } from './detection/monitor.js';

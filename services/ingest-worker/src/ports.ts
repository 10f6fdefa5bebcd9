import type { DeadLetter, SecurityEvent } from '@ghostdns/contracts';
import type { DetectionKind } from './detection/detectors.js';
import type { RejectReason } from './mapper.js';
import type { PresenceRejectReason } from './presence-mapper.js';
import type { SecurityRejectReason } from './security-mapper.js';

/** Pino-compatible structured logger: what the worker needs from observability's Logger. */
export interface IngestLogger {
  info(objOrMsg: object | string, msg?: string): void;
  warn(objOrMsg: object | string, msg?: string): void;
  error(objOrMsg: object | string, msg?: string): void;
}

/** What the worker reports about one consumed topic; createIngestMetrics() / createPresenceMetrics() back it. */
export interface StreamMetrics<Reason extends string> {
  /** A batch arrived from the bus (…_batch_size). */
  batchReceived(size: number): void;
  /** One event refused by the mapper (…_rejected_total{reason}). */
  rejected(reason: Reason): void;
  /** Duration of one write transaction, failed or not (…_db_seconds). */
  dbWrite(seconds: number): void;
  /** A batch is durable: rows newly inserted (…_rows_total, …_batches_total). */
  batchCommitted(insertedRows: number): void;
  /** A refused event is durable on the dead-letter topic (…_dead_lettered_total{reason}). */
  deadLettered?(reason: Reason): void;
  /** Age of the newest event of a committed batch, in seconds (…_event_lag_seconds). */
  eventLag?(seconds: number): void;
}

/** dns.queries.v1 into dns_queries (ghostdns_ingest_*), and the analytics maintenance. */
export interface IngestMetrics extends StreamMetrics<RejectReason> {
  /** One rollup refresh on PostgreSQL: its duration and the hours it recomputed (ghostdns_ingest_rollup_*). */
  rollupRefreshed?(seconds: number, hours: number): void;
  /** A maintenance task failed; it is retried on its next round (ghostdns_ingest_maintenance_failures_total{task}). */
  maintenanceFailed?(task: MaintenanceTask): void;
}

/** presence.events.v1 into presence_history (ghostdns_ingest_presence_*). */
export interface PresenceMetrics extends StreamMetrics<PresenceRejectReason> {
  /** Addresses of kept events dropped as invalid (ghostdns_ingest_presence_addresses_dropped_total). */
  addressesDropped(count: number): void;
}

/** security.events.v1 into security_events (ghostdns_ingest_security_*). */
export type SecurityMetrics = StreamMetrics<SecurityRejectReason>;

/** What the worker reports about its detectors. */
export interface DetectionMetrics {
  /** A detector fired (ghostdns_ingest_detections_total{kind}). */
  fired(kind: DetectionKind): void;
  /** A detector threw; the batch was stored all the same (ghostdns_ingest_detector_failures_total{kind}). */
  failed(kind: DetectionKind): void;
  /** Detections lost: the bus refused them or had too many unacknowledged (ghostdns_ingest_detections_unpublished_total). */
  unpublished(count: number): void;
}

/** Periodic work of the worker on the analytics store. Bounded set: used as a metric label. */
export type MaintenanceTask = 'policies' | 'rollups' | 'partitions' | 'retention';

/** Where refused events of every topic go (the bus, on Topics.queriesDeadLetter); resolves once they are durable. */
export interface DeadLetterPublisher {
  publish(letters: readonly DeadLetter[]): Promise<void>;
}

/** Where detections go (the bus, on Topics.security); resolves once they are durable. */
export interface SecurityEventPublisher {
  publish(events: readonly SecurityEvent[]): Promise<void>;
}

export const noopIngestMetrics: IngestMetrics = {
  batchReceived: () => undefined,
  rejected: () => undefined,
  dbWrite: () => undefined,
  batchCommitted: () => undefined,
};

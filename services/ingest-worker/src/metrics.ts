import { counter, gauge, histogram } from '@ghostdns/observability';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DETECTION_KINDS } from './detection/detectors.js';
import { REJECT_REASONS } from './mapper.js';
import { reasonList } from './mapping.js';
import { PRESENCE_REJECT_REASONS } from './presence-mapper.js';
import type { DetectionMetrics, IngestMetrics, MaintenanceTask, PresenceMetrics, SecurityMetrics, StreamMetrics } from './ports.js';
import { SECURITY_REJECT_REASONS } from './security-mapper.js';

const MAINTENANCE_TASKS = reasonList<MaintenanceTask>({
  policies: true,
  rollups: true,
  partitions: true,
  retention: true,
});

export const BATCH_SIZE_BUCKETS = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000] as const;
export const DB_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** The instruments of one consumed topic. */
export interface StreamInstruments {
  rows: Counter;
  batches: Counter;
  rejected: Counter<'reason'>;
  batchSize: Histogram;
  dbSeconds: Histogram;
  deadLettered: Counter<'reason'>;
  eventLag: Gauge;
}

interface StreamSpec {
  /** Metric names are `<prefix>_rows_total`, `<prefix>_db_seconds`, … */
  prefix: string;
  /** What the events are called in help texts ("Query events"). */
  events: string;
  table: string;
  reasons: readonly string[];
}

const QUERY_STREAM: StreamSpec = { prefix: 'ghostdns_ingest', events: 'Query events', table: 'dns_queries', reasons: REJECT_REASONS };
const PRESENCE_STREAM: StreamSpec = {
  prefix: 'ghostdns_ingest_presence',
  events: 'Presence events',
  table: 'presence_history',
  reasons: PRESENCE_REJECT_REASONS,
};

const SECURITY_STREAM: StreamSpec = {
  prefix: 'ghostdns_ingest_security',
  events: 'Security events',
  table: 'security_events',
  reasons: SECURITY_REJECT_REASONS,
};

function streamInstruments(registry: Registry, spec: StreamSpec): StreamInstruments {
  const { prefix, events, table } = spec;
  const rejected = counter(registry, {
    name: `${prefix}_rejected_total`,
    help: `${events} refused by the mapper, by reason`,
    labelNames: ['reason'] as const,
  });
  const deadLettered = counter(registry, {
    name: `${prefix}_dead_lettered_total`,
    help: `Refused ${events.toLowerCase()} published to the dead-letter topic, by reason`,
    labelNames: ['reason'] as const,
  });
  // Every reason's series exists from the start so rate() works before the first rejection.
  for (const reason of spec.reasons) {
    rejected.inc({ reason }, 0);
    deadLettered.inc({ reason }, 0);
  }
  return {
    rejected,
    deadLettered,
    rows: counter(registry, { name: `${prefix}_rows_total`, help: `Rows newly inserted into ${table} (replays not counted)` }),
    batches: counter(registry, { name: `${prefix}_batches_total`, help: `Batches into ${table} written and committed (offsets may be committed)` }),
    batchSize: histogram(registry, { name: `${prefix}_batch_size`, help: `${events} per batch received from the bus`, buckets: BATCH_SIZE_BUCKETS }),
    dbSeconds: histogram(registry, { name: `${prefix}_db_seconds`, help: `Duration of one ${table} write transaction`, buckets: DB_SECONDS_BUCKETS }),
    eventLag: gauge(registry, {
      name: `${prefix}_event_lag_seconds`,
      help: `Age of the newest event of the last committed batch (how far ${table} trails its producers)`,
    }),
  };
}

/** Reporting never throws (prom-client refuses negative increments). */
function streamMetrics<Reason extends string>(m: StreamInstruments): StreamMetrics<Reason> {
  return {
    batchReceived: (size) => {
      if (Number.isFinite(size)) m.batchSize.observe(size);
    },
    rejected: (reason) => m.rejected.inc({ reason }),
    dbWrite: (seconds) => {
      if (Number.isFinite(seconds)) m.dbSeconds.observe(seconds);
    },
    batchCommitted: (insertedRows) => {
      m.batches.inc();
      if (insertedRows > 0) m.rows.inc(insertedRows);
    },
    deadLettered: (reason) => m.deadLettered.inc({ reason }),
    eventLag: (seconds) => {
      if (Number.isFinite(seconds)) m.eventLag.set(seconds);
    },
  };
}

export interface IngestInstruments extends StreamInstruments {
  rollupSeconds: Histogram;
  rollupHours: Counter;
  maintenanceFailures: Counter<'task'>;
}

/** The ingest instruments on a registry (registered by the first caller, reused after). */
export function ingestInstruments(registry: Registry): IngestInstruments {
  const maintenanceFailures = counter(registry, {
    name: 'ghostdns_ingest_maintenance_failures_total',
    help: 'Failed analytics maintenance rounds (retried next round), by task',
    labelNames: ['task'] as const,
  });
  for (const task of MAINTENANCE_TASKS) maintenanceFailures.inc({ task }, 0);
  return {
    ...streamInstruments(registry, QUERY_STREAM),
    maintenanceFailures,
    rollupSeconds: histogram(registry, {
      name: 'ghostdns_ingest_rollup_seconds',
      help: 'Duration of one rollup refresh on PostgreSQL',
      buckets: DB_SECONDS_BUCKETS,
    }),
    rollupHours: counter(registry, {
      name: 'ghostdns_ingest_rollup_hours_total',
      help: 'Hours recomputed by rollup refreshes on PostgreSQL',
    }),
  };
}

/** IngestMetrics on the runtime's registry. */
export function createIngestMetrics(registry: Registry): IngestMetrics {
  const m = ingestInstruments(registry);
  return {
    ...streamMetrics(m),
    rollupRefreshed: (seconds, hours) => {
      if (Number.isFinite(seconds)) m.rollupSeconds.observe(seconds);
      if (hours > 0) m.rollupHours.inc(hours);
    },
    maintenanceFailed: (task) => m.maintenanceFailures.inc({ task }),
  };
}

export interface PresenceInstruments extends StreamInstruments {
  addressesDropped: Counter;
}

/** The presence ingest instruments on a registry (registered by the first caller, reused after). */
export function presenceInstruments(registry: Registry): PresenceInstruments {
  return {
    ...streamInstruments(registry, PRESENCE_STREAM),
    addressesDropped: counter(registry, {
      name: 'ghostdns_ingest_presence_addresses_dropped_total',
      help: 'Addresses of stored presence events dropped because inet cannot hold them',
    }),
  };
}

/** PresenceMetrics on the runtime's registry. */
export function createPresenceMetrics(registry: Registry): PresenceMetrics {
  const m = presenceInstruments(registry);
  return {
    ...streamMetrics(m),
    addressesDropped: (count) => {
      if (count > 0) m.addressesDropped.inc(count);
    },
  };
}

/** The security-event ingest instruments on a registry (registered by the first caller, reused after). */
export function securityInstruments(registry: Registry): StreamInstruments {
  return streamInstruments(registry, SECURITY_STREAM);
}

/** SecurityMetrics on the runtime's registry. */
export function createSecurityMetrics(registry: Registry): SecurityMetrics {
  return streamMetrics(securityInstruments(registry));
}

export interface DetectionInstruments {
  detections: Counter<'kind'>;
  failures: Counter<'kind'>;
  unpublished: Counter;
}

/** The detector instruments on a registry (registered by the first caller, reused after). */
export function detectionInstruments(registry: Registry): DetectionInstruments {
  const detections = counter(registry, {
    name: 'ghostdns_ingest_detections_total',
    help: 'Security detections fired over stored queries, by kind',
    labelNames: ['kind'] as const,
  });
  const failures = counter(registry, {
    name: 'ghostdns_ingest_detector_failures_total',
    help: 'Batches a security detector failed on (the batch was stored; the detector skipped the rest of it), by kind',
    labelNames: ['kind'] as const,
  });
  for (const kind of DETECTION_KINDS) {
    detections.inc({ kind }, 0);
    failures.inc({ kind }, 0);
  }
  return {
    detections,
    failures,
    unpublished: counter(registry, {
      name: 'ghostdns_ingest_detections_unpublished_total',
      help: 'Security detections lost: refused by the bus, or dropped while too many were unacknowledged',
    }),
  };
}

/** DetectionMetrics on the runtime's registry. */
export function createDetectionMetrics(registry: Registry): DetectionMetrics {
  const m = detectionInstruments(registry);
  return {
    fired: (kind) => m.detections.inc({ kind }),
    failed: (kind) => m.failures.inc({ kind }),
    unpublished: (count) => {
      if (count > 0) m.unpublished.inc(count);
    },
  };
}

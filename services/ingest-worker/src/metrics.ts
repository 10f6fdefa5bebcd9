import { counter, gauge, histogram } from '@ghostdns/observability';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REJECT_REASONS, type RejectReason } from './mapper.js';
import type { IngestMetrics, MaintenanceTask } from './ports.js';

const MAINTENANCE_TASKS: readonly MaintenanceTask[] = Object.keys({
  policies: true,
  rollups: true,
  partitions: true,
  retention: true,
} satisfies Record<MaintenanceTask, true>) as MaintenanceTask[];

export const BATCH_SIZE_BUCKETS = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000] as const;
export const DB_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface IngestInstruments {
  rows: Counter;
  batches: Counter;
  rejected: Counter<'reason'>;
  batchSize: Histogram;
  dbSeconds: Histogram;
  deadLettered: Counter<'reason'>;
  eventLag: Gauge;
  rollupSeconds: Histogram;
  rollupHours: Counter;
  maintenanceFailures: Counter<'task'>;
}

/** The ingest instruments on a registry (registered by the first caller, reused after). */
export function ingestInstruments(registry: Registry): IngestInstruments {
  const rejected = counter(registry, {
    name: 'ghostdns_ingest_rejected_total',
    help: 'Query events refused by the mapper, by reason',
    labelNames: ['reason'] as const,
  });
  // Every reason's series exists from the start so rate() works before the first rejection.
  for (const reason of REJECT_REASONS) rejected.inc({ reason }, 0);
  const deadLettered = counter(registry, {
    name: 'ghostdns_ingest_dead_lettered_total',
    help: 'Refused query events published to dns.queries.dlq.v1, by reason',
    labelNames: ['reason'] as const,
  });
  for (const reason of REJECT_REASONS) deadLettered.inc({ reason }, 0);
  const maintenanceFailures = counter(registry, {
    name: 'ghostdns_ingest_maintenance_failures_total',
    help: 'Failed analytics maintenance rounds (retried next round), by task',
    labelNames: ['task'] as const,
  });
  for (const task of MAINTENANCE_TASKS) maintenanceFailures.inc({ task }, 0);
  return {
    deadLettered,
    maintenanceFailures,
    eventLag: gauge(registry, {
      name: 'ghostdns_ingest_event_lag_seconds',
      help: 'Age of the newest event of the last committed batch (how far the store trails the resolvers)',
    }),
    rollupSeconds: histogram(registry, {
      name: 'ghostdns_ingest_rollup_seconds',
      help: 'Duration of one rollup refresh on PostgreSQL',
      buckets: DB_SECONDS_BUCKETS,
    }),
    rollupHours: counter(registry, {
      name: 'ghostdns_ingest_rollup_hours_total',
      help: 'Hours recomputed by rollup refreshes on PostgreSQL',
    }),
    rows: counter(registry, {
      name: 'ghostdns_ingest_rows_total',
      help: 'Rows newly inserted into dns_queries (replays not counted)',
    }),
    batches: counter(registry, {
      name: 'ghostdns_ingest_batches_total',
      help: 'Batches written and committed (offsets may be committed)',
    }),
    rejected,
    batchSize: histogram(registry, {
      name: 'ghostdns_ingest_batch_size',
      help: 'Events per batch received from the bus',
      buckets: BATCH_SIZE_BUCKETS,
    }),
    dbSeconds: histogram(registry, {
      name: 'ghostdns_ingest_db_seconds',
      help: 'Duration of one dns_queries write transaction',
      buckets: DB_SECONDS_BUCKETS,
    }),
  };
}

/** IngestMetrics on the runtime's registry. Reporting never throws (prom-client refuses negative increments). */
export function createIngestMetrics(registry: Registry): IngestMetrics {
  const m = ingestInstruments(registry);
  return {
    batchReceived: (size) => {
      if (Number.isFinite(size)) m.batchSize.observe(size);
    },
    rejected: (reason: RejectReason) => m.rejected.inc({ reason }),
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
    rollupRefreshed: (seconds, hours) => {
      if (Number.isFinite(seconds)) m.rollupSeconds.observe(seconds);
      if (hours > 0) m.rollupHours.inc(hours);
    },
    maintenanceFailed: (task) => m.maintenanceFailures.inc({ task }),
  };
}

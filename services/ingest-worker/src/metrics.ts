import { counter, histogram } from '@ghostdns/observability';
import type { Counter, Histogram, Registry } from 'prom-client';
import { REJECT_REASONS, type RejectReason } from './mapper.js';
import type { IngestMetrics } from './ports.js';

export const BATCH_SIZE_BUCKETS = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000] as const;
export const DB_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface IngestInstruments {
  rows: Counter;
  batches: Counter;
  rejected: Counter<'reason'>;
  batchSize: Histogram;
  dbSeconds: Histogram;
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
  return {
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
  };
}

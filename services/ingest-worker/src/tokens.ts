/** Consumer group of the ingest worker on dns.queries.v1. */
export const INGEST_GROUP_ID = 'ingest-worker';

/** Nest token of the QueryIngestor the module subscribes with. */
export const QUERY_INGESTOR = Symbol.for('ghostdns.ingest-worker.ingestor');

/** Nest token of the AnalyticsMaintainer (rollups, partitions, retention, policies). */
export const ANALYTICS_MAINTAINER = Symbol.for('ghostdns.ingest-worker.analytics-maintainer');

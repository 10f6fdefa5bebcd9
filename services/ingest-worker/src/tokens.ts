/** Consumer group of the ingest worker on dns.queries.v1. */
export const INGEST_GROUP_ID = 'ingest-worker';

/** Nest token of the QueryIngestor the module subscribes with. */
export const QUERY_INGESTOR = Symbol.for('ghostdns.ingest-worker.ingestor');

/** Consumer group of the ingest worker on dns.queries.v1. */
export const INGEST_GROUP_ID = 'ingest-worker';

/**
 * Consumer group of the ingest worker on presence.events.v1. Its own group: the
 * bus runs one consumer per subscription, and kafkajs' assigners expect every
 * member of a group to subscribe to the same topics.
 */
export const PRESENCE_GROUP_ID = 'ingest-worker-presence';

/** Nest token of the QueryIngestor the module subscribes with. */
export const QUERY_INGESTOR = Symbol.for('ghostdns.ingest-worker.ingestor');

/** Nest token of the PresenceIngestor the module subscribes with. */
export const PRESENCE_INGESTOR = Symbol.for('ghostdns.ingest-worker.presence-ingestor');

/** Nest token of the AnalyticsMaintainer (rollups, partitions, retention, policies). */
export const ANALYTICS_MAINTAINER = Symbol.for('ghostdns.ingest-worker.analytics-maintainer');

/** Consumer group of the ingest worker on dns.queries.v1. */
export const INGEST_GROUP_ID = 'ingest-worker';

/**
 * Consumer group of the ingest worker on presence.events.v1. Its own group: the
 * bus runs one consumer per subscription, and kafkajs' assigners expect every
 * member of a group to subscribe to the same topics.
 */
export const PRESENCE_GROUP_ID = 'ingest-worker-presence';

/** Consumer group of the ingest worker on security.events.v1 (its own group, as for presence). */
export const SECURITY_GROUP_ID = 'ingest-worker-security';

/** Nest token of the QueryIngestor the module subscribes with. */
export const QUERY_INGESTOR = Symbol.for('ghostdns.ingest-worker.ingestor');

/** Nest token of the PresenceIngestor the module subscribes with. */
export const PRESENCE_INGESTOR = Symbol.for('ghostdns.ingest-worker.presence-ingestor');

/** Nest token of the SecurityIngestor the module subscribes with. */
export const SECURITY_INGESTOR = Symbol.for('ghostdns.ingest-worker.security-ingestor');

/** Nest token of the SecurityMonitor (the detectors over stored queries). */
export const SECURITY_MONITOR = Symbol.for('ghostdns.ingest-worker.security-monitor');

/** Nest token of the AnalyticsMaintainer (rollups, partitions, retention, policies). */
export const ANALYTICS_MAINTAINER = Symbol.for('ghostdns.ingest-worker.analytics-maintainer');

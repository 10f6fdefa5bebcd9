import type { DeadLetter, PolicyChangeEvent, PresenceEvent, QueryEvent, RecordChangeEvent, SecurityEvent } from './events.js';
import type { SchemaName, SchemaPayloads } from './schemas.js';

/** Every topic GhostDNS uses. Versioned: a breaking change is a new topic. */
export const Topics = {
  queries: 'dns.queries.v1',
  presence: 'presence.events.v1',
  recordChanges: 'records.changes.v1',
  security: 'security.events.v1',
  queriesDeadLetter: 'dns.queries.dlq.v1',
  policyChanges: 'policy.changes.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

export interface TopicPayloads {
  'dns.queries.v1': QueryEvent;
  'presence.events.v1': PresenceEvent;
  'records.changes.v1': RecordChangeEvent;
  'security.events.v1': SecurityEvent;
  'dns.queries.dlq.v1': DeadLetter;
  'policy.changes.v1': PolicyChangeEvent;
}

/**
 * Partition keys: ordering is per client for queries, per device, per RRset
 * (name/type: records.changes.v1 is compacted, and two RRsets at one name must
 * not compact each other away), per managed list or entry (entity/id: the
 * last event of a key is its whole state, so policy.changes.v1 may be compacted).
 */
export const topicKey: { [K in TopicName]: (value: TopicPayloads[K]) => string } = {
  'dns.queries.v1': (e) => e.client_ip,
  'presence.events.v1': (e) => e.device_id,
  'records.changes.v1': (e) => `${e.name}/${e.type}`,
  'security.events.v1': (e) => e.client_ip,
  'dns.queries.dlq.v1': (e) => `${e.source_topic}/${e.partition}`,
  'policy.changes.v1': (e) => `${e.entity}/${e.id}`,
};

/** The schema name whose TypeScript mirror is exactly T (never if none is). */
type SchemaNameOf<T> = {
  [N in SchemaName]: [SchemaPayloads[N]] extends [T] ? ([T] extends [SchemaPayloads[N]] ? N : never) : never;
}[SchemaName];

/**
 * Value schema of each topic (TopicNameStrategy subject `<topic>-value` in a
 * registry). Typed so that a topic can only name the schema of its payload type.
 */
export const topicValueSchema: { readonly [K in TopicName]: SchemaNameOf<TopicPayloads[K]> } = {
  'dns.queries.v1': 'QueryEvent',
  'presence.events.v1': 'PresenceEvent',
  'records.changes.v1': 'RecordChangeEvent',
  'security.events.v1': 'SecurityEvent',
  'dns.queries.dlq.v1': 'DeadLetter',
  'policy.changes.v1': 'PolicyChangeEvent',
};

/** Every topic name, in the order of `Topics`. */
export const topicNames: readonly TopicName[] = Object.values(Topics);

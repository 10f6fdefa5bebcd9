import type { Type } from 'avsc';
import type { TopicName } from './topics.js';

/**
 * Where the codec gets schema ids from. The id travels in every message header
 * (Confluent wire format), so producer and consumer must agree on the mapping:
 * BuiltinSchemaTable (fixed ids, no network) or ConfluentSchemaRegistryResolver.
 */
export interface SchemaIdResolver {
  /** Id of the topic's current value schema, the one the codec writes with. */
  idFor(topic: TopicName): Promise<number>;
  /** Writer schema for an id read from a message header; undefined when the id is unknown. */
  schemaFor(id: number): Promise<Type | undefined>;
}

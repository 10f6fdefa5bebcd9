import type { Type } from 'avsc';
import { currentSchemaVersion, schemaHistory, schemaNames, type SchemaName } from './schemas.js';
import type { SchemaIdResolver } from './schema-id-resolver.js';
import { topicValueSchema, type TopicName } from './topics.js';

/**
 * Built-in schema ids are 2_000_000_000 + 1000 × record ordinal + version, e.g.
 * QueryEvent v1 = 2000001001. They sit far above the ids a schema registry hands
 * out (sequential from 1; from 100001 on Confluent Cloud), so a message written
 * with a built-in id never decodes with an unrelated registry schema, and
 * ConfluentSchemaRegistryResolver can still read it. An ordinal is never reused.
 */
const builtinIdBase = 2_000_000_000;
const builtinOrdinals: { readonly [N in SchemaName]: number } = {
  QueryEvent: 1,
  PresenceEvent: 2,
  RecordChangeEvent: 3,
  SecurityEvent: 4,
  DeadLetter: 5,
  PolicyChangeEvent: 6,
};

export function builtinSchemaId(name: SchemaName, version: number): number {
  return builtinIdBase + 1000 * builtinOrdinals[name] + version;
}

let builtinTypesById: ReadonlyMap<number, Type> | undefined;

/** The published schema with this built-in id, any version; undefined for any other id. */
export function builtinSchemaById(id: number): Type | undefined {
  builtinTypesById ??= new Map(
    schemaNames.flatMap((name) =>
      schemaHistory(name).map((published): [number, Type] => [builtinSchemaId(name, published.version), published.type]),
    ),
  );
  return builtinTypesById.get(id);
}

/**
 * Fixed ids from the table above, no registry: for the in-process bus and for
 * Kafka deployments without a schema registry. Decodes every published version.
 */
export class BuiltinSchemaTable implements SchemaIdResolver {
  async idFor(topic: TopicName): Promise<number> {
    const name = topicValueSchema[topic];
    return builtinSchemaId(name, currentSchemaVersion(name));
  }

  async schemaFor(id: number): Promise<Type | undefined> {
    return builtinSchemaById(id);
  }
}

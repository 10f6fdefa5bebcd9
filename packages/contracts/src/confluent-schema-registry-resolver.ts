import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro, { type Type } from 'avsc';
import { builtinSchemaById } from './builtin-schema-table.js';
import { ContractError } from './errors.js';
import type { SchemaIdResolver } from './schema-id-resolver.js';
import { avroTypeOptions, loadSchemaJson } from './schemas.js';
import { topicValueSchema, type TopicName } from './topics.js';

export interface ConfluentSchemaRegistryResolverOptions {
  /** Base URL of the registry, e.g. http://schema-registry:8081. */
  url: string;
  auth?: { username: string; password: string };
  /**
   * Compatibility level set on a subject when we create it, and required of it
   * afterwards (the client refuses to register into a subject configured
   * otherwise). Our evolution rule (add fields with defaults, append enum
   * symbols, enums have defaults) keeps every version readable by every other,
   * which is FULL_TRANSITIVE.
   */
  compatibility?: COMPATIBILITY;
}

/** HTTP status the registry client attaches to its response errors. */
function responseStatus(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number'
    ? error.status
    : undefined;
}

/**
 * Schema ids from a Confluent Schema Registry, TopicNameStrategy: the value
 * schema of topic T is subject `T-value`. The topic's current schema is
 * registered on first use (registering an identical schema returns its existing
 * id); writer schemas are fetched by id and cached by the client.
 */
export class ConfluentSchemaRegistryResolver implements SchemaIdResolver {
  private readonly registry: SchemaRegistry;
  private readonly compatibility: COMPATIBILITY;
  private readonly idsByTopic = new Map<TopicName, Promise<number>>();

  constructor(options: ConfluentSchemaRegistryResolverOptions) {
    this.registry = new SchemaRegistry(
      { host: options.url, ...(options.auth === undefined ? {} : { auth: options.auth }) },
      // The client spreads these into a fresh object for every schema it parses.
      { [SchemaType.AVRO]: avroTypeOptions() },
    );
    this.compatibility = options.compatibility ?? COMPATIBILITY.FULL_TRANSITIVE;
  }

  idFor(topic: TopicName): Promise<number> {
    let id = this.idsByTopic.get(topic);
    if (id === undefined) {
      id = this.register(topic).catch((error: unknown) => {
        // A failed registration is retried by the next caller, not cached.
        this.idsByTopic.delete(topic);
        throw error;
      });
      this.idsByTopic.set(topic, id);
    }
    return id;
  }

  async schemaFor(id: number): Promise<Type | undefined> {
    const builtin = builtinSchemaById(id);
    if (builtin !== undefined) return builtin;
    let schema: unknown;
    try {
      schema = await this.registry.getSchema(id);
    } catch (error) {
      if (responseStatus(error) === 404) return undefined;
      throw new ContractError('GHOSTDNS_CONTRACT_REGISTRY_FAILED', `schema registry lookup of id ${id} failed`, {
        cause: error,
      });
    }
    if (!(schema instanceof avro.Type)) {
      throw new ContractError('GHOSTDNS_CONTRACT_REGISTRY_FAILED', `schema id ${id} is not an Avro schema`);
    }
    return schema;
  }

  private async register(topic: TopicName): Promise<number> {
    const subject = `${topic}-value`;
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(loadSchemaJson(topicValueSchema[topic])) },
        { subject, compatibility: this.compatibility },
      );
      return id;
    } catch (error) {
      throw new ContractError('GHOSTDNS_CONTRACT_REGISTRY_FAILED', `registering the value schema of ${subject} failed`, {
        cause: error,
      });
    }
  }
}

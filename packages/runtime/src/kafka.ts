import { createKafkaBus, type EventBus } from '@ghostdns/bus';
import type { GhostConfig } from '@ghostdns/config';
import {
  BuiltinSchemaTable,
  ConfluentSchemaRegistryResolver,
  createEventCodec,
  Topics,
  type SchemaIdResolver,
} from '@ghostdns/contracts';
import { createBusMetrics, type Logger, type MetricsRegistry } from '@ghostdns/observability';

/** Splits credentials out of a registry URL (the client takes them separately). */
function schemaResolver(url: string | undefined): SchemaIdResolver {
  if (url === undefined) return new BuiltinSchemaTable();
  const parsed = new URL(url);
  const auth =
    parsed.username !== '' || parsed.password !== ''
      ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
      : undefined;
  parsed.username = '';
  parsed.password = '';
  const base = parsed.toString().replace(/\/$/, '');
  return new ConfluentSchemaRegistryResolver(auth === undefined ? { url: base } : { url: base, auth });
}

export interface KafkaBusFromConfigOptions {
  /** Appended to kafka.clientId: `<clientId>-<suffix>`. */
  clientIdSuffix: string;
  logger: Logger;
  metrics: MetricsRegistry;
}

/**
 * The one way a process builds its KafkaBus from the config: the event codec
 * on the schema registry (schemaRegistry.url) or the built-in table, then
 * createKafkaBus with the dead-letter topic. Not connected yet.
 */
export async function createKafkaBusFromConfig(config: GhostConfig, options: KafkaBusFromConfigOptions): Promise<EventBus> {
  const codec = createEventCodec(schemaResolver(config.schemaRegistry.url));
  await codec.init();
  return createKafkaBus({
    brokers: [...config.kafka.brokers],
    clientId: `${config.kafka.clientId}-${options.clientIdSuffix}`,
    codec,
    logger: options.logger.child({ component: 'bus' }),
    metrics: createBusMetrics(options.metrics),
    deadLetterTopic: Topics.queriesDeadLetter,
  });
}

export * from './events.js';
export * from './topics.js';
export * from './errors.js';
export {
  loadSchema,
  loadSchemaJson,
  schemaHistory,
  currentSchemaVersion,
  schemaNames,
  type AvroSchemaJson,
  type PublishedSchema,
  type SchemaName,
  type SchemaPayloads,
} from './schemas.js';
export { checkEvolution, type EvolutionViolation, type EvolutionViolationKind } from './evolution.js';
export type { SchemaIdResolver } from './schema-id-resolver.js';
export { BuiltinSchemaTable, builtinSchemaId } from './builtin-schema-table.js';
export {
  ConfluentSchemaRegistryResolver,
  type ConfluentSchemaRegistryResolverOptions,
} from './confluent-schema-registry-resolver.js';
export { createEventCodec, readSchemaId, WIRE_HEADER_SIZE, WIRE_MAGIC_BYTE, type EventCodec } from './codec.js';
export { dnsClassName, dnsTypeName, rcodeName } from './dns-names.js';
export * from './presence-snapshot.js';
export * from './tailscale-devices.js';
export * from './presence-names.js';
export { normalizePolicyDomain } from './policy-domains.js';

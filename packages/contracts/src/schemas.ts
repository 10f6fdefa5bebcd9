import { readdirSync, readFileSync } from 'node:fs';
import avro, { type Type } from 'avsc';
import type { DeadLetter, PolicyChangeEvent, PresenceEvent, QueryEvent, RecordChangeEvent, SecurityEvent } from './events.js';

/** Every top-level record schema, keyed by its name, with the TypeScript type that mirrors it. */
export interface SchemaPayloads {
  QueryEvent: QueryEvent;
  PresenceEvent: PresenceEvent;
  RecordChangeEvent: RecordChangeEvent;
  SecurityEvent: SecurityEvent;
  DeadLetter: DeadLetter;
  PolicyChangeEvent: PolicyChangeEvent;
}

export type SchemaName = keyof SchemaPayloads;

export const schemaNames: readonly SchemaName[] = [
  'QueryEvent',
  'PresenceEvent',
  'RecordChangeEvent',
  'SecurityEvent',
  'DeadLetter',
  'PolicyChangeEvent',
];

/** A schema as JSON (the parsed contents of an .avsc file). */
export type AvroSchemaJson = Parameters<typeof avro.Type.forSchema>[0];

/** One published version of a schema, as kept in schemas/history/<name>/v<version>.avsc. */
export interface PublishedSchema {
  readonly name: SchemaName;
  readonly version: number;
  readonly json: AvroSchemaJson;
  readonly type: Type;
}

/**
 * Options for every avsc Type built from our schemas (ours and writer schemas
 * fetched from a registry):
 * - wrapUnions 'never': ["null", T] decodes to `T | null` as events.ts declares,
 *   and a union that cannot be unwrapped fails when the schema loads, not later.
 * - omitRecordMethods: decoded records are plain data, without avsc's
 *   toBuffer/clone helpers on their prototype.
 * - no logicalTypes: timestamp-micros stays a number of microseconds (a Date
 *   would lose the microseconds).
 * A new object per call: avsc keeps its registry of named types in the options
 * object it is given, and each schema needs its own.
 */
export function avroTypeOptions(): { wrapUnions: 'never'; omitRecordMethods: true } {
  return { wrapUnions: 'never', omitRecordMethods: true };
}

const schemasDirectory = new URL('../schemas/', import.meta.url);
const historyFileName = /^v([1-9][0-9]*)\.avsc$/;

const currentSchemas = new Map<SchemaName, { json: AvroSchemaJson; type: Type }>();
const schemaHistories = new Map<SchemaName, readonly PublishedSchema[]>();

function readSchemaFile(url: URL): AvroSchemaJson {
  return JSON.parse(readFileSync(url, 'utf8')) as AvroSchemaJson;
}

function current(name: SchemaName): { json: AvroSchemaJson; type: Type } {
  let loaded = currentSchemas.get(name);
  if (loaded === undefined) {
    const json = readSchemaFile(new URL(`${name}.avsc`, schemasDirectory));
    loaded = { json, type: avro.Type.forSchema(json, avroTypeOptions()) };
    currentSchemas.set(name, loaded);
  }
  return loaded;
}

/** The avsc Type of the current schema (schemas/<name>.avsc), the one encode writes and decode reads into. */
export function loadSchema(name: SchemaName): Type {
  return current(name).type;
}

/** The current schema as JSON, docs and defaults included: what gets registered with a schema registry. */
export function loadSchemaJson(name: SchemaName): AvroSchemaJson {
  return current(name).json;
}

/** Every published version of a schema, oldest first. The last one is the current schema. */
export function schemaHistory(name: SchemaName): readonly PublishedSchema[] {
  let history = schemaHistories.get(name);
  if (history === undefined) {
    const directory = new URL(`history/${name}/`, schemasDirectory);
    history = readdirSync(directory)
      .flatMap((file) => {
        const match = historyFileName.exec(file);
        return match?.[1] === undefined ? [] : [{ file, version: Number(match[1]) }];
      })
      .sort((a, b) => a.version - b.version)
      .map(({ file, version }): PublishedSchema => {
        const json = readSchemaFile(new URL(file, directory));
        return { name, version, json, type: avro.Type.forSchema(json, avroTypeOptions()) };
      });
    schemaHistories.set(name, history);
  }
  return history;
}

/** Version number of the current schema: the newest entry of its history. */
export function currentSchemaVersion(name: SchemaName): number {
  const newest = schemaHistory(name).at(-1);
  if (newest === undefined) {
    throw new Error(`schemas/history/${name}/ holds no published version`);
  }
  return newest.version;
}

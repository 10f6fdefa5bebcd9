import { describe, expect, it } from 'vitest';
import { loadSchema, loadSchemaJson, schemaHistory, schemaNames, type SchemaName } from '../src/schemas.js';
import { enumSymbols, samples } from './sample-events.js';

/** A record field as written in an .avsc file. */
interface FieldJson {
  name: string;
  type: unknown;
  doc?: unknown;
  default?: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fieldsOf(recordJson: unknown): FieldJson[] {
  if (!isObject(recordJson) || recordJson.type !== 'record' || !Array.isArray(recordJson.fields)) {
    throw new Error(`not a record schema: ${JSON.stringify(recordJson)}`);
  }
  return recordJson.fields as FieldJson[];
}

/** The nested record schema of a field, if its type is one. */
function nestedRecord(field: FieldJson): unknown {
  return isObject(field.type) && field.type.type === 'record' ? field.type : undefined;
}

function isNullable(field: FieldJson): boolean {
  return Array.isArray(field.type) && field.type[0] === 'null';
}

/** The enum a field holds, directly or as the T of ["null", T]. */
function enumOf(field: FieldJson): { symbols: string[]; default?: unknown } | undefined {
  const branch = Array.isArray(field.type) && field.type[0] === 'null' ? (field.type[1] as unknown) : field.type;
  return isObject(branch) && branch.type === 'enum' ? (branch as { symbols: string[]; default?: unknown }) : undefined;
}

function isTimestamp(field: FieldJson): boolean {
  const branches = Array.isArray(field.type) ? field.type : [field.type];
  return branches.some((branch) => isObject(branch) && branch.logicalType === 'timestamp-micros');
}

/** Every field of a record and of the records nested in it, with dotted paths. */
function allFields(recordJson: unknown, prefix = ''): { path: string; field: FieldJson }[] {
  return fieldsOf(recordJson).flatMap((field) => {
    const path = `${prefix}${field.name}`;
    const nested = nestedRecord(field);
    return [{ path, field }, ...(nested === undefined ? [] : allFields(nested, `${path}.`))];
  });
}

/** Compares field names with the keys of a sample value, recursing into nested records. */
function expectSameKeys(recordJson: unknown, value: unknown, path: string): void {
  expect(isObject(value), `${path} is an object`).toBe(true);
  const fields = fieldsOf(recordJson);
  expect(Object.keys(value as object).sort(), `${path}: schema fields vs TS keys`).toEqual(
    fields.map((field) => field.name).sort(),
  );
  for (const field of fields) {
    const nested = nestedRecord(field);
    if (nested !== undefined) expectSameKeys(nested, (value as Record<string, unknown>)[field.name], `${path}.${field.name}`);
  }
}

function roundTrip(name: SchemaName, value: unknown): unknown {
  const type = loadSchema(name);
  return type.fromBuffer(type.toBuffer(value)) as unknown;
}

describe.each(schemaNames)('schema %s', (name) => {
  const json = loadSchemaJson(name);
  const nullableFields = allFields(json).filter(({ field }) => isNullable(field));

  it('is the record ghostdns.v1.<name>', () => {
    expect(json).toMatchObject({ type: 'record', name, namespace: 'ghostdns.v1' });
  });

  it('has exactly the fields of its TypeScript interface', () => {
    for (const sample of samples[name]) expectSameKeys(json, sample, name);
  });

  it('documents every field', () => {
    for (const { path, field } of allFields(json)) {
      expect(typeof field.doc === 'string' && field.doc.length > 0, `${name}.${path} has a doc`).toBe(true);
    }
  });

  it('makes nullable fields ["null", T] with default null', () => {
    for (const { path, field } of allFields(json)) {
      const branches = Array.isArray(field.type) ? (field.type as unknown[]) : [];
      if (branches.includes('null')) {
        expect(branches[0], `${name}.${path}: null is the first branch`).toBe('null');
        expect(branches, `${name}.${path}: ["null", T]`).toHaveLength(2);
        expect(field.default, `${name}.${path} defaults to null`).toBeNull();
      }
    }
  });

  it('has samples covering the non-null and the null branch of every nullable field', () => {
    const [full, withNulls] = samples[name];
    for (const { path } of nullableFields) {
      expect(readPath(full, path), `${name}.${path} in the full sample`).not.toBeNull();
      expect(readPath(withNulls, path), `${name}.${path} in the null sample`).toBeNull();
    }
    expect(samples[name]).toHaveLength(nullableFields.length === 0 ? 1 : 2);
  });

  it('round-trips every sample field for field', () => {
    for (const sample of samples[name]) {
      const decoded = roundTrip(name, sample);
      expect(decoded).toEqual(sample);
      for (const { path, field } of allFields(json)) {
        const value = readPath(decoded, path);
        if (Buffer.isBuffer(readPath(sample, path))) expect(Buffer.isBuffer(value), `${path} is a Buffer`).toBe(true);
        if (isTimestamp(field) && value !== null) expect(typeof value, `${path} is a number`).toBe('number');
      }
    }
  });

  it('declares every enum with its TS union symbols and a default, and round-trips each symbol', () => {
    const enumFields = allFields(json).flatMap(({ path, field }) => {
      const type = enumOf(field);
      return type === undefined ? [] : [{ path, type }];
    });
    const declared: Readonly<Record<string, readonly string[] | undefined>> = enumSymbols[name];
    expect(enumFields.map(({ path }) => path).sort()).toEqual(Object.keys(declared).sort());
    for (const { path, type } of enumFields) {
      expect(type.symbols, `${name}.${path} symbols`).toEqual(declared[path]);
      expect(type.symbols, `${name}.${path} has a default symbol`).toContain(type.default);
      for (const symbol of type.symbols) {
        const value = { ...samples[name][0], [path]: symbol };
        expect(roundTrip(name, value)).toEqual(value);
      }
    }
  });

  it('types timestamps as long timestamp-micros that decode to numbers', () => {
    const timestamps = allFields(json).filter(({ field }) => isTimestamp(field));
    expect(timestamps.map(({ path }) => path).every((path) => /_(at|time)_us$|^last_handshake_us$/.test(path))).toBe(true);
    for (const { field } of timestamps) {
      const branches = Array.isArray(field.type) ? (field.type as unknown[]) : [field.type];
      expect(branches).toContainEqual({ type: 'long', logicalType: 'timestamp-micros' });
    }
  });

  it('is published: the current schema is the newest version in schemas/history', () => {
    expect(schemaHistory(name).at(-1)?.json).toEqual(json);
  });
});

it('defaults cache_status to UNKNOWN', () => {
  const cacheStatus = fieldsOf(loadSchemaJson('QueryEvent')).find((field) => field.name === 'cache_status');
  expect(cacheStatus?.type).toMatchObject({ default: 'UNKNOWN' });
});

function readPath(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((current, key) => (isObject(current) ? current[key] : undefined), value);
}

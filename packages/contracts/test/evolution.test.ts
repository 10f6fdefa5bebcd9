import { describe, expect, it } from 'vitest';
import { checkEvolution, type EvolutionViolationKind } from '../src/evolution.js';
import { loadSchema, loadSchemaJson, schemaHistory, schemaNames, type AvroSchemaJson } from '../src/schemas.js';
import { samples } from './sample-events.js';

/** How many random values avsc generates per published version for the resolution round trips. */
const randomValuesPerVersion = 20;

describe.each(schemaNames)('published versions of %s', (name) => {
  const history = schemaHistory(name);
  const current = loadSchema(name);

  it('are numbered v1..vN without gaps', () => {
    expect(history.map((published) => published.version)).toEqual(history.map((_, i) => i + 1));
  });

  it.each(history.map((published) => [published.version, published] as const))(
    'v%i and the current schema read each other’s data',
    (_version, published) => {
      const readOld = current.createResolver(published.type);
      for (let i = 0; i < randomValuesPerVersion; i += 1) {
        const written = published.type.toBuffer(published.type.random());
        expect(current.isValid(current.fromBuffer(written, readOld))).toBe(true);
      }
      const readCurrent = published.type.createResolver(current);
      for (const sample of samples[name]) {
        expect(published.type.isValid(published.type.fromBuffer(current.toBuffer(sample), readCurrent))).toBe(true);
      }
    },
  );

  it('follow the evolution rule between every pair of versions', () => {
    for (const [i, older] of history.entries()) {
      for (const newer of history.slice(i + 1)) {
        expect(checkEvolution(older.json, newer.json), `v${older.version} -> v${newer.version}`).toEqual([]);
      }
    }
    expect(checkEvolution(loadSchemaJson(name), loadSchemaJson(name))).toEqual([]);
  });
});

describe('checkEvolution', () => {
  const colour = (symbols: string[], extra: Record<string, unknown> = { default: symbols[0] }): AvroSchemaJson => ({
    type: 'enum',
    name: 'Colour',
    symbols,
    ...extra,
  });
  const record = (fields: unknown[], name = 'Thing'): AvroSchemaJson =>
    ({ type: 'record', name, namespace: 'ghostdns.test', fields }) as AvroSchemaJson;
  const base = record([
    { name: 'id', type: 'string' },
    { name: 'at_us', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'colour', type: colour(['RED', 'GREEN']) },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'inner', type: { type: 'record', name: 'Inner', fields: [{ name: 'n', type: 'int' }] } },
  ]);
  const [id, atUs, note, colourField, tags, inner] = (base as { fields: unknown[] }).fields;

  it('accepts an unchanged schema and fields added with defaults and appended enum symbols', () => {
    expect(checkEvolution(base, base)).toEqual([]);
    const next = record([
      id,
      atUs,
      note,
      { name: 'colour', type: colour(['RED', 'GREEN', 'BLUE'], { default: 'RED' }) },
      tags,
      inner,
      { name: 'added', type: ['null', 'long'], default: null },
      { name: 'count', type: 'int', default: 0 },
    ]);
    expect(checkEvolution(base, next)).toEqual([]);
  });

  const failures: { case: string; next: AvroSchemaJson; kind: EvolutionViolationKind; path: string }[] = [
    {
      case: 'a removed field',
      next: record([id, atUs, colourField, tags, inner]),
      kind: 'FIELD_REMOVED',
      path: 'Thing.note',
    },
    {
      case: 'a renamed field',
      next: record([{ name: 'identifier', type: 'string', default: '' }, atUs, note, colourField, tags, inner]),
      kind: 'FIELD_REMOVED',
      path: 'Thing.id',
    },
    {
      case: 'a field added without a default',
      next: record([id, atUs, note, colourField, tags, inner, { name: 'added', type: 'string' }]),
      kind: 'FIELD_ADDED_WITHOUT_DEFAULT',
      path: 'Thing.added',
    },
    {
      case: 'a changed primitive type',
      next: record([{ name: 'id', type: 'bytes' }, atUs, note, colourField, tags, inner]),
      kind: 'TYPE_CHANGED',
      path: 'Thing.id',
    },
    {
      case: 'a changed logical type',
      next: record([id, { name: 'at_us', type: { type: 'long', logicalType: 'timestamp-millis' } }, note, colourField, tags, inner]),
      kind: 'TYPE_CHANGED',
      path: 'Thing.at_us',
    },
    {
      case: 'a field made non-nullable',
      next: record([id, atUs, { name: 'note', type: 'string', default: '' }, colourField, tags, inner]),
      kind: 'TYPE_CHANGED',
      path: 'Thing.note',
    },
    {
      case: 'a changed array item type',
      next: record([id, atUs, note, colourField, { name: 'tags', type: { type: 'array', items: 'int' } }, inner]),
      kind: 'TYPE_CHANGED',
      path: 'Thing.tags[]',
    },
    {
      case: 'a changed field inside a nested record',
      next: record([id, atUs, note, colourField, tags, { name: 'inner', type: { type: 'record', name: 'Inner', fields: [{ name: 'n', type: 'long' }] } }]),
      kind: 'TYPE_CHANGED',
      path: 'Thing.inner.n',
    },
    {
      case: 'a renamed record',
      next: record([id, atUs, note, colourField, tags, inner], 'Renamed'),
      kind: 'NAME_CHANGED',
      path: 'Thing',
    },
    {
      case: 'a removed enum symbol',
      next: record([id, atUs, note, { name: 'colour', type: colour(['RED']) }, tags, inner]),
      kind: 'ENUM_SYMBOL_REMOVED',
      path: 'Thing.colour',
    },
    {
      case: 'reordered enum symbols',
      next: record([id, atUs, note, { name: 'colour', type: colour(['GREEN', 'RED']) }, tags, inner]),
      kind: 'ENUM_SYMBOLS_REORDERED',
      path: 'Thing.colour',
    },
    {
      case: 'an enum without a default',
      next: record([id, atUs, note, { name: 'colour', type: colour(['RED', 'GREEN'], {}) }, tags, inner]),
      kind: 'ENUM_WITHOUT_DEFAULT',
      path: 'Thing.colour',
    },
  ];

  it.each(failures)('reports $case as $kind at $path', ({ next, kind, path }) => {
    const violations = checkEvolution(base, next);
    expect(violations).toContainEqual(expect.objectContaining({ kind, path }));
    expect(violations.every((violation) => violation.message.includes(violation.path))).toBe(true);
  });

  it('rejects input that is not an Avro schema', () => {
    expect(() => checkEvolution(base, { type: 'record', name: 'Broken' } as AvroSchemaJson)).toThrow();
  });
});

import avro, { type Type } from 'avsc';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { builtinSchemaId, BuiltinSchemaTable } from '../src/builtin-schema-table.js';
import { createEventCodec, readSchemaId, WIRE_HEADER_SIZE, type EventCodec } from '../src/codec.js';
import { ContractError, type ContractErrorCode } from '../src/errors.js';
import { checkEvolution } from '../src/evolution.js';
import type { QueryEvent } from '../src/events.js';
import type { SchemaIdResolver } from '../src/schema-id-resolver.js';
import { currentSchemaVersion, loadSchema, loadSchemaJson, schemaHistory, type AvroSchemaJson } from '../src/schemas.js';
import { topicKey, Topics, topicNames, topicValueSchema, type TopicName } from '../src/topics.js';
import { deadLetter, policyChangeEvent, presenceEvent, queryEvent, samples } from './sample-events.js';

function expectContractError(run: () => unknown, code: ContractErrorCode, message?: RegExp): ContractError {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ContractError);
  const error = thrown as ContractError;
  expect(error.code).toBe(code);
  if (message !== undefined) expect(error.message).toMatch(message);
  return error;
}

/** QueryEvent JSON with edits applied to a deep copy. */
function editedQueryEventSchema(edit: (schema: { fields: Record<string, unknown>[] }) => void): AvroSchemaJson {
  const schema = structuredClone(loadSchemaJson('QueryEvent')) as { fields: Record<string, unknown>[] };
  edit(schema);
  return schema as AvroSchemaJson;
}

/** A resolver that knows our built-in ids plus extra writer schemas, and counts lookups. */
class StubResolver implements SchemaIdResolver {
  readonly lookups: number[] = [];
  private readonly builtin = new BuiltinSchemaTable();

  constructor(private readonly extra: ReadonlyMap<number, Type>) {}

  idFor(topic: TopicName): Promise<number> {
    return this.builtin.idFor(topic);
  }

  async schemaFor(id: number): Promise<Type | undefined> {
    this.lookups.push(id);
    return this.extra.get(id) ?? this.builtin.schemaFor(id);
  }
}

function wireMessage(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(WIRE_HEADER_SIZE);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

describe('built-in schema ids', () => {
  it('are the documented fixed ids of the current versions', async () => {
    const table = new BuiltinSchemaTable();
    const ids = Object.fromEntries(
      await Promise.all(topicNames.map(async (topic): Promise<[TopicName, number]> => [topic, await table.idFor(topic)])),
    );
    expect(ids).toEqual({
      'dns.queries.v1': 2_000_001_002,
      'presence.events.v1': 2_000_002_002,
      'records.changes.v1': 2_000_003_001,
      'security.events.v1': 2_000_004_001,
      'dns.queries.dlq.v1': 2_000_005_001,
      'policy.changes.v1': 2_000_006_001,
    });
  });

  it('resolve to their schema; other ids to nothing', async () => {
    const table = new BuiltinSchemaTable();
    expect((await table.schemaFor(builtinSchemaId('QueryEvent', 2)))?.equals(loadSchema('QueryEvent'))).toBe(true);
    expect((await table.schemaFor(builtinSchemaId('QueryEvent', 1)))?.equals(schemaHistory('QueryEvent')[0]?.type)).toBe(true);
    expect(await table.schemaFor(1)).toBeUndefined();
  });
});

describe('event codec', () => {
  let codec: EventCodec;

  beforeAll(async () => {
    codec = createEventCodec(new BuiltinSchemaTable());
    await codec.init();
  });

  it.each(topicNames)('round-trips every sample of %s', (topic) => {
    for (const sample of samples[topicValueSchema[topic]]) {
      const message = codec.encode(topic, sample);
      expect(readSchemaId(message)).toBe(builtinSchemaId(topicValueSchema[topic], currentSchemaVersion(topicValueSchema[topic])));
      expect(codec.decode(topic, message)).toEqual(sample);
    }
  });

  it('writes magic byte 0, the big-endian schema id, then the plain Avro body', () => {
    const message = codec.encode(Topics.queries, queryEvent);
    expect(message.subarray(0, WIRE_HEADER_SIZE)).toEqual(Buffer.from([0, 0x77, 0x35, 0x97, 0xea]));
    expect(message.subarray(WIRE_HEADER_SIZE)).toEqual(loadSchema('QueryEvent').toBuffer(queryEvent));
  });

  it('returns independent buffers from consecutive encodes', () => {
    const first = codec.encode(Topics.queries, queryEvent);
    const copy = Buffer.from(first);
    codec.encode(Topics.queries, { ...queryEvent, qname: 'other.example.org' });
    expect(first).toEqual(copy);
  });

  it('encodes values larger than its reused buffer', () => {
    const big = { ...deadLetter, payload: Buffer.alloc(200_000, 7) };
    const decoded = codec.decode(Topics.queriesDeadLetter, codec.encode(Topics.queriesDeadLetter, big));
    // Buffer.equals: a deep equality over 200 kB is needlessly slow.
    expect(decoded.payload.equals(big.payload)).toBe(true);
    expect({ ...decoded, payload: null }).toEqual({ ...big, payload: null });
    expect(codec.decode(Topics.queriesDeadLetter, codec.encode(Topics.queriesDeadLetter, deadLetter))).toEqual(deadLetter);
  });

  it('rejects an invalid value with INVALID_VALUE naming the field paths', () => {
    const invalid = { ...queryEvent, qtype: 'AAAA', flags: { ...queryEvent.flags, ad: 1 } } as unknown as QueryEvent;
    const error = expectContractError(
      () => codec.encode(Topics.queries, invalid),
      'GHOSTDNS_CONTRACT_INVALID_VALUE',
      /QueryEvent at qtype, flags\.ad$/,
    );
    expect(error.cause).toBeInstanceOf(Error);
    expectContractError(
      () => codec.encode(Topics.queries, { ...queryEvent, cache_status: 'WARM' } as unknown as QueryEvent),
      'GHOSTDNS_CONTRACT_INVALID_VALUE',
      /at cache_status$/,
    );
    expectContractError(
      () => codec.encode(Topics.queries, null as unknown as QueryEvent),
      'GHOSTDNS_CONTRACT_INVALID_VALUE',
      /at \(value\)$/,
    );
  });

  const valid = (): Buffer => codec.encode(Topics.queries, queryEvent);
  const badInputs: { case: string; message: () => Buffer; code: ContractErrorCode }[] = [
    { case: 'an empty buffer', message: () => Buffer.alloc(0), code: 'GHOSTDNS_CONTRACT_TRUNCATED' },
    { case: 'a wrong magic byte', message: () => Buffer.concat([Buffer.from([1]), valid().subarray(1)]), code: 'GHOSTDNS_CONTRACT_BAD_MAGIC' },
    { case: 'a JSON payload', message: () => Buffer.from('{"qname":"example.com"}'), code: 'GHOSTDNS_CONTRACT_BAD_MAGIC' },
    { case: 'a truncated header', message: () => valid().subarray(0, 3), code: 'GHOSTDNS_CONTRACT_TRUNCATED' },
    { case: 'a header without body', message: () => valid().subarray(0, WIRE_HEADER_SIZE), code: 'GHOSTDNS_CONTRACT_AVRO_DECODE' },
    { case: 'an unknown schema id', message: () => wireMessage(424_242, valid().subarray(WIRE_HEADER_SIZE)), code: 'GHOSTDNS_CONTRACT_UNKNOWN_SCHEMA_ID' },
    { case: 'a truncated body', message: () => valid().subarray(0, 40), code: 'GHOSTDNS_CONTRACT_AVRO_DECODE' },
    {
      case: 'a corrupt body',
      // A string length of -1 where event_id starts.
      message: () => wireMessage(builtinSchemaId('QueryEvent', currentSchemaVersion('QueryEvent')), Buffer.from([0x01, 0x41, 0x42])),
      code: 'GHOSTDNS_CONTRACT_AVRO_DECODE',
    },
    { case: 'trailing garbage', message: () => Buffer.concat([valid(), Buffer.from([0xde, 0xad])]), code: 'GHOSTDNS_CONTRACT_AVRO_DECODE' },
    {
      case: 'a message of another topic',
      message: () => codec.encode(Topics.presence, presenceEvent),
      code: 'GHOSTDNS_CONTRACT_AVRO_DECODE',
    },
  ];

  it.each(badInputs)('refuses $case with $code', ({ message, code }) => {
    expectContractError(() => codec.decode(Topics.queries, message()), code);
  });

  it('keeps the Avro error as cause of AVRO_DECODE', () => {
    const error = expectContractError(
      () => codec.decode(Topics.queries, Buffer.concat([valid(), Buffer.from([0])])),
      'GHOSTDNS_CONTRACT_AVRO_DECODE',
    );
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('event codec before init', () => {
  it('refuses to encode', () => {
    const codec = createEventCodec(new BuiltinSchemaTable());
    expectContractError(() => codec.encode(Topics.queries, queryEvent), 'GHOSTDNS_CONTRACT_NOT_INITIALIZED');
  });

  it('decodes after prepare() fetched the writer schema', async () => {
    const writer = createEventCodec(new BuiltinSchemaTable());
    await writer.init();
    const message = writer.encode(Topics.queries, queryEvent);
    const reader = createEventCodec(new BuiltinSchemaTable());
    expectContractError(() => reader.decode(Topics.queries, message), 'GHOSTDNS_CONTRACT_UNKNOWN_SCHEMA_ID');
    expect(await reader.decodeAsync(Topics.queries, message)).toEqual(queryEvent);
    expect(reader.decode(Topics.queries, message)).toEqual(queryEvent);
  });
});

describe('event codec reading other schema versions', () => {
  const olderId = 501;
  const newerId = 502;
  // An older writer, before response_wire existed.
  const older = editedQueryEventSchema((schema) => {
    schema.fields = schema.fields.filter((field) => field.name !== 'response_wire');
  });
  // A newer writer: one more field and one more cache status.
  const newer = editedQueryEventSchema((schema) => {
    schema.fields.push({ name: 'ecs_subnet', type: ['null', 'string'], default: null, doc: 'EDNS client subnet.' });
    const cacheStatus = schema.fields.find((field) => field.name === 'cache_status') as { type: { symbols: string[] } };
    cacheStatus.type.symbols.push('SERVE_EXPIRED');
  });
  const olderType = avro.Type.forSchema(older, { wrapUnions: 'never' });
  const newerType = avro.Type.forSchema(newer, { wrapUnions: 'never' });

  it('uses writer schemas that follow the evolution rule', () => {
    expect(checkEvolution(older, loadSchemaJson('QueryEvent'))).toEqual([]);
    expect(checkEvolution(loadSchemaJson('QueryEvent'), newer)).toEqual([]);
  });

  it('fills fields the writer did not have with their defaults', async () => {
    const codec = createEventCodec(new StubResolver(new Map([[olderId, olderType]])));
    const olderValue = { ...queryEvent, response_wire: undefined };
    const decoded = await codec.decodeAsync(Topics.queries, wireMessage(olderId, olderType.toBuffer(olderValue)));
    expect(decoded).toEqual({ ...queryEvent, response_wire: null });
  });

  it('drops fields it does not know and reads unknown enum symbols as the enum default', async () => {
    const codec = createEventCodec(new StubResolver(new Map([[newerId, newerType]])));
    const newerValue = { ...queryEvent, cache_status: 'SERVE_EXPIRED', ecs_subnet: '192.0.2.0/24' };
    const decoded = await codec.decodeAsync(Topics.queries, wireMessage(newerId, newerType.toBuffer(newerValue)));
    expect(decoded).toEqual({ ...queryEvent, cache_status: 'UNKNOWN' });
  });

  it('fetches each writer schema once and builds each resolver once', async () => {
    const resolver = new StubResolver(new Map([[newerId, newerType]]));
    const codec = createEventCodec(resolver);
    // avsc freezes its Types, so the spy sits on the prototype (which also sees nested resolvers).
    const createResolver = vi.spyOn(avro.Type.prototype, 'createResolver');
    try {
      const message = wireMessage(newerId, newerType.toBuffer({ ...queryEvent, ecs_subnet: null }));
      await codec.decodeAsync(Topics.queries, message);
      const callsForFirstDecode = createResolver.mock.calls.length;
      expect(callsForFirstDecode).toBeGreaterThan(0);
      for (let i = 0; i < 3; i += 1) await codec.decodeAsync(Topics.queries, message);
      expect(createResolver).toHaveBeenCalledTimes(callsForFirstDecode);
      expect(resolver.lookups).toEqual([newerId]);
    } finally {
      createResolver.mockRestore();
    }
  });

  it('fails with UNKNOWN_SCHEMA_ID when the resolver does not know the id either', async () => {
    const codec = createEventCodec(new StubResolver(new Map()));
    await expect(codec.decodeAsync(Topics.queries, wireMessage(777, Buffer.alloc(0)))).rejects.toMatchObject({
      code: 'GHOSTDNS_CONTRACT_UNKNOWN_SCHEMA_ID',
    });
  });
});

describe('topic keys', () => {
  it('key policy changes by entity and id, so a list and an entry never compact each other away', () => {
    expect(topicKey[Topics.policyChanges](policyChangeEvent)).toBe(`ENTRY/${policyChangeEvent.id}`);
    expect(topicKey[Topics.policyChanges]({ ...policyChangeEvent, entity: 'LIST' })).toBe(`LIST/${policyChangeEvent.id}`);
  });
});

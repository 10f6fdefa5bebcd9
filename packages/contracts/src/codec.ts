import type { Type } from 'avsc';
import { ContractError } from './errors.js';
import type { SchemaIdResolver } from './schema-id-resolver.js';
import { loadSchema, type SchemaName } from './schemas.js';
import { topicNames, topicValueSchema, type TopicName, type TopicPayloads } from './topics.js';

/**
 * Confluent wire format: byte 0 is the magic byte 0, bytes 1-4 the schema id
 * as a big-endian signed 32-bit integer, then the Avro binary encoding of the
 * value. https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */
export const WIRE_MAGIC_BYTE = 0;
export const WIRE_HEADER_SIZE = 5;

/** The writer schema id in a message header; throws ContractError on a missing or malformed header. */
export function readSchemaId(message: Buffer): number {
  if (message.length === 0) {
    throw new ContractError('GHOSTDNS_CONTRACT_TRUNCATED', 'empty message: no wire-format header');
  }
  if (message[0] !== WIRE_MAGIC_BYTE) {
    throw new ContractError(
      'GHOSTDNS_CONTRACT_BAD_MAGIC',
      `first byte is ${message[0]}, not the wire-format magic byte ${WIRE_MAGIC_BYTE}`,
    );
  }
  if (message.length < WIRE_HEADER_SIZE) {
    throw new ContractError(
      'GHOSTDNS_CONTRACT_TRUNCATED',
      `message of ${message.length} bytes is shorter than the ${WIRE_HEADER_SIZE}-byte wire-format header`,
    );
  }
  return message.readInt32BE(1);
}

export interface EventCodec {
  /** Resolves (and with a registry, registers) the schema id of every topic. Needed before encode. */
  init(): Promise<void>;
  /** The value in wire format, written with the topic's current schema. Synchronous: no I/O. */
  encode<K extends TopicName>(topic: K, value: TopicPayloads[K]): Buffer;
  /**
   * The value of a wire-format message, read into the topic's current schema.
   * Synchronous, so the writer schema id must be known: one of ours after
   * init(), or fetched earlier by prepare(); otherwise UNKNOWN_SCHEMA_ID.
   */
  decode<K extends TopicName>(topic: K, message: Buffer): TopicPayloads[K];
  /** Fetches the writer schema of the message if it is not known yet, so that decode can run. */
  prepare(message: Buffer): Promise<void>;
  /** prepare() then decode(). */
  decodeAsync<K extends TopicName>(topic: K, message: Buffer): Promise<TopicPayloads[K]>;
}

type AvroResolver = ReturnType<Type['createResolver']>;

interface TopicCodec {
  readonly topic: TopicName;
  readonly schemaName: SchemaName;
  /** The topic's current schema: encode writes with it, decode reads into it. */
  readonly type: Type;
  /** Magic byte and the schema id of `type`; set by init(). */
  header: Buffer | undefined;
  /** How to read each writer schema id seen so far; null when the writer schema is `type` itself. */
  readonly resolvers: Map<number, AvroResolver | null>;
}

/** Starting size of the reused encode buffer; it grows to the largest message encoded. */
const initialEncodeBufferSize = 16 * 1024;

export function createEventCodec(resolver: SchemaIdResolver): EventCodec {
  return new WireFormatEventCodec(resolver);
}

class WireFormatEventCodec implements EventCodec {
  private readonly topics: Readonly<Record<TopicName, TopicCodec>>;
  private readonly writerTypes = new Map<number, Type>();
  /** Avro bodies are encoded here after a header-sized gap, then copied out once. */
  private encodeBuffer = Buffer.allocUnsafe(initialEncodeBufferSize);
  private initialized: Promise<void> | undefined;

  constructor(private readonly resolver: SchemaIdResolver) {
    this.topics = Object.fromEntries(
      topicNames.map((topic): [TopicName, TopicCodec] => {
        const schemaName = topicValueSchema[topic];
        return [topic, { topic, schemaName, type: loadSchema(schemaName), header: undefined, resolvers: new Map() }];
      }),
    ) as Record<TopicName, TopicCodec>;
  }

  init(): Promise<void> {
    this.initialized ??= this.resolveTopicIds().catch((error: unknown) => {
      this.initialized = undefined;
      throw error;
    });
    return this.initialized;
  }

  encode<K extends TopicName>(topic: K, value: TopicPayloads[K]): Buffer {
    const codec = this.topics[topic];
    if (codec.header === undefined) {
      throw new ContractError('GHOSTDNS_CONTRACT_NOT_INITIALIZED', `encode(${topic}) before await codec.init()`);
    }
    let end = this.encodeBody(codec, value);
    if (end < 0) {
      // avsc reports a too-small buffer as minus the missing byte count.
      const needed = this.encodeBuffer.length - end;
      this.encodeBuffer = Buffer.allocUnsafe(Math.max(needed, 2 * this.encodeBuffer.length));
      end = this.encodeBody(codec, value);
    }
    const message = Buffer.allocUnsafe(end);
    codec.header.copy(message, 0);
    this.encodeBuffer.copy(message, WIRE_HEADER_SIZE, WIRE_HEADER_SIZE, end);
    return message;
  }

  decode<K extends TopicName>(topic: K, message: Buffer): TopicPayloads[K] {
    const writerId = readSchemaId(message);
    const codec = this.topics[topic];
    const resolver = this.resolverFor(codec, writerId);
    try {
      return codec.type.fromBuffer(message.subarray(WIRE_HEADER_SIZE), resolver ?? undefined) as TopicPayloads[K];
    } catch (error) {
      throw new ContractError(
        'GHOSTDNS_CONTRACT_AVRO_DECODE',
        `${topic}: Avro body written with schema id ${writerId} does not decode as ${codec.schemaName}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  async prepare(message: Buffer): Promise<void> {
    const writerId = readSchemaId(message);
    if (this.writerTypes.has(writerId)) return;
    const writerType = await this.resolver.schemaFor(writerId);
    if (writerType === undefined) {
      throw new ContractError('GHOSTDNS_CONTRACT_UNKNOWN_SCHEMA_ID', `schema id ${writerId} is not known to the schema resolver`);
    }
    this.writerTypes.set(writerId, writerType);
  }

  async decodeAsync<K extends TopicName>(topic: K, message: Buffer): Promise<TopicPayloads[K]> {
    await this.prepare(message);
    return this.decode(topic, message);
  }

  private async resolveTopicIds(): Promise<void> {
    await Promise.all(
      Object.values(this.topics).map(async (codec) => {
        const id = await this.resolver.idFor(codec.topic);
        const header = Buffer.alloc(WIRE_HEADER_SIZE);
        header.writeUInt8(WIRE_MAGIC_BYTE, 0);
        header.writeInt32BE(id, 1);
        codec.header = header;
        this.writerTypes.set(id, codec.type);
      }),
    );
  }

  /** Position after the body in encodeBuffer, or minus the missing byte count when it is too small. */
  private encodeBody(codec: TopicCodec, value: unknown): number {
    try {
      return codec.type.encode(value, this.encodeBuffer, WIRE_HEADER_SIZE);
    } catch (error) {
      throw invalidValue(codec, value, error);
    }
  }

  private resolverFor(codec: TopicCodec, writerId: number): AvroResolver | null {
    const cached = codec.resolvers.get(writerId);
    if (cached !== undefined) return cached;
    const writerType = this.writerTypes.get(writerId);
    if (writerType === undefined) {
      throw new ContractError(
        'GHOSTDNS_CONTRACT_UNKNOWN_SCHEMA_ID',
        `${codec.topic}: schema id ${writerId} is not known yet; decodeAsync() or prepare() fetches it`,
      );
    }
    let resolver: AvroResolver | null;
    try {
      resolver = writerType.equals(codec.type) ? null : codec.type.createResolver(writerType);
    } catch (error) {
      throw new ContractError(
        'GHOSTDNS_CONTRACT_AVRO_DECODE',
        `${codec.topic}: writer schema id ${writerId} cannot be read as ${codec.schemaName}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    codec.resolvers.set(writerId, resolver);
    return resolver;
  }
}

/** An INVALID_VALUE error naming every field path avsc rejects (only built when encoding fails). */
function invalidValue(codec: TopicCodec, value: unknown, cause: unknown): ContractError {
  const paths: string[] = [];
  codec.type.isValid(value, {
    errorHook: (path: string[]) => {
      paths.push(path.length === 0 ? '(value)' : path.join('.'));
    },
  });
  const where = paths.length === 0 ? errorMessage(cause) : `at ${paths.join(', ')}`;
  return new ContractError('GHOSTDNS_CONTRACT_INVALID_VALUE', `${codec.topic}: invalid ${codec.schemaName} ${where}`, {
    cause,
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

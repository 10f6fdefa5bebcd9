import type { DeadLetter, TopicName, TopicPayloads } from '@ghostdns/contracts';

/**
 * Minimal structured logger (pino-compatible) so the bus does not depend on
 * packages/observability.
 */
export interface BusLogger {
  debug(objOrMsg: object | string, msg?: string): void;
  info(objOrMsg: object | string, msg?: string): void;
  warn(objOrMsg: object | string, msg?: string): void;
  error(objOrMsg: object | string, msg?: string): void;
}

/**
 * Counters the bus reports; packages/observability can implement this with
 * prom-client without the bus importing it. Every member is optional.
 */
export interface BusMetrics {
  published?(topic: TopicName, count: number): void;
  publishFailed?(topic: TopicName): void;
  consumed?(topic: TopicName, groupId: string, count: number): void;
  handlerFailed?(topic: TopicName, groupId: string): void;
  undecodable?(topic: TopicName, groupId: string): void;
  deadLettered?(topic: TopicName, groupId: string): void;
  /** Messages of the partition after the batch just committed (high-water mark - next offset). */
  consumerLag?(topic: TopicName, groupId: string, partition: number, lag: number): void;
}

/**
 * What KafkaBus needs from contracts' EventCodec (createEventCodec). Declared
 * here so the codec is injected (and initialised by its owner) rather than
 * constructed by the bus. decode must throw on bytes it cannot read.
 */
export interface MessageCodec {
  encode<K extends TopicName>(topic: K, value: TopicPayloads[K]): Buffer;
  decode<K extends TopicName>(topic: K, buf: Buffer): TopicPayloads[K];
  /** Fetches an unknown writer schema so decode can run (contracts' EventCodec.prepare). */
  prepare?(buf: Buffer): Promise<void>;
}

/** Topics whose payload is a DeadLetter (today: dns.queries.dlq.v1). */
export type DeadLetterTopic = {
  [K in TopicName]: TopicPayloads[K] extends DeadLetter ? K : never;
}[TopicName];

/** A message as it came off the wire, before decoding. */
export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}

export const silentLogger: BusLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

import kafkajs from 'kafkajs';
import type { Consumer, EachBatchPayload, KafkaMessage, LogEntry, Producer, RetryOptions } from 'kafkajs';
import { Topics, topicKey, type DeadLetter, type TopicName, type TopicPayloads } from '@ghostdns/contracts';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { withHeartbeats } from './heartbeat.js';
import { BusError, BusErrorCode, describeError } from './errors.js';
import type { BusLogger, BusMetrics, DeadLetterTopic, MessageCodec, RawMessage } from './ports.js';
import type { BatchHandler, EventBus, MessagePosition, SubscribeOptions, Subscription } from './types.js';

const { Kafka, CompressionTypes, Partitioners, logLevel } = kafkajs;

/**
 * Decides what happens to a message the codec refuses. Resolving lets the
 * partition move past it (it is committed with its batch); rejecting is treated
 * like a failed handler: nothing is committed and the batch is retried.
 */
export type UndecodableHandler = (raw: RawMessage, reason: string, position: MessagePosition) => Promise<void>;

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** Initialised contracts codec (createEventCodec(...) after init()). */
  codec: MessageCodec;
  logger: BusLogger;
  metrics?: BusMetrics;
  /**
   * Where the default undecodable-message path publishes a DeadLetter. Without
   * it (and without onUndecodable) bad messages are logged, counted and skipped.
   */
  deadLetterTopic?: DeadLetterTopic;
  /**
   * Decode errors that mean "retry later" (default: contracts' REGISTRY_FAILED
   * and NOT_INITIALIZED codes): the batch is retried, not dead-lettered.
   */
  isTransientDecodeError?: (err: unknown) => boolean;
  /** Overrides the dead-letter default for undecodable messages. */
  onUndecodable?: UndecodableHandler;
  /** Backoff between redeliveries of a batch whose handler rejected. */
  retry?: BackoffOptions;
  /** kafkajs client retry for broker requests (not handler retries). */
  clientRetry?: RetryOptions;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Consumer group session timeout; a member silent this long is evicted. Default 30 000. */
  sessionTimeoutMs?: number;
  /** Heartbeat cadence, also while a long handler runs. Default 3 000. */
  heartbeatIntervalMs?: number;
  /** Fetch wait; lower means lower latency on quiet topics. Default 500. */
  maxWaitTimeInMs?: number;
  /** How long subscribe() waits for the group join before returning anyway. Default 30 000. */
  joinTimeoutMs?: number;
  /** Partitions one subscription processes in parallel (order still holds per partition). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** kafkajs log level routed to the logger. Default 'info'. */
  kafkaLogLevel?: 'error' | 'warn' | 'info' | 'debug';
}

function toKafkaLevel(level: KafkaBusOptions['kafkaLogLevel']): kafkajs.logLevel {
  switch (level) {
    case 'error':
      return logLevel.ERROR;
    case 'warn':
      return logLevel.WARN;
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
    case undefined:
      return logLevel.INFO;
  }
}

function makeLogCreator(logger: BusLogger): () => (entry: LogEntry) => void {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message } = log;
      // kafkajs' own timestamp and logger name would duplicate what the injected logger adds.
      const extra = Object.fromEntries(
        Object.entries(log).filter(([k]) => k !== 'message' && k !== 'timestamp' && k !== 'logger'),
      );
      const obj = { kafka: namespace, ...extra };
      switch (level) {
        case logLevel.ERROR:
          logger.error(obj, message);
          break;
        case logLevel.WARN:
          logger.warn(obj, message);
          break;
        case logLevel.INFO:
          logger.info(obj, message);
          break;
        case logLevel.DEBUG:
        case logLevel.NOTHING:
          logger.debug(obj, message);
          break;
      }
    };
}

const KNOWN_TOPICS = new Set<string>(Object.values(Topics));

interface DecodedMessages<K extends TopicName> {
  values: TopicPayloads[K][];
  /** Messages the codec refused, in offset order; drained as they are routed. */
  bad: { message: KafkaMessage; reason: string }[];
}

/** Contract error codes that say "try again later", not "these bytes are bad". */
const TRANSIENT_CONTRACT_CODES = new Set(['GHOSTDNS_CONTRACT_REGISTRY_FAILED', 'GHOSTDNS_CONTRACT_NOT_INITIALIZED']);

function isTransientContractError(err: unknown): boolean {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && TRANSIENT_CONTRACT_CODES.has(code);
}

class KafkaSubscription implements Subscription {
  private closing: Promise<void> | null = null;
  /** Cuts a handler backoff short on close so disconnect is not held hostage by a failing sink. */
  readonly abort = new AbortController();

  constructor(
    private readonly consumer: Consumer,
    private readonly onClosed: () => void,
  ) {}

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      try {
        // kafkajs stop() waits for the running eachBatch: a handler in flight
        // finishes and commits, a batch in backoff returns uncommitted.
        await this.consumer.disconnect();
      } finally {
        this.onClosed();
      }
    })();
    return this.closing;
  }
}

/**
 * EventBus over Kafka (kafkajs). At-least-once: offsets are committed only
 * after the handler resolves, so a crash between handler and commit means a
 * redelivery, never a loss; consumers must be idempotent (the database dedupes
 * on event_id).
 */
export class KafkaBus implements EventBus {
  readonly kind = 'kafka' as const;
  private readonly kafka: kafkajs.Kafka;
  private readonly producer: Producer;
  private readonly metrics: BusMetrics;
  private readonly logger: BusLogger;
  private connected = false;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private lastPublishError: unknown = null;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** Consumers kafkajs gave up on (crash without restart): the bus can no longer deliver. */
  private readonly deadConsumers = new Set<string>();

  constructor(private readonly options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new BusError(BusErrorCode.InvalidOptions, 'at least one broker is required');
    if (!options.clientId) throw new BusError(BusErrorCode.InvalidOptions, 'clientId is required');
    this.logger = options.logger;
    this.metrics = options.metrics ?? {};
    this.kafka = new Kafka({
      brokers: options.brokers,
      clientId: options.clientId,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retry: options.clientRetry ?? { initialRetryTime: 300, retries: 8 },
      logLevel: toKafkaLevel(options.kafkaLogLevel),
      logCreator: makeLogCreator(options.logger),
    });
    this.producer = this.kafka.producer({
      // Idempotence (KIP-98) dedupes broker-side retries of the same send, so a
      // timeout-then-retry cannot write a message twice. It requires acks=all
      // and, for ordering under retries, one in-flight request per connection.
      idempotent: true,
      maxInFlightRequests: 1,
      // Java-compatible murmur2 partitioning, so every client maps a key to the same partition.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
    });
    this.producer.on(this.producer.events.CONNECT, () => {
      this.connected = true;
    });
    this.producer.on(this.producer.events.DISCONNECT, () => {
      this.connected = false;
    });
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new BusError(BusErrorCode.Closed, 'bus is closed'));
    this.connecting ??= this.producer.connect().then(
      () => {
        this.connected = true;
      },
      (err: unknown) => {
        this.connecting = null;
        throw new BusError(BusErrorCode.ConnectFailed, `kafka producer could not connect: ${describeError(err)}`, {
          cause: err,
        });
      },
    );
    return this.connecting;
  }

  isHealthy(): boolean {
    return this.connected && !this.closed && this.lastPublishError === null && this.deadConsumers.size === 0;
  }

  private ensureOpen(): void {
    if (this.closed) throw new BusError(BusErrorCode.Closed, 'bus is closed');
    if (!this.connecting) throw new BusError(BusErrorCode.NotConnected, 'bus is not connected; call connect() first');
  }

  private checkTopic(topic: string): void {
    if (!KNOWN_TOPICS.has(topic)) throw new BusError(BusErrorCode.UnknownTopic, `unknown topic ${topic}`);
  }

  async publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void> {
    this.ensureOpen();
    this.checkTopic(topic);
    if (values.length === 0) return;
    await this.connecting;
    const keyOf = topicKey[topic];
    let messages: { key: string; value: Buffer }[];
    try {
      // Encode everything before sending: a bad value fails the whole call and nothing is written.
      messages = values.map((v) => ({ key: keyOf(v), value: this.options.codec.encode(topic, v) }));
    } catch (err) {
      throw new BusError(BusErrorCode.EncodeFailed, `cannot encode for ${topic}: ${describeError(err)}`, { cause: err });
    }
    try {
      await this.producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
      this.lastPublishError = null;
      this.metrics.published?.(topic, values.length);
    } catch (err) {
      this.lastPublishError = err;
      this.metrics.publishFailed?.(topic);
      throw new BusError(BusErrorCode.PublishFailed, `publish to ${topic} failed: ${describeError(err)}`, {
        cause: err,
      });
    }
  }

  async subscribe<K extends TopicName>(
    topic: K,
    handler: BatchHandler<K>,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    this.ensureOpen();
    this.checkTopic(topic);
    if (!options.groupId) throw new BusError(BusErrorCode.InvalidOptions, 'groupId is required');
    const { groupId } = options;
    const heartbeatInterval = this.options.heartbeatIntervalMs ?? 3_000;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 500,
      allowAutoTopicCreation: true,
    });
    const consumerId = `${groupId}/${topic}/${Math.random().toString(36).slice(2)}`;
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      this.logger.error({ topic, groupId, restart, err: describeError(error) }, 'kafka consumer crashed');
      if (!restart) this.deadConsumers.add(consumerId);
    });
    const joined = new Promise<void>((resolve) => {
      const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
        this.deadConsumers.delete(consumerId);
        remove();
        resolve();
      });
    });

    const sub = new KafkaSubscription(consumer, () => {
      this.subscriptions.delete(sub);
      this.deadConsumers.delete(consumerId);
    });

    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning ?? false });
      await consumer.run({
        // Commits are explicit and happen only after the handler resolved (commit-after-durable).
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
        eachBatch: (payload) => this.processBatch(topic, groupId, handler, payload, sub.abort.signal, heartbeatInterval),
      });
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw new BusError(BusErrorCode.SubscribeFailed, `subscribe ${groupId} to ${topic} failed: ${describeError(err)}`, {
        cause: err,
      });
    }
    this.subscriptions.add(sub);

    // Returning after the join means "subscribed" also means "assigned": with
    // fromBeginning=false, messages published after this point are not skipped
    // by a late offset reset. Bounded, because a rebalance storm must not hang boot.
    const joinTimeoutMs = this.options.joinTimeoutMs ?? 30_000;
    const timedOut = await Promise.race([
      joined.then(() => false),
      sleep(joinTimeoutMs, sub.abort.signal).then(() => true),
    ]);
    if (timedOut) {
      this.logger.warn({ topic, groupId, joinTimeoutMs }, 'consumer has not joined its group yet; continuing');
    }
    return sub;
  }

  private async processBatch<K extends TopicName>(
    topic: K,
    groupId: string,
    handler: BatchHandler<K>,
    payload: EachBatchPayload,
    abort: AbortSignal,
    heartbeatIntervalMs: number,
  ): Promise<void> {
    const { batch } = payload;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const messages = batch.messages;
    const last = messages[messages.length - 1];
    if (!last) return;

    // Decoded once, inside the retry loop: a transient decode failure (registry
    // unreachable) retries the batch instead of dead-lettering good messages.
    const state: { decoded: DecodedMessages<K> | null } = { decoded: null };

    const stop = (): boolean => abort.aborted || !payload.isRunning() || payload.isStale();
    const attemptOnce = async (): Promise<void> => {
      state.decoded ??= await this.decodeAll(topic, messages);
      const { values, bad } = state.decoded;
      // Undecodable messages are routed before the handler so a dead letter is
      // durable before the offset that skips it is committed.
      for (let next = bad[0]; next; next = bad[0]) {
        await this.routeUndecodable(topic, groupId, batch.partition, next.message, next.reason);
        bad.shift();
      }
      if (values.length > 0) {
        await handler({ topic, partition: batch.partition, values, lastOffset: last.offset });
      }
    };

    for (let attempt = 1; ; attempt++) {
      if (stop()) return;
      try {
        await withHeartbeats(attemptOnce(), heartbeat, heartbeatIntervalMs);
        break;
      } catch (err) {
        this.metrics.handlerFailed?.(topic, groupId);
        const delay = backoffDelay(attempt, this.options.retry);
        this.logger.warn(
          { topic, groupId, partition: batch.partition, firstOffset: batch.firstOffset(), lastOffset: last.offset, attempt, delayMs: delay, err: describeError(err) },
          'batch handler failed; redelivering after backoff',
        );
        // The batch is kept and redelivered in place: the partition does not
        // advance (ordering holds) and nothing is resolved or committed.
        await withHeartbeats(sleep(delay, abort), heartbeat, heartbeatIntervalMs);
      }
    }

    payload.resolveOffset(last.offset);
    const next = (BigInt(last.offset) + 1n).toString();
    // Kafka commits the *next* offset to read, hence lastOffset + 1.
    await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: batch.partition, offset: next }] }] });
    this.metrics.consumed?.(topic, groupId, state.decoded?.values.length ?? 0);
    // kafkajs: highWatermark - (lastOffset + 1), as of the fetch that brought this batch.
    this.metrics.consumerLag?.(topic, groupId, batch.partition, Number(batch.offsetLag()));
    await heartbeat().catch(() => undefined);
  }

  private async decodeAll<K extends TopicName>(topic: K, messages: KafkaMessage[]): Promise<DecodedMessages<K>> {
    const { codec } = this.options;
    const isTransient = this.options.isTransientDecodeError ?? isTransientContractError;
    const values: TopicPayloads[K][] = [];
    const bad: { message: KafkaMessage; reason: string }[] = [];
    for (const message of messages) {
      try {
        if (!message.value || message.value.length === 0) throw new Error('empty message value (tombstone)');
        // A writer schema id we have not seen (newer producer, registry deployment) is fetched first.
        if (codec.prepare) await codec.prepare(message.value);
        values.push(codec.decode(topic, message.value));
      } catch (err) {
        if (isTransient(err)) throw err;
        bad.push({ message, reason: describeError(err) });
      }
    }
    return { values, bad };
  }

  private async routeUndecodable(
    topic: TopicName,
    groupId: string,
    partition: number,
    message: KafkaMessage,
    reason: string,
  ): Promise<void> {
    this.metrics.undecodable?.(topic, groupId);
    const position: MessagePosition = { topic, partition, offset: message.offset };
    const raw: RawMessage = { key: message.key, value: message.value, timestamp: message.timestamp };
    this.logger.warn({ ...position, groupId, reason }, 'undecodable message; not given to the handler');
    if (this.options.onUndecodable) {
      await this.options.onUndecodable(raw, reason, position);
      return;
    }
    const dlq = this.options.deadLetterTopic;
    // A dead-letter topic never dead-letters into itself: that would loop forever.
    if (!dlq || dlq === topic) return;
    const letter: DeadLetter = {
      source_topic: topic,
      partition,
      offset: message.offset,
      reason,
      payload: message.value ?? Buffer.alloc(0),
    };
    try {
      await this.publish(dlq, [letter]);
    } catch (err) {
      throw new BusError(BusErrorCode.DeadLetterFailed, `dead letter for ${topic}/${partition}@${message.offset} failed`, {
        cause: err,
      });
    }
    this.metrics.deadLettered?.(topic, groupId);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      const results = await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
      await this.producer.disconnect().catch((err: unknown) => {
        this.logger.warn({ err: describeError(err) }, 'kafka producer disconnect failed');
      });
      this.connected = false;
      for (const r of results) {
        if (r.status === 'rejected') this.logger.warn({ err: describeError(r.reason) }, 'kafka consumer disconnect failed');
      }
    })();
    return this.closing;
  }
}

export function createKafkaBus(options: KafkaBusOptions): EventBus {
  return new KafkaBus(options);
}

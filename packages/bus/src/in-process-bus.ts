import { Topics, topicKey, type TopicName, type TopicPayloads } from '@ghostdns/contracts';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { BusError, BusErrorCode, describeError } from './errors.js';
import type { BusLogger, BusMetrics } from './ports.js';
import type { BatchHandler, EventBus, SubscribeOptions, Subscription } from './types.js';

export interface InProcessBusOptions {
  logger: BusLogger;
  metrics?: BusMetrics;
  /** Messages kept per topic (split evenly over its partitions), like Kafka retention. Default 10 000. */
  maxRetainedPerTopic?: number;
  /** Partitions per topic; 4 mirrors the Kafka topics. */
  partitions?: number;
  /** Most messages handed to one handler call. Default 500. */
  maxBatchSize?: number;
  /** Redelivery backoff after a handler rejects. */
  retry?: BackoffOptions;
}

const KNOWN_TOPICS = new Set<string>(Object.values(Topics));

class PartitionLog {
  /** Offset of entries[0]; grows as retention drops the oldest messages. */
  baseOffset = 0;
  readonly entries: unknown[] = [];

  get endOffset(): number {
    return this.baseOffset + this.entries.length;
  }

  append(value: unknown, cap: number): void {
    this.entries.push(value);
    const excess = this.entries.length - cap;
    if (excess > 0) {
      this.entries.splice(0, excess);
      this.baseOffset += excess;
    }
  }

  slice(from: number, max: number): unknown[] {
    const start = Math.max(0, from - this.baseOffset);
    return this.entries.slice(start, start + max);
  }
}

/** FNV-1a: stable across runs so a key always lands on the same partition. */
function partitionFor(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

interface ActiveSubscription extends Subscription {
  readonly topic: TopicName;
  readonly groupId: string;
  notify(): void;
}

class InProcessSubscription<K extends TopicName> implements ActiveSubscription {
  private closed = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  /** Bumped by every publish; lets the loop notice a publish that raced its scan. */
  private generation = 0;
  private readonly loop: Promise<void>;
  /** Next offset to deliver per partition; equals the committed offset between batches. */
  private readonly positions: number[];

  constructor(
    readonly topic: K,
    readonly groupId: string,
    private readonly handler: BatchHandler<K>,
    private readonly logs: PartitionLog[],
    private readonly committed: Map<number, number>,
    fromBeginning: boolean,
    private readonly opts: { logger: BusLogger; metrics: BusMetrics; maxBatchSize: number; retry: BackoffOptions },
    private readonly onClosed: () => void,
  ) {
    // Like Kafka's auto.offset.reset: a committed offset wins, otherwise earliest/latest.
    this.positions = logs.map((log, p) => committed.get(p) ?? (fromBeginning ? log.baseOffset : log.endOffset));
    this.loop = this.run();
  }

  notify(): void {
    this.generation++;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async run(): Promise<void> {
    let next = 0;
    while (!this.closed) {
      const seen = this.generation;
      let delivered = false;
      // Round-robin over partitions, one batch at a time, like a kafkajs consumer
      // with partitionsConsumedConcurrently = 1: order holds within a partition.
      for (let i = 0; i < this.logs.length && !this.closed; i++) {
        const p = (next + i) % this.logs.length;
        if (await this.deliverOne(p)) {
          delivered = true;
          next = (p + 1) % this.logs.length;
          break;
        }
      }
      if (!delivered && !this.closed && seen === this.generation) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    }
  }

  private async deliverOne(partition: number): Promise<boolean> {
    const log = this.logs[partition];
    let position = this.positions[partition];
    if (position < log.baseOffset) {
      // Retention dropped messages this group never committed (Kafka's
      // OFFSET_OUT_OF_RANGE + reset to earliest): loud, because it is loss.
      this.opts.logger.warn(
        { topic: this.topic, partition, groupId: this.groupId, lost: log.baseOffset - position },
        'in-process bus retention overtook an uncommitted consumer group',
      );
      position = log.baseOffset;
      this.positions[partition] = position;
    }
    if (position >= log.endOffset) return false;

    const values = log.slice(position, this.opts.maxBatchSize) as TopicPayloads[K][];
    const lastOffset = position + values.length - 1;
    const batch = { topic: this.topic, partition, values, lastOffset: String(lastOffset) };

    for (let attempt = 1; ; attempt++) {
      try {
        // The same values are redelivered on failure: the handler sees the batch again, never a gap.
        await this.handler(batch);
        break;
      } catch (err) {
        this.opts.metrics.handlerFailed?.(this.topic, this.groupId);
        const delay = backoffDelay(attempt, this.opts.retry);
        this.opts.logger.warn(
          { topic: this.topic, partition, groupId: this.groupId, attempt, delayMs: delay, err: describeError(err) },
          'batch handler failed; redelivering after backoff',
        );
        if (this.closed) return false;
        await sleep(delay, this.abort.signal);
        // Closing abandons the batch uncommitted: the next subscriber of the group gets it again.
        if (this.closed) return false;
      }
    }
    this.positions[partition] = lastOffset + 1;
    this.committed.set(partition, lastOffset + 1);
    this.opts.metrics.consumed?.(this.topic, this.groupId, values.length);
    return true;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.abort.abort();
      this.notify();
      this.onClosed();
    }
    // An in-flight handler is allowed to finish (and commit); a backoff is cut short.
    await this.loop;
  }
}

/**
 * Standalone-mode bus: the same at-least-once, commit-after-handler semantics
 * as KafkaBus, in memory. Values are passed by reference (no codec): handlers
 * must not mutate them, since every group sees the same objects.
 */
export class InProcessBus implements EventBus {
  readonly kind = 'in-process' as const;
  private connected = false;
  private closed = false;
  private readonly topics = new Map<TopicName, PartitionLog[]>();
  /** groupId -> topic -> partition -> next offset to consume. Outlives subscriptions, like Kafka's __consumer_offsets. */
  private readonly offsets = new Map<string, Map<TopicName, Map<number, number>>>();
  private readonly subscriptions = new Set<ActiveSubscription>();
  private readonly partitions: number;
  private readonly perPartitionCap: number;
  private readonly metrics: BusMetrics;

  constructor(private readonly options: InProcessBusOptions) {
    this.partitions = options.partitions ?? 4;
    const retained = options.maxRetainedPerTopic ?? 10_000;
    if (!Number.isInteger(this.partitions) || this.partitions < 1 || !Number.isInteger(retained) || retained < 1) {
      throw new BusError(BusErrorCode.InvalidOptions, 'partitions and maxRetainedPerTopic must be positive integers');
    }
    this.perPartitionCap = Math.max(1, Math.ceil(retained / this.partitions));
    this.metrics = options.metrics ?? {};
  }

  async connect(): Promise<void> {
    if (this.closed) throw new BusError(BusErrorCode.Closed, 'bus is closed');
    this.connected = true;
  }

  isHealthy(): boolean {
    return this.connected && !this.closed;
  }

  private ensureOpen(): void {
    if (this.closed) throw new BusError(BusErrorCode.Closed, 'bus is closed');
    if (!this.connected) throw new BusError(BusErrorCode.NotConnected, 'bus is not connected; call connect() first');
  }

  private logsFor(topic: TopicName): PartitionLog[] {
    if (!KNOWN_TOPICS.has(topic)) throw new BusError(BusErrorCode.UnknownTopic, `unknown topic ${String(topic)}`);
    let logs = this.topics.get(topic);
    if (!logs) {
      logs = Array.from({ length: this.partitions }, () => new PartitionLog());
      this.topics.set(topic, logs);
    }
    return logs;
  }

  async publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void> {
    this.ensureOpen();
    if (values.length === 0) return;
    const logs = this.logsFor(topic);
    const keyOf = topicKey[topic];
    // Keys first: a value whose key cannot be computed fails the whole batch, as a Kafka send would.
    const placed = values.map((v) => [partitionFor(keyOf(v), this.partitions), v] as const);
    for (const [p, v] of placed) logs[p].append(v, this.perPartitionCap);
    this.metrics.published?.(topic, values.length);
    for (const sub of this.subscriptions) if (sub.topic === topic) sub.notify();
  }

  async subscribe<K extends TopicName>(
    topic: K,
    handler: BatchHandler<K>,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    this.ensureOpen();
    if (!options.groupId) throw new BusError(BusErrorCode.InvalidOptions, 'groupId is required');
    for (const s of this.subscriptions) {
      if (s.topic === topic && s.groupId === options.groupId) {
        // Kafka would split partitions between the two members; standalone mode has one member per group.
        throw new BusError(
          BusErrorCode.DuplicateSubscription,
          `group ${options.groupId} already has an active subscription to ${topic}`,
        );
      }
    }
    const logs = this.logsFor(topic);
    let byTopic = this.offsets.get(options.groupId);
    if (!byTopic) {
      byTopic = new Map();
      this.offsets.set(options.groupId, byTopic);
    }
    let committed = byTopic.get(topic);
    if (!committed) {
      committed = new Map();
      byTopic.set(topic, committed);
    }
    const sub: InProcessSubscription<K> = new InProcessSubscription<K>(
      topic,
      options.groupId,
      handler,
      logs,
      committed,
      options.fromBeginning ?? false,
      {
        logger: this.options.logger,
        metrics: this.metrics,
        maxBatchSize: Math.max(1, this.options.maxBatchSize ?? 500),
        retry: this.options.retry ?? {},
      },
      () => this.subscriptions.delete(sub),
    );
    this.subscriptions.add(sub);
    return sub;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }
}

export function createInProcessBus(options: InProcessBusOptions): EventBus {
  return new InProcessBus(options);
}

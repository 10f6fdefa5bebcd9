import type { TopicName, TopicPayloads } from '@ghostdns/contracts';

/** Position of a message in its topic; offsets are strings as in Kafka. */
export interface MessagePosition {
  topic: string;
  partition: number;
  offset: string;
}

/** A batch as a handler sees it: decoded values in partition order. */
export interface DecodedBatch<K extends TopicName> {
  topic: K;
  partition: number;
  values: TopicPayloads[K][];
  /** Last offset of the batch; committed only after the handler resolves. */
  lastOffset: string;
}

/**
 * Called once per batch. Resolving means the work is durable and the batch's
 * offsets may be committed; rejecting means nothing is committed and the batch
 * is delivered again after a backoff.
 */
export type BatchHandler<K extends TopicName> = (batch: DecodedBatch<K>) => Promise<void>;

export interface SubscribeOptions {
  groupId: string;
  fromBeginning?: boolean;
}

export interface Subscription {
  close(): Promise<void>;
}

/** Producer side: typed, keyed by contracts' topicKey, encoded by contracts' codec. */
export interface EventPublisher {
  publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void>;
}

/**
 * The bus every service talks to. KafkaBus (distributed) and InProcessBus
 * (standalone) both implement it and pass the same contract tests.
 */
export interface EventBus extends EventPublisher {
  readonly kind: 'kafka' | 'in-process';
  connect(): Promise<void>;
  subscribe<K extends TopicName>(topic: K, handler: BatchHandler<K>, options: SubscribeOptions): Promise<Subscription>;
  /** True when the bus can accept and deliver messages right now (for /readyz). */
  isHealthy(): boolean;
  close(): Promise<void>;
}

// Where QueryEvents go once built. The answer path only ever calls offer(),
// which is synchronous and never blocks. MemoryQueueSink is the plain bounded
// queue (tests, embedding without a data dir); SpoolingSink (spooling-sink.ts)
// implements the same interface with a disk spool behind it and is what the
// service runs.
import type { EventPublisher } from '@ghostdns/bus';
import { Topics, type QueryEvent } from '@ghostdns/contracts';
import { noopResolverMetrics, silentLogger, type EdgeLogger, type ResolverMetrics } from '../metrics.js';
import { RingBuffer } from './ring-buffer.js';

export interface QueryEventSink {
  /** Accepts an event; never throws, never waits. */
  offer(event: QueryEvent): void;
  /** Events accepted but not yet confirmed published. */
  readonly depth: number;
  /** Stops accepting, publishes what remains within timeoutMs; the rest is dropped and counted. */
  close(timeoutMs: number): Promise<void>;
}

/** Queue tuning shared by both sinks. */
export interface QueueSinkOptions {
  publisher: EventPublisher;
  /** Queue bound; when full the OLDEST event is dropped. */
  capacity?: number;
  /** Flush as soon as this many events are queued. */
  batchSize?: number;
  /** Otherwise flush this long after the first queued event. */
  lingerMs?: number;
  /** Publish retry backoff: initial, doubling up to max. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  metrics?: ResolverMetrics;
  logger?: EdgeLogger;
}

export type MemoryQueueSinkOptions = QueueSinkOptions;

/** A queued event with its offer order, so a batch confirms exactly what it sent. */
export interface Seq {
  seq: number;
  event: QueryEvent;
}

/**
 * Bounded in-memory queue with a single flusher. Events stay in the queue
 * until a publish of them resolves, so a failing publisher is retried with
 * the same head of the queue and order is kept. Eviction while a publish is
 * in flight may count as dropped an event that ends up published (the store
 * dedupes on event_id; the counter is conservative).
 */
export class MemoryQueueSink implements QueryEventSink {
  private readonly publisher: EventPublisher;
  private readonly queue: RingBuffer<Seq>;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly metrics: ResolverMetrics;
  private readonly logger: EdgeLogger;
  private nextSeq = 0;
  private timer: NodeJS.Timeout | null = null;
  private publishing: Promise<void> | null = null;
  private failures = 0;
  private closed = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: MemoryQueueSinkOptions) {
    this.publisher = options.publisher;
    this.queue = new RingBuffer<Seq>(options.capacity ?? 10_000);
    this.batchSize = options.batchSize ?? 500;
    this.lingerMs = options.lingerMs ?? 50;
    this.retryInitialMs = options.retryInitialMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.metrics = options.metrics ?? noopResolverMetrics;
    this.logger = options.logger ?? silentLogger;
  }

  get depth(): number {
    return this.queue.length;
  }

  offer(event: QueryEvent): void {
    if (this.closed) {
      this.metrics.eventsDropped(1);
      return;
    }
    if (this.queue.push({ seq: this.nextSeq++, event })) this.metrics.eventsDropped(1);
    this.metrics.eventQueueDepth(this.queue.length);
    if (this.publishing !== null || this.failures > 0) return; // the flusher picks it up
    if (this.queue.length >= this.batchSize) this.schedule(0);
    else if (this.timer === null) this.schedule(this.lingerMs);
  }

  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const deadline = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      t.unref();
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (this.queue.length === 0 && this.publishing === null) this.notifyIdle();
    else if (this.publishing === null) this.schedule(0);
    const flushed = await deadline;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (!flushed) {
      const left = this.queue.dropFront(this.queue.length);
      if (left > 0) {
        this.metrics.eventsDropped(left);
        this.metrics.eventQueueDepth(0);
        this.logger.warn({ dropped: left }, 'query events dropped at shutdown: publish did not finish in time');
      }
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delayMs);
  }

  private flush(): void {
    if (this.publishing !== null || this.stopped) return;
    const batch = this.queue.peek(this.batchSize);
    if (batch.length === 0) {
      this.notifyIdle();
      return;
    }
    const lastSeq = batch[batch.length - 1]?.seq ?? -1;
    const values = batch.map((b) => b.event);
    this.publishing = Promise.resolve()
      .then(() => this.publisher.publish(Topics.queries, values))
      .then(
        () => {
          this.failures = 0;
          this.removeThrough(lastSeq);
        },
        (err: unknown) => {
          this.failures++;
          if (this.failures === 1 || this.failures % 20 === 0) {
            this.logger.warn({ err, failures: this.failures, depth: this.queue.length }, 'query event publish failed; retrying');
          }
        },
      )
      .finally(() => {
        this.publishing = null;
        if (this.failures > 0) {
          const backoff = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(this.failures - 1, 20));
          this.schedule(backoff);
        } else if (this.queue.length >= this.batchSize || (this.closed && this.queue.length > 0)) {
          this.schedule(0);
        } else if (this.queue.length > 0) {
          this.schedule(this.lingerMs);
        } else {
          this.notifyIdle();
        }
      });
  }

  /** Removes published events still at the head (some may have been evicted meanwhile). */
  private removeThrough(lastSeq: number): void {
    // Sequence numbers in the queue are contiguous (eviction is only ever at the head).
    const head = this.queue.peek(1)[0];
    if (head !== undefined && head.seq <= lastSeq) this.queue.dropFront(lastSeq - head.seq + 1);
    this.metrics.eventQueueDepth(this.queue.length);
  }

  private notifyIdle(): void {
    if (!this.closed) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }
}

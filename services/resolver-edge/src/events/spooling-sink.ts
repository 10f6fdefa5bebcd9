// The production QueryEventSink: a bounded memory queue in front of the bus,
// backed by an append-only disk spool (spool.ts) for when the bus is
// unreachable or slower than the traffic.
//
// Order: everything on disk is older than everything in memory, always. Only
// the OLDEST events in memory ever move to disk (to the end of the newest
// segment), and the flusher publishes disk first, then memory. So events reach
// the bus in the order they were offered; a batch whose publish timed out but
// later went through may be delivered twice (at-least-once; the store dedupes
// on event_id).
import type { EventPublisher } from '@ghostdns/bus';
import { currentSchemaVersion, loadSchema, schemaHistory, Topics, type QueryEvent } from '@ghostdns/contracts';
import { ResolverEdgeError } from '../errors.js';
import { noopResolverMetrics, silentLogger, type EdgeLogger, type ResolverMetrics } from '../metrics.js';
import { RingBuffer } from './ring-buffer.js';
import type { QueryEventSink, QueueSinkOptions, Seq } from './sink.js';
import { DiskSpool, type SpoolChunk } from './spool.js';

type AvroType = ReturnType<typeof loadSchema>;

/**
 * QueryEvent <-> spool record: the Avro binary encoding of the contracts
 * schema (compact, and checked by the schema on both sides). Each segment
 * records the schema version it was written with, so segments left by an
 * older release are read through Avro schema resolution after an upgrade.
 */
export class QueryEventSpoolCodec {
  readonly version: number;
  private readonly type: AvroType;
  private readonly readers = new Map<number, (payload: Buffer) => QueryEvent>();

  constructor() {
    this.type = loadSchema('QueryEvent');
    this.version = currentSchemaVersion('QueryEvent');
    this.readers.set(this.version, (payload) => this.type.fromBuffer(payload) as QueryEvent);
  }

  encode(event: QueryEvent): Buffer {
    return this.type.toBuffer(event);
  }

  decode(payload: Buffer, version: number): QueryEvent {
    let reader = this.readers.get(version);
    if (reader === undefined) {
      const writer = schemaHistory('QueryEvent').find((s) => s.version === version);
      if (writer === undefined) {
        throw new ResolverEdgeError('GHOSTDNS_RESOLVER_SPOOL_FAILED', `spool segment written with unknown QueryEvent schema v${version}`);
      }
      const resolver = this.type.createResolver(writer.type);
      reader = (p) => this.type.fromBuffer(p, resolver) as QueryEvent;
      this.readers.set(version, reader);
    }
    return reader(payload);
  }
}

/** The memory queue's tuning (capacity: beyond it, the spool being unusable or behind, the OLDEST event is dropped), plus the spool. */
export interface SpoolingSinkOptions extends QueueSinkOptions {
  spool: {
    /** spool.dir, or <data.dir>/spool; created on the first spill. */
    dir: string;
    /** spool.maxBytes: beyond it new events are dropped and counted (ghostdns_spool_dropped_total). */
    maxBytes: number;
    /** spool.fsyncIntervalMs: batched fsync of the segment being written. */
    fsyncIntervalMs: number;
    segmentBytes?: number;
  };
  /** Above this many events in memory the oldest go to disk. Default capacity / 2. */
  highWater?: number;
  /** A publish not settled by then counts as failed: the bus is treated as down and events spill. */
  publishTimeoutMs?: number;
}


type Waiting = 'none' | 'items' | 'batch' | 'close';

export class SpoolingSink implements QueryEventSink {
  private readonly publisher: EventPublisher;
  private readonly memory: RingBuffer<Seq>;
  private readonly spool: DiskSpool;
  private readonly codec = new QueryEventSpoolCodec();
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly publishTimeoutMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly metrics: ResolverMetrics;
  private readonly logger: EdgeLogger;
  private readonly opened: Promise<boolean>;
  private readonly loop: Promise<void>;
  private nextSeq = 0;
  private down = false;
  private failures = 0;
  /** A publish that timed out and has not settled: the next one waits for it instead of piling up. */
  private straggler: Promise<unknown> | null = null;
  private spillScheduled = false;
  private closing = false;
  private stopped = false;
  private finished = false;
  private waiting: Waiting = 'none';
  private wakeup: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(options: SpoolingSinkOptions) {
    this.publisher = options.publisher;
    const capacity = options.capacity ?? 10_000;
    this.memory = new RingBuffer<Seq>(capacity);
    this.highWater = Math.max(1, Math.min(capacity, options.highWater ?? Math.floor(capacity / 2)));
    this.lowWater = Math.floor(this.highWater / 2);
    this.batchSize = options.batchSize ?? 500;
    this.lingerMs = options.lingerMs ?? 50;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
    this.retryInitialMs = options.retryInitialMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.metrics = options.metrics ?? noopResolverMetrics;
    this.logger = options.logger ?? silentLogger;
    this.spool = new DiskSpool({
      ...options.spool,
      formatVersion: this.codec.version,
      logger: this.logger,
      onTruncated: () => this.metrics.spoolTruncated(1),
      onWriteFailed: (records) => this.metrics.spoolDropped(records),
    });
    this.opened = this.spool.open().then(
      () => {
        this.metrics.spoolDepthBytes(this.spool.depthBytes);
        return true;
      },
      (err: unknown) => {
        this.logger.error({ err, dir: options.spool.dir }, 'event spool unusable: events stay in memory only');
        return false;
      },
    );
    this.loop = this.run().catch((err: unknown) => this.logger.error({ err }, 'event flusher stopped unexpectedly'));
  }

  /** Events not yet published: in memory and in the spool. */
  get depth(): number {
    return this.memory.length + this.spool.pendingRecords;
  }

  /** Bytes held by the disk spool. */
  get spoolBytes(): number {
    return this.spool.depthBytes;
  }

  /** Resolves once the spool has found what a previous run left (false: spool unusable). */
  ready(): Promise<boolean> {
    return this.opened;
  }

  /** True while publishes fail or time out. */
  get busDown(): boolean {
    return this.down;
  }

  offer(event: QueryEvent): void {
    if (this.finished) {
      this.metrics.eventsDropped(1);
      return;
    }
    if (this.memory.push({ seq: this.nextSeq++, event })) this.metrics.eventsDropped(1);
    const n = this.memory.length;
    this.metrics.eventQueueDepth(n);
    if ((this.down || n > this.highWater) && this.spool.isOpen) this.scheduleSpill();
    if (this.waiting === 'items' || (this.waiting === 'batch' && n >= this.batchSize)) this.wake();
  }

  /**
   * Publishes what is in memory within timeoutMs when the bus is up and the
   * spool is empty; otherwise (or past the deadline) moves it to disk for the
   * next start. Only with no usable spool is anything dropped (and counted).
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    const spoolUsable = await Promise.race([this.opened, deadline.then(() => false)]);
    if (!spoolUsable || (!this.down && this.spool.pendingRecords === 0)) {
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      this.wake();
      await Promise.race([idle, deadline]);
    }
    this.stopped = true;
    this.wake();
    await Promise.race([this.loop, deadline]);
    this.spill(true);
    this.finished = true;
    const left = this.memory.dropFront(this.memory.length);
    if (left > 0) {
      this.metrics.eventsDropped(left);
      this.logger.warn({ dropped: left }, 'query events dropped at shutdown: neither published nor spooled');
    }
    this.metrics.eventQueueDepth(0);
    await this.spool.close().catch((err: unknown) => this.logger.error({ err }, 'event spool: close failed'));
    this.metrics.spoolDepthBytes(this.spool.depthBytes);
    if (this.spool.pendingRecords > 0) {
      this.logger.info({ records: this.spool.pendingRecords, bytes: this.spool.depthBytes }, 'event spool: events kept on disk for the next start');
    }
  }

  private async run(): Promise<void> {
    await this.opened;
    while (!this.stopped) {
      if (this.spool.isOpen && this.spool.pendingRecords > 0) {
        await this.replayChunk();
        continue;
      }
      if (this.memory.length === 0) {
        this.notifyIdle();
        await this.sleep('items', null);
        continue;
      }
      if (this.memory.length < this.batchSize && !this.closing) {
        await this.sleep('batch', this.lingerMs);
        if (this.stopped) break;
      }
      await this.publishMemory();
    }
  }

  /** Publishes the oldest spooled records; commits (and so deletes) them only once published. */
  private async replayChunk(): Promise<void> {
    const chunk = await this.spool.read(this.batchSize);
    if (chunk === null) {
      // read() may have deleted fully published segments.
      this.metrics.spoolDepthBytes(this.spool.depthBytes);
      // Spilled records still on their way to disk.
      await this.spool.flushed();
      if (this.spool.pendingRecords > 0 && !this.stopped) await this.sleep('close', this.lingerMs);
      return;
    }
    const events = this.decode(chunk);
    if (events.length > 0 && !(await this.tryPublish(events))) {
      await this.backoff();
      return;
    }
    await this.spool.commit(chunk);
    this.metrics.spoolReplayed(events.length);
    this.metrics.spoolDepthBytes(this.spool.depthBytes);
  }

  private decode(chunk: SpoolChunk): QueryEvent[] {
    const events: QueryEvent[] = [];
    let bad = 0;
    for (const payload of chunk.payloads) {
      try {
        events.push(this.codec.decode(payload, chunk.formatVersion));
      } catch (err) {
        if (bad++ === 0) this.logger.error({ err }, 'event spool: undecodable record dropped');
      }
    }
    if (bad > 0) this.metrics.spoolDropped(bad);
    return events;
  }

  private async publishMemory(): Promise<void> {
    const batch = this.memory.peek(this.batchSize);
    if (batch.length === 0) return;
    const lastSeq = batch[batch.length - 1]?.seq ?? -1;
    if (await this.tryPublish(batch.map((b) => b.event))) {
      this.removeThrough(lastSeq);
    } else {
      await this.backoff();
    }
  }

  private async tryPublish(values: QueryEvent[]): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.publishTimeoutMs);
    });
    try {
      if (this.straggler !== null) {
        const settled = await Promise.race([this.straggler.then(() => 'settled' as const, () => 'settled' as const), timedOut]);
        if (settled === 'timeout') {
          this.markDown(new ResolverEdgeError('GHOSTDNS_RESOLVER_SPOOL_FAILED', 'earlier publish still pending'));
          return false;
        }
        this.straggler = null;
      }
      const attempt = Promise.resolve().then(() => this.publisher.publish(Topics.queries, values));
      const outcome = await Promise.race([attempt.then(() => 'ok' as const), timedOut]);
      if (outcome === 'ok') {
        this.markUp();
        return true;
      }
      this.straggler = attempt;
      attempt.catch(() => undefined);
      this.markDown(new ResolverEdgeError('GHOSTDNS_RESOLVER_SPOOL_FAILED', `publish did not settle within ${this.publishTimeoutMs} ms`));
      return false;
    } catch (err) {
      this.markDown(err);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private markDown(err: unknown): void {
    this.failures++;
    if (!this.down) {
      this.down = true;
      this.logger.warn({ err, memory: this.memory.length, spooling: this.spool.isOpen }, 'event bus unreachable: spooling query events to disk');
    } else if (this.failures % 20 === 0) {
      this.logger.warn({ err, failures: this.failures, depth: this.depth }, 'event bus still unreachable');
    }
    if (this.spool.isOpen) this.scheduleSpill();
  }

  private markUp(): void {
    if (this.down) {
      this.logger.info({ failures: this.failures, spooled: this.spool.pendingRecords }, 'event bus reachable again: replaying the spool');
    }
    this.down = false;
    this.failures = 0;
  }

  private backoff(): Promise<void> {
    const ms = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(Math.max(this.failures - 1, 0), 20));
    return this.sleep('close', ms);
  }

  /** Removes published events still at the head (some may have been spilled meanwhile). */
  private removeThrough(lastSeq: number): void {
    // Sequence numbers in memory are contiguous: events only ever leave from the head.
    const head = this.memory.peek(1)[0];
    if (head !== undefined && head.seq <= lastSeq) this.memory.dropFront(lastSeq - head.seq + 1);
    this.metrics.eventQueueDepth(this.memory.length);
  }

  private scheduleSpill(): void {
    if (this.spillScheduled) return;
    this.spillScheduled = true;
    // Encoding and enqueueing happen after the current batch of answers, never inside offer().
    setImmediate(() => {
      this.spillScheduled = false;
      this.spill(false);
    });
  }

  /** Moves the oldest events in memory to the spool: all of them when the bus is down or at close. */
  private spill(all: boolean): void {
    if (!this.spool.isOpen) return;
    const keep = all || this.down || this.closing ? 0 : this.lowWater;
    const n = this.memory.length - keep;
    if (n <= 0) return;
    const items = this.memory.peek(n);
    this.memory.dropFront(n);
    let spilled = 0;
    let dropped = 0;
    for (const { event } of items) {
      let payload: Buffer;
      try {
        payload = this.codec.encode(event);
      } catch (err) {
        if (dropped === 0) this.logger.error({ err }, 'event spool: event does not fit the QueryEvent schema; dropped');
        dropped++;
        continue;
      }
      if (this.spool.enqueue(payload)) spilled++;
      else dropped++;
    }
    if (dropped > 0) this.metrics.spoolDropped(dropped);
    this.metrics.spoolWritten(spilled);
    this.metrics.eventQueueDepth(this.memory.length);
    this.metrics.spoolDepthBytes(this.spool.depthBytes);
    if (this.waiting === 'items' || this.waiting === 'batch') this.wake();
  }

  private sleep(waiting: Waiting, ms: number | null): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const done = (): void => {
        if (timer !== null) clearTimeout(timer);
        this.wakeup = null;
        this.waiting = 'none';
        resolve();
      };
      this.waiting = waiting;
      this.wakeup = done;
      if (ms !== null) timer = setTimeout(done, ms);
    });
  }

  private wake(): void {
    this.wakeup?.();
  }

  private notifyIdle(): void {
    const ws = this.idleWaiters;
    if (ws.length === 0) return;
    this.idleWaiters = [];
    for (const w of ws) w();
  }
}

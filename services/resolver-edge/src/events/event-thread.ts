// Query events off the answer thread. The answer path writes a compact record
// (answer-record.ts) into a reusable buffer: no event object, no Avro, no
// kafkajs on this thread. Every few milliseconds, or when the buffer is full,
// the buffer is transferred (zero-copy) to the event thread, which builds the
// events and runs the sink (memory queue, disk spool, Kafka). The thread has
// its own event loop, so publishing keeps pace while this one is busy answering.
// Device identities (presence) are built into events there too: the thread
// keeps a copy of the index, sent whole when it starts and then as changes.
import { Worker } from 'node:worker_threads';
import type { GhostConfig } from '@ghostdns/config';
import type { DeviceIdentityEntry, DeviceIdentityIndex } from '../device-identity.js';
import type { AnsweredListener, AnsweredQuery } from '../dns/handler.js';
import { noopResolverMetrics, silentLogger, type EdgeLogger, type ResolverMetrics } from '../metrics.js';
import { MAX_ANSWER_RECORD_BYTES, writeAnswerRecord } from './answer-record.js';
import type { EventThreadData, FromEventThread, SinkMetricsReport, ToEventThread } from './event-thread-protocol.js';
import type { AnswerRecorder } from './producer.js';

/** The part of a worker_threads Worker the recorder uses (tests pass a stand-in). */
export interface EventThreadHandle {
  postMessage(message: ToEventThread, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (message: FromEventThread) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
}

export interface ThreadedEventRecorderOptions {
  config: GhostConfig;
  /** Disk spool of the thread's SpoolingSink; null: memory queue only. */
  spoolDir: string | null;
  clientIdSuffix: string;
  metrics?: ResolverMetrics;
  logger?: EdgeLogger;
  /** Bytes per transferred buffer. */
  bufferBytes?: number;
  /** Longest a record waits before its buffer is sent. */
  flushIntervalMs?: number;
  /** Bytes sent but not yet taken by the thread; beyond it records are dropped and counted. */
  maxInFlightBytes?: number;
  /** Starts the thread (default: a worker_threads Worker on event-thread-worker.ts). */
  spawn?: (data: EventThreadData) => EventThreadHandle;
  /** The process's device identities, copied to the thread for the events' `device`. */
  devices?: DeviceIdentityIndex;
}

function spawnWorker(data: EventThreadData): EventThreadHandle {
  return new Worker(new URL('./event-thread-boot.mjs', import.meta.url), {
    workerData: data,
    // The bootstrap registers tsx itself; inheriting the parent's loader flags would register it twice.
    execArgv: [],
    name: 'ghostdns-events',
  });
}

const RESTART_DELAY_MS = 1_000;

export class ThreadedEventRecorder implements AnswerRecorder {
  private readonly options: ThreadedEventRecorderOptions;
  private readonly metrics: ResolverMetrics;
  private readonly logger: EdgeLogger;
  private readonly bufferBytes: number;
  private readonly flushIntervalMs: number;
  private readonly maxInFlightBytes: number;
  private thread: EventThreadHandle | null = null;
  private buffer: Buffer;
  private length = 0;
  private count = 0;
  private timer: NodeJS.Timeout | null = null;
  private inFlightBytes = 0;
  private inFlightRecords = 0;
  private threadDepth = 0;
  private closing = false;
  private closed: (() => void) | null = null;
  /** Addresses whose identity changed since the thread was last told. */
  private readonly changedAddresses = new Set<string>();
  private devicesImmediate: NodeJS.Immediate | null = null;
  private readonly unsubscribeDevices: () => void;

  constructor(options: ThreadedEventRecorderOptions) {
    this.options = options;
    this.metrics = options.metrics ?? noopResolverMetrics;
    this.logger = options.logger ?? silentLogger;
    this.bufferBytes = Math.max(options.bufferBytes ?? 256 * 1024, MAX_ANSWER_RECORD_BYTES * 4);
    this.flushIntervalMs = options.flushIntervalMs ?? 10;
    this.maxInFlightBytes = options.maxInFlightBytes ?? 64 * 1024 * 1024;
    this.buffer = Buffer.allocUnsafeSlow(this.bufferBytes);
    this.start();
    this.unsubscribeDevices = options.devices?.onChange(this.onDevicesChanged) ?? (() => undefined);
  }

  /** Events recorded and not yet handed to the thread's sink, plus the sink's queue. */
  get depth(): number {
    return this.count + this.inFlightRecords + this.threadDepth;
  }

  readonly record: AnsweredListener = (answer: AnsweredQuery, responseTimeUs: number): void => {
    if (this.closing) {
      this.metrics.eventsDropped(1);
      return;
    }
    if (this.length + MAX_ANSWER_RECORD_BYTES > this.bufferBytes) this.flush();
    if (this.length + MAX_ANSWER_RECORD_BYTES > this.bufferBytes) {
      // flush() could not send: the thread is behind by maxInFlightBytes or gone.
      this.metrics.eventsDropped(1);
      return;
    }
    try {
      this.length = writeAnswerRecord(this.buffer, this.length, answer, responseTimeUs);
      this.count++;
    } catch (err) {
      this.logger.error({ err }, 'could not record query event');
      return;
    }
    if (this.timer === null) {
      this.timer = setTimeout(this.onTimer, this.flushIntervalMs);
      this.timer.unref();
    }
  };

  /** Sends what is buffered, asks the thread to publish or spool everything within timeoutMs, then stops it. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closing) return;
    this.unsubscribeDevices();
    this.flush();
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const thread = this.thread;
    if (thread === null) return;
    const done = new Promise<void>((resolve) => (this.closed = resolve));
    thread.postMessage({ type: 'close', timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    // The thread's own bound is timeoutMs; a margin for it to report, then it is cut off.
    const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs + 2_000)));
    const finished = await Promise.race([done.then(() => true), deadline]);
    clearTimeout(timer);
    if (!finished) {
      this.logger.warn({ pending: this.depth }, 'event thread did not finish in time; stopping it');
      this.metrics.eventsDropped(this.inFlightRecords);
    }
    this.thread = null;
    await thread.terminate();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };

  /**
   * Presence changes are batched per event-loop turn (a replay applies thousands at once). The
   * records answered before a change are sent ahead of it, and pending changes ahead of any later
   * records, so each event gets the identity that held when its answer was recorded.
   */
  private readonly onDevicesChanged = (addresses: readonly string[]): void => {
    if (this.closing) return;
    if (this.changedAddresses.size === 0) {
      this.flush();
      this.devicesImmediate = setImmediate(this.sendChangedDevices);
    }
    for (const address of addresses) this.changedAddresses.add(address);
  };

  private readonly sendChangedDevices = (): void => {
    if (this.devicesImmediate !== null) clearImmediate(this.devicesImmediate);
    this.devicesImmediate = null;
    const devices = this.options.devices;
    if (devices === undefined || this.changedAddresses.size === 0) return;
    const entries = [...this.changedAddresses].map((address): DeviceIdentityEntry => [address, devices.identityFor(address)]);
    this.changedAddresses.clear();
    // A thread that is restarting gets every address when it starts.
    this.thread?.postMessage({ type: 'devices', entries });
  };

  private flush(): void {
    this.sendChangedDevices();
    if (this.count === 0 || this.thread === null) return;
    if (this.inFlightBytes + this.length > this.maxInFlightBytes) {
      if (this.timer === null && !this.closing) {
        this.timer = setTimeout(this.onTimer, this.flushIntervalMs);
        this.timer.unref();
      }
      return;
    }
    const full = this.buffer;
    const message: ToEventThread = { type: 'records', buffer: full.buffer, length: this.length, count: this.count };
    this.inFlightBytes += this.length;
    this.inFlightRecords += this.count;
    this.buffer = Buffer.allocUnsafeSlow(this.bufferBytes);
    this.length = 0;
    this.count = 0;
    this.thread.postMessage(message, [message.buffer]);
  }

  private start(): void {
    const data: EventThreadData = {
      entry: new URL('./event-thread-worker.ts', import.meta.url).href,
      config: this.options.config,
      spoolDir: this.options.spoolDir,
      clientIdSuffix: this.options.clientIdSuffix,
    };
    const thread = (this.options.spawn ?? spawnWorker)(data);
    this.thread = thread;
    const devices = this.options.devices?.entries() ?? [];
    if (devices.length > 0) thread.postMessage({ type: 'devices', entries: devices });
    thread.on('message', (message) => this.onMessage(message));
    thread.on('error', (err) => this.logger.error({ err }, 'event thread failed'));
    thread.on('exit', (code) => {
      if (this.thread !== thread) return;
      // Records it had not taken are gone with it; the spool keeps what it had written.
      this.metrics.eventsDropped(this.inFlightRecords);
      this.inFlightBytes = 0;
      this.inFlightRecords = 0;
      this.threadDepth = 0;
      this.thread = null;
      if (this.closing) {
        this.closed?.();
        return;
      }
      this.logger.error({ code }, 'event thread exited; restarting it');
      setTimeout(() => {
        if (!this.closing) this.start();
      }, RESTART_DELAY_MS).unref();
    });
  }

  private onMessage(message: FromEventThread): void {
    switch (message.type) {
      case 'ready':
        this.logger.debug({}, 'event thread ready');
        break;
      case 'ack':
        this.inFlightBytes -= message.bytes;
        this.inFlightRecords -= message.count;
        break;
      case 'metrics':
        this.applyReport(message.report);
        break;
      case 'closed':
        this.closed?.();
        break;
    }
  }

  private applyReport(report: SinkMetricsReport): void {
    if (report.eventsDropped > 0) this.metrics.eventsDropped(report.eventsDropped);
    if (report.spoolWritten > 0) this.metrics.spoolWritten(report.spoolWritten);
    if (report.spoolReplayed > 0) this.metrics.spoolReplayed(report.spoolReplayed);
    if (report.spoolDropped > 0) this.metrics.spoolDropped(report.spoolDropped);
    if (report.spoolTruncated > 0) this.metrics.spoolTruncated(report.spoolTruncated);
    this.threadDepth = report.queueDepth;
    this.metrics.eventQueueDepth(report.queueDepth);
    this.metrics.spoolDepthBytes(report.spoolDepthBytes);
  }
}

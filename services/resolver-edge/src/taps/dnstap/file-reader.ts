// Backfill from dnstap capture files: the unidirectional Frame Streams file
// format BIND9 (`dnstap-output file`), Unbound's tools, `fstrm_capture` and
// `dnstap -w` write and `dnstap-read` reads: START (content type
// protobuf:dnstap.Dnstap), data frames, STOP — several such runs may follow
// each other (concatenated files). Streamed chunk by chunk with the stream
// paused while a batch is consumed, so memory stays constant however big the
// file; `.gz` files are gunzipped on the fly.
import { createReadStream, type ReadStream } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { QueryEvent } from '@ghostdns/contracts';
import { ResolverEdgeError } from '../../errors.js';
import { DnstapEventBuilder, type DnstapSkip } from './event-builder.js';
import { DEFAULT_MAX_FRAME_BYTES, DNSTAP_CONTENT_TYPE, FrameStreamDecoder, type ControlFrame, type FrameHandler } from './frame-streams.js';
import type { DnstapMetrics, DnstapSkipReason } from './metrics.js';

export interface DnstapFileReadOptions {
  /** node.id (messages without identity) and node.pop of the events. */
  node: { id: string; pop: string };
  /** Events per batch, roughly: a batch is yielded once it holds at least this many (default 1000). */
  batchSize?: number;
  /** Pairing window in message time (default 5000 ms, as the live tap). */
  pairTimeoutMs?: number;
  maxPending?: number;
  maxFrameBytes?: number;
  eventWire?: boolean;
  metrics?: DnstapMetrics;
}

export interface DnstapBatch {
  events: QueryEvent[];
  /** Frames/messages of this stretch of the file that did not become events, with the reason. */
  skipped: DnstapSkip[];
}

export interface DnstapFileStats {
  /** Data frames read (= dnstap messages; what `dnstap-read` prints one line for). */
  frames: number;
  events: number;
  skipped: Partial<Record<DnstapSkipReason, number>>;
  /** START…STOP runs read. */
  streams: number;
  /** File bytes read so far, as on disk (compressed for .gz): progress and ETA of an import. */
  bytes: number;
}

type FileState = 'await_start' | 'data' | 'stopped';

/**
 * A dnstap file as an async iterable of event batches. `stats` is complete
 * once iteration has finished. A file that cannot be framed (not Frame
 * Streams, wrong content type, corrupt length) ends the iteration with
 * ResolverEdgeError GHOSTDNS_TAP_DNSTAP_FILE naming the file and byte offset;
 * batches yielded before stay valid. A file cut inside a frame (a capture
 * still being written) ends normally with a `truncated` skip.
 */
export class DnstapFileReader implements AsyncIterable<DnstapBatch> {
  readonly stats: DnstapFileStats = { frames: 0, events: 0, skipped: {}, streams: 0, bytes: 0 };
  private readonly batchSize: number;
  private readonly maxFrameBytes: number;

  constructor(
    readonly path: string,
    private readonly options: DnstapFileReadOptions,
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? 1_000);
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DnstapBatch> {
    let batch: DnstapBatch = { events: [], skipped: [] };
    const skip = (s: DnstapSkip): void => {
      this.stats.skipped[s.reason] = (this.stats.skipped[s.reason] ?? 0) + 1;
      batch.skipped.push(s);
    };
    const builder = new DnstapEventBuilder({
      node: this.options.node,
      emit: (event) => {
        this.stats.events++;
        batch.events.push(event);
      },
      onSkip: skip,
      clock: 'message',
      ...(this.options.pairTimeoutMs !== undefined ? { pairTimeoutMs: this.options.pairTimeoutMs } : {}),
      ...(this.options.maxPending !== undefined ? { maxPending: this.options.maxPending } : {}),
      ...(this.options.eventWire !== undefined ? { eventWire: this.options.eventWire } : {}),
      ...(this.options.metrics !== undefined ? { metrics: this.options.metrics } : {}),
    });
    const decoder = new FrameStreamDecoder(this.maxFrameBytes);
    let state: FileState = 'await_start';
    const fail = (message: string): ResolverEdgeError => new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_FILE', `${this.path}: ${message}`);
    const handler: FrameHandler = {
      data: (payload) => {
        if (state !== 'data') throw fail('data frame outside START…STOP');
        this.stats.frames++;
        builder.accept(payload);
      },
      control: (frame: ControlFrame) => {
        if (frame.type === 'START' && state !== 'data') {
          const [contentType] = frame.contentTypes;
          if (contentType !== undefined && contentType !== DNSTAP_CONTENT_TYPE) {
            throw new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_CONTENT_TYPE', `${this.path}: content type ${contentType}, not ${DNSTAP_CONTENT_TYPE}`);
          }
          state = 'data';
          this.stats.streams++;
        } else if (frame.type === 'STOP' && state === 'data') {
          state = 'stopped';
        } else {
          throw fail(`unexpected ${frame.type} control frame (files carry only START and STOP)`);
        }
      },
    };

    let offset = 0;
    const { stream, file } = openStream(this.path);
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      try {
        decoder.push(bytes, handler);
      } catch (err) {
        if (err instanceof ResolverEdgeError && err.code !== 'GHOSTDNS_TAP_DNSTAP_FRAME') throw err;
        throw fail(`not a Frame Streams file near byte ${offset}: ${err instanceof Error ? err.message : String(err)}`);
      }
      offset += bytes.length;
      this.stats.bytes = file.bytesRead;
      if (batch.events.length >= this.batchSize) {
        yield* this.split(batch);
        batch = { events: [], skipped: [] };
      }
    }
    if (decoder.bufferedBytes > 0) skip({ reason: 'truncated', detail: `${decoder.bufferedBytes} bytes of an incomplete frame at the end` });
    else if (state === 'await_start') throw fail('no START control frame: not a dnstap Frame Streams file');
    builder.flush();
    if (batch.events.length > 0 || batch.skipped.length > 0) yield* this.split(batch);
  }

  /** One file chunk can hold thousands of frames: batches are cut to batchSize. */
  private *split(batch: DnstapBatch): Generator<DnstapBatch> {
    if (batch.events.length <= this.batchSize) {
      yield batch;
      return;
    }
    for (let i = 0; i < batch.events.length; i += this.batchSize) {
      yield { events: batch.events.slice(i, i + this.batchSize), skipped: i === 0 ? batch.skipped : [] };
    }
  }
}

function openStream(path: string): { stream: Readable; file: ReadStream } {
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  if (!path.endsWith('.gz')) return { stream: file, file };
  // pipeline() carries a read error of the file into the gunzip stream we iterate.
  return { stream: pipeline(file, createGunzip(), () => undefined), file };
}

/** Reads a dnstap Frame Streams file (gzip when the name ends in .gz) as batches of QueryEvents. */
export function readDnstapFile(path: string, options: DnstapFileReadOptions): DnstapFileReader {
  return new DnstapFileReader(path, options);
}

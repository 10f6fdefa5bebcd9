// Append-only disk spool: a directory of segment files holding opaque records,
// oldest segment first. The sink owns what a record means (an Avro-encoded
// QueryEvent); this file owns durability and order.
//
// Segment file:  "GDSPOOL1" | u32 BE payload-format version | records...
// Record:        u32 BE payload length | u32 BE CRC-32 (IEEE, zlib) of payload | payload
//
// A crash mid-write leaves at most a torn tail: a short header, a length that
// runs past the end of the file, or a CRC that does not match. Recovery
// truncates the segment there (and counts it); everything before it is kept.
// Every file operation runs on one serial chain, so appends, reads, deletes
// and fsyncs never interleave; nothing here is ever awaited on the answer path.
import { mkdir, open, readdir, readFile, rename, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ResolverEdgeError } from '../errors.js';
import { silentLogger, type EdgeLogger } from '../metrics.js';

export const SEGMENT_MAGIC = Buffer.from('GDSPOOL1', 'latin1');
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length + 4;
export const RECORD_HEADER_BYTES = 8;
/** No event comes near this (query/response wire are each ≤ 64 KiB); a larger length is a torn or corrupt header. */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** Bytes written per file operation, so one write never holds the chain for long. */
const MAX_WRITE_BYTES = 1024 * 1024;
const SEGMENT_NAME = /^(\d{12})\.seg$/;

export interface DiskSpoolOptions {
  dir: string;
  /** Cap on the bytes the spool holds (on disk plus not yet written). */
  maxBytes: number;
  /** Dirty segments are fdatasync'ed at most this often (batched fsync). */
  fsyncIntervalMs: number;
  /** A segment is closed and a new one started past this size. Default: maxBytes/16, between 64 KiB and 16 MiB. */
  segmentBytes?: number;
  /** Written into each new segment's header; handed back with every record read from it. */
  formatVersion: number;
  logger?: EdgeLogger;
  /** Records lost to a torn or corrupt tail found at recovery or while reading. */
  onTruncated?: (segment: string, droppedBytes: number) => void;
  /** Records lost because a write failed (disk full, I/O error). */
  onWriteFailed?: (records: number) => void;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  readonly formatVersion: number;
  /** Bytes known to be in the file (header included). */
  size: number;
  /** Next unread byte (records before it were published). */
  readOffset: number;
  /** Records between readOffset and size. */
  unread: number;
  handle: FileHandle | null;
  dirty: boolean;
}

/** Records handed out by read(); pass back to commit() once they are published. */
export interface SpoolChunk {
  readonly payloads: Buffer[];
  readonly formatVersion: number;
  readonly segmentSeq: number;
  readonly endOffset: number;
}

export class DiskSpool {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly fsyncIntervalMs: number;
  private readonly segmentBytes: number;
  private readonly formatVersion: number;
  private readonly logger: EdgeLogger;
  private readonly onTruncated: (segment: string, droppedBytes: number) => void;
  private readonly onWriteFailed: (records: number) => void;
  private readonly segments: Segment[] = [];
  private chain: Promise<void> = Promise.resolve();
  private nextSeq = 1;
  private dirReady = false;
  private opened = false;
  private closed = false;
  /** Records accepted by enqueue() and not yet written. */
  private buffer: Buffer[] = [];
  private bufferedBytes = 0;
  private writeScheduled = false;
  private writesDone: Promise<void> = Promise.resolve();
  private diskBytes = 0;
  private fsyncTimer: NodeJS.Timeout | null = null;
  private writeFailing = false;
  /** Records taken out of the buffer by a write that has not finished. */
  private writing = 0;

  constructor(options: DiskSpoolOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.fsyncIntervalMs = options.fsyncIntervalMs;
    this.segmentBytes =
      options.segmentBytes ?? Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.floor(options.maxBytes / 16)));
    this.formatVersion = options.formatVersion;
    this.logger = options.logger ?? silentLogger;
    this.onTruncated = options.onTruncated ?? (() => undefined);
    this.onWriteFailed = options.onWriteFailed ?? (() => undefined);
  }

  /** Bytes held: segment files plus records accepted but not yet written. */
  get depthBytes(): number {
    return this.diskBytes + this.bufferedBytes;
  }

  /** Records not yet committed (on disk or waiting to be written). */
  get pendingRecords(): number {
    let n = this.buffer.length + this.writing;
    for (const s of this.segments) n += s.unread;
    return n;
  }

  get isOpen(): boolean {
    return this.opened && !this.closed;
  }

  /**
   * Finds the segments a previous run left (oldest first) and truncates torn
   * tails. Creates nothing: the directory only appears once something spills.
   */
  open(): Promise<void> {
    return this.enqueueOp(async () => {
      let names: string[];
      try {
        names = await readdir(this.dir);
        this.dirReady = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        names = [];
      }
      const found = names
        .map((n) => SEGMENT_NAME.exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ name: m[0], seq: Number(m[1]) }))
        .sort((a, b) => a.seq - b.seq);
      for (const { name, seq } of found) {
        this.nextSeq = Math.max(this.nextSeq, seq + 1);
        const segment = await this.recover(join(this.dir, name), seq);
        if (segment !== null) {
          this.segments.push(segment);
          this.diskBytes += segment.size;
        }
      }
      this.opened = true;
      if (this.segments.length > 0) {
        this.logger.info(
          { dir: this.dir, segments: this.segments.length, records: this.pendingRecords, bytes: this.diskBytes },
          'event spool: replaying segments left by a previous run',
        );
      }
    });
  }

  /**
   * Accepts one record for appending (synchronously, never waits); false when
   * the spool is full or closed and the record was not taken.
   */
  enqueue(payload: Buffer): boolean {
    if (!this.opened || this.closed) return false;
    const bytes = RECORD_HEADER_BYTES + payload.length;
    if (payload.length > MAX_RECORD_BYTES || this.depthBytes + bytes > this.maxBytes) return false;
    this.buffer.push(payload);
    this.bufferedBytes += bytes;
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      // Coalesce everything enqueued in this turn of the event loop into one write.
      this.writesDone = new Promise<void>((resolve) => {
        setImmediate(() => {
          this.writeScheduled = false;
          this.enqueueOp(() => this.writeBuffered()).then(resolve, resolve);
        });
      });
    }
    return true;
  }

  /** Resolves once everything enqueued so far is written (not necessarily fsynced). */
  async flushed(): Promise<void> {
    while (this.writeScheduled || this.buffer.length > 0) {
      const done = this.writesDone;
      await done;
      if (this.closed || this.writesDone === done) break;
    }
  }

  /**
   * The oldest unpublished records (up to maxRecords), or null when nothing is
   * on disk yet. Does not remove them: commit() does, once they are published.
   */
  read(maxRecords: number): Promise<SpoolChunk | null> {
    return this.enqueueOp(async () => {
      for (;;) {
        const seg = this.segments[0];
        if (seg === undefined || this.closed) return null;
        if (seg.readOffset >= seg.size) {
          if (seg !== this.active() || this.buffer.length === 0) {
            await this.removeSegment(seg);
            continue;
          }
          return null;
        }
        const chunk = await this.readFrom(seg, maxRecords);
        if (chunk !== null) return chunk;
      }
    });
  }

  /** Marks a chunk published; a segment fully published is deleted. */
  commit(chunk: SpoolChunk): Promise<void> {
    return this.enqueueOp(async () => {
      const seg = this.segments.find((s) => s.seq === chunk.segmentSeq);
      if (seg === undefined || chunk.endOffset <= seg.readOffset) return;
      seg.readOffset = chunk.endOffset;
      seg.unread = Math.max(0, seg.unread - chunk.payloads.length);
      if (seg.readOffset >= seg.size && (seg !== this.active() || this.buffer.length === 0)) {
        await this.removeSegment(seg);
      }
    });
  }

  /** Writes what is buffered, fsyncs, closes files. Segments stay for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.enqueueOp(async () => {
      await this.writeBuffered();
      this.closed = true;
      if (this.fsyncTimer !== null) clearTimeout(this.fsyncTimer);
      this.fsyncTimer = null;
      for (const seg of this.segments) await this.closeHandle(seg);
    });
    this.closed = true;
  }

  private active(): Segment | undefined {
    const last = this.segments[this.segments.length - 1];
    return last?.handle !== null ? last : undefined;
  }

  private enqueueOp<T>(op: () => Promise<T>): Promise<T> {
    const run = this.chain.then(op);
    // The chain survives a failed op; the caller still sees the failure.
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async recover(path: string, seq: number): Promise<Segment | null> {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      this.logger.error({ err, path }, 'event spool: cannot read segment; skipping it');
      return null;
    }
    if (data.length < SEGMENT_HEADER_BYTES || !data.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) {
      if (data.length < SEGMENT_HEADER_BYTES && SEGMENT_MAGIC.subarray(0, data.length).equals(data.subarray(0, SEGMENT_MAGIC.length))) {
        // Crashed while creating the segment: nothing in it.
        await unlink(path).catch(() => undefined);
        if (data.length > 0) this.onTruncated(path, data.length);
        return null;
      }
      // Not ours (or its header is damaged): keep it aside for a human, never replay it.
      this.logger.error({ path }, 'event spool: segment has no valid header; moved aside as .bad');
      this.onTruncated(path, data.length);
      await rename(path, `${path}.bad`).catch(() => undefined);
      return null;
    }
    const formatVersion = data.readUInt32BE(SEGMENT_MAGIC.length);
    const { records, end } = scanRecords(data, SEGMENT_HEADER_BYTES, data.length, Number.MAX_SAFE_INTEGER);
    if (end < data.length) {
      this.logger.warn({ path, keptBytes: end, droppedBytes: data.length - end }, 'event spool: torn or corrupt tail truncated');
      this.onTruncated(path, data.length - end);
      await truncate(path, end);
    }
    if (records.length === 0) {
      await unlink(path).catch(() => undefined);
      return null;
    }
    return { seq, path, formatVersion, size: end, readOffset: SEGMENT_HEADER_BYTES, unread: records.length, handle: null, dirty: false };
  }

  private async readFrom(seg: Segment, maxRecords: number): Promise<SpoolChunk | null> {
    const length = Math.min(seg.size - seg.readOffset, MAX_WRITE_BYTES + MAX_RECORD_BYTES);
    const data = Buffer.allocUnsafe(length);
    const fh = await open(seg.path, 'r');
    let got = 0;
    try {
      while (got < length) {
        const { bytesRead } = await fh.read(data, got, length - got, seg.readOffset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } finally {
      await fh.close();
    }
    const { records, end } = scanRecords(data, 0, got, maxRecords);
    if (records.length === 0) {
      // What was written can always be read back: anything else is damage. Skip the rest of this segment.
      this.logger.error({ path: seg.path, offset: seg.readOffset }, 'event spool: unreadable record; skipping the rest of the segment');
      this.onTruncated(seg.path, seg.size - seg.readOffset);
      seg.readOffset = seg.size;
      seg.unread = 0;
      return null;
    }
    return { payloads: records, formatVersion: seg.formatVersion, segmentSeq: seg.seq, endOffset: seg.readOffset + end };
  }

  private async writeBuffered(): Promise<void> {
    while (this.buffer.length > 0 && !this.closed) {
      let seg: Segment | undefined;
      let room = MAX_WRITE_BYTES;
      try {
        seg = await this.segmentFor(RECORD_HEADER_BYTES + (this.buffer[0]?.length ?? 0));
        room = Math.min(MAX_WRITE_BYTES, this.segmentBytes - seg.size);
      } catch (err) {
        seg = undefined;
        if (!this.writeFailing) this.logger.error({ err, dir: this.dir }, 'event spool: cannot open a segment');
      }
      // At least one record per write; otherwise stop at the segment size.
      let n = 0;
      let bytes = 0;
      while (n < this.buffer.length) {
        const next = RECORD_HEADER_BYTES + (this.buffer[n]?.length ?? 0);
        if (n > 0 && bytes + next > room) break;
        bytes += next;
        n++;
      }
      const batch = this.buffer.splice(0, n);
      this.writing = batch.length;
      const out = Buffer.allocUnsafe(bytes);
      let pos = 0;
      for (const payload of batch) {
        out.writeUInt32BE(payload.length, pos);
        out.writeUInt32BE(crc32(payload), pos + 4);
        payload.copy(out, pos + RECORD_HEADER_BYTES);
        pos += RECORD_HEADER_BYTES + payload.length;
      }
      try {
        if (seg === undefined || seg.handle === null) throw new ResolverEdgeError('GHOSTDNS_RESOLVER_SPOOL_FAILED', `no writable segment in ${this.dir}`);
        await writeFully(seg.handle, out);
        seg.size += bytes;
        seg.unread += batch.length;
        seg.dirty = true;
        this.diskBytes += bytes;
        this.scheduleFsync();
        if (this.writeFailing) this.logger.info({ dir: this.dir }, 'event spool: writing again');
        this.writeFailing = false;
      } catch (err) {
        // Logged once per streak of failures (a full disk fails every write); every loss is counted.
        if (!this.writeFailing) this.logger.error({ err, records: batch.length, dir: this.dir }, 'event spool: write failed; records lost');
        this.writeFailing = true;
        this.onWriteFailed(batch.length);
        // The file may hold part of this write beyond `size`: start a fresh segment next time.
        if (seg !== undefined) await this.closeHandle(seg).catch(() => undefined);
      } finally {
        this.bufferedBytes -= bytes;
        this.writing = 0;
      }
    }
  }

  private async segmentFor(bytes: number): Promise<Segment> {
    const current = this.active();
    if (current !== undefined && (current.size === SEGMENT_HEADER_BYTES || current.size + bytes <= this.segmentBytes)) return current;
    if (current !== undefined) await this.closeHandle(current);
    if (!this.dirReady) {
      await mkdir(this.dir, { recursive: true });
      this.dirReady = true;
    }
    const seq = this.nextSeq++;
    const path = join(this.dir, `${String(seq).padStart(12, '0')}.seg`);
    const handle = await open(path, 'wx');
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
    SEGMENT_MAGIC.copy(header, 0);
    header.writeUInt32BE(this.formatVersion, SEGMENT_MAGIC.length);
    try {
      await writeFully(handle, header);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
    const seg: Segment = {
      seq, path, formatVersion: this.formatVersion, size: SEGMENT_HEADER_BYTES, readOffset: SEGMENT_HEADER_BYTES, unread: 0, handle, dirty: true,
    };
    this.segments.push(seg);
    this.diskBytes += SEGMENT_HEADER_BYTES;
    return seg;
  }

  private scheduleFsync(): void {
    if (this.fsyncTimer !== null || this.closed) return;
    this.fsyncTimer = setTimeout(() => {
      this.fsyncTimer = null;
      this.enqueueOp(async () => {
        for (const seg of this.segments) {
          if (!seg.dirty || seg.handle === null) continue;
          seg.dirty = false;
          await seg.handle.datasync();
        }
      }).catch((err: unknown) => this.logger.error({ err }, 'event spool: fsync failed'));
    }, this.fsyncIntervalMs);
    this.fsyncTimer.unref();
  }

  private async closeHandle(seg: Segment): Promise<void> {
    const handle = seg.handle;
    if (handle === null) return;
    seg.handle = null;
    try {
      if (seg.dirty) await handle.datasync();
      seg.dirty = false;
    } finally {
      await handle.close();
    }
  }

  private async removeSegment(seg: Segment): Promise<void> {
    const i = this.segments.indexOf(seg);
    if (i >= 0) this.segments.splice(i, 1);
    this.diskBytes -= seg.size;
    const handle = seg.handle;
    seg.handle = null;
    await handle?.close().catch(() => undefined);
    await unlink(seg.path).catch((err: unknown) => this.logger.warn({ err, path: seg.path }, 'event spool: cannot delete published segment'));
  }
}

/** Valid records from `start` up to `limit` (at most maxRecords), and where the valid part ends. */
export function scanRecords(data: Buffer, start: number, limit: number, maxRecords: number): { records: Buffer[]; end: number } {
  const records: Buffer[] = [];
  let pos = start;
  while (records.length < maxRecords && pos + RECORD_HEADER_BYTES <= limit) {
    const length = data.readUInt32BE(pos);
    if (length > MAX_RECORD_BYTES || pos + RECORD_HEADER_BYTES + length > limit) break;
    const payload = data.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + length);
    if (crc32(payload) !== data.readUInt32BE(pos + 4)) break;
    records.push(payload);
    pos += RECORD_HEADER_BYTES + length;
  }
  return { records, end: pos };
}

async function writeFully(handle: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await handle.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { QueryEvent } from '@ghostdns/contracts';
import { ResolverEdgeError } from '../../errors.js';
import { BindQueryLogDecoder } from './decoder.js';
import { applyQueryError, QueryErrorIndex, type TapNode } from './events.js';
import { LineSplitter } from './lines.js';
import type { QuerylogSkipReason } from './parser.js';

/** `queries.log.3.gz` -> base `queries.log`, generation 3; `queries.log` -> generation -1 (the live file, newest). */
function rotationOf(file: string): { base: string; generation: number } {
  const name = file.endsWith('.gz') ? file.slice(0, -3) : file;
  const match = /^(.*)\.(\d+)$/.exec(name);
  if (match?.[1] !== undefined && match[2] !== undefined) return { base: match[1], generation: Number(match[2]) };
  return { base: name, generation: -1 };
}

/**
 * Orders files for import: every rotated set oldest first (BIND `versions` and logrotate number
 * the newest rotation .0 or .1, older ones higher; the unnumbered file is the newest), whatever
 * order they were given in. query-errors sets go first so that each query finds its error line.
 */
export function orderQuerylogFiles(files: readonly string[]): string[] {
  const keyed = files.map((file) => ({ file, ...rotationOf(file) }));
  const errorsFirst = (base: string): number => (path.basename(base).includes('error') ? 0 : 1);
  // Sets keep the order in which they were first named; within a set, oldest generation first.
  const setOrder = new Map<string, number>();
  for (const k of keyed) if (!setOrder.has(k.base)) setOrder.set(k.base, setOrder.size);
  return keyed
    .sort((a, b) => errorsFirst(a.base) - errorsFirst(b.base) || (setOrder.get(a.base) ?? 0) - (setOrder.get(b.base) ?? 0) || b.generation - a.generation)
    .map((k) => k.file);
}

export interface SkippedLine {
  reason: QuerylogSkipReason;
  file: string;
  /** 1-based line number in the (decompressed) file. */
  line: number;
}

/** What one step of an import read: events ready to store, and what was read to get them. */
export interface QuerylogImportChunk {
  events: QueryEvent[];
  /** Lines read since the previous chunk. */
  lines: number;
  /** Input bytes (compressed bytes for gzip files) read since the previous chunk. */
  bytes: number;
  skipped: SkippedLine[];
  /** query-errors lines read since the previous chunk. */
  errorLines: number;
}

export interface ReadQuerylogFilesOptions {
  node: TapNode;
  timezone: string;
  /** Events per chunk (default 5000). */
  batchSize?: number;
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Total input bytes of the files (for an ETA); fails with GHOSTDNS_TAP_QUERYLOG_FILE naming a missing file. */
export async function querylogFilesSize(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) {
    try {
      total += (await stat(file)).size;
    } catch (cause) {
      throw new ResolverEdgeError('GHOSTDNS_TAP_QUERYLOG_FILE', `cannot read ${file}`, { cause });
    }
  }
  return total;
}

/**
 * Reads BIND query logs (plain or gzip, in the given order — see orderQuerylogFiles) and
 * yields their events in chunks. Event ids are those the tailer gives the same lines, so an
 * import of files the tap already read adds no rows.
 */
export async function* readQuerylogFiles(files: readonly string[], options: ReadQuerylogFilesOptions): AsyncGenerator<QuerylogImportChunk> {
  const decoder = new BindQueryLogDecoder({ node: options.node, timezone: options.timezone });
  const batchSize = options.batchSize ?? 5000;
  const errors = new QueryErrorIndex();
  let chunk: QuerylogImportChunk = { events: [], lines: 0, bytes: 0, skipped: [], errorLines: 0 };

  for (const file of files) {
    let gzip: boolean;
    try {
      gzip = await isGzip(file);
    } catch (cause) {
      throw new ResolverEdgeError('GHOSTDNS_TAP_QUERYLOG_FILE', `cannot read ${file}`, { cause });
    }
    const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
    let rawBytes = 0;
    raw.on('data', (data) => {
      rawBytes += data.length;
    });
    const source = gzip ? raw.pipe(createGunzip()) : raw;
    raw.on('error', (err) => source.destroy(err));
    const splitter = new LineSplitter(0);
    let lineNumber = 0;
    const onLine = (line: string, offset: number): void => {
      lineNumber++;
      chunk.lines++;
      const decoded = decoder.decode(line, offset);
      switch (decoded.kind) {
        case 'skipped':
          chunk.skipped.push({ reason: decoded.reason, file, line: lineNumber });
          return;
        case 'query_error':
          chunk.errorLines++;
          errors.add(decoded, offset);
          return;
        case 'query': {
          const error = errors.take(decoded.query);
          if (error !== undefined) applyQueryError(decoded.event, error);
          chunk.events.push(decoded.event);
          return;
        }
      }
    };
    try {
      for await (const data of source as AsyncIterable<Buffer>) {
        splitter.push(data, onLine);
        if (chunk.events.length >= batchSize) {
          chunk.bytes += rawBytes;
          rawBytes = 0;
          yield chunk;
          chunk = { events: [], lines: 0, bytes: 0, skipped: [], errorLines: 0 };
        }
      }
      splitter.finish(onLine);
    } catch (cause) {
      throw new ResolverEdgeError('GHOSTDNS_TAP_QUERYLOG_FILE', `cannot read ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    chunk.bytes += rawBytes;
  }
  yield chunk;
}

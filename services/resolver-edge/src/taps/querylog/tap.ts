import { createHash } from 'node:crypto';
import { watch, type FSWatcher, type Stats } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ResolverEdgeError } from '../../errors.js';
import type { DeviceIdentityLookup } from '../../device-identity.js';
import type { QueryEventSink } from '../../events/sink.js';
import { silentLogger, type EdgeLogger } from '../../metrics.js';
import { BindQueryLogDecoder, type DecodedQuery } from './decoder.js';
import { applyQueryError, ERROR_MATCH_WINDOW_US, QueryErrorIndex, questionKey, type TapNode } from './events.js';
import { LineSplitter } from './lines.js';
import { noopQuerylogTapMetrics, type QuerylogFileRole, type QuerylogTapMetrics } from './metrics.js';
import { BindTimestampParser } from './timestamp.js';
import type { QueryErrorLine } from './parser.js';

export interface BindQueryLogTapOptions {
  /** queries.log (config tap.bindQuerylog). */
  queriesLog: string;
  /** query-errors.log (tap.bindQueryErrorsLog); default: query-errors.log beside queriesLog; null: none. */
  queryErrorsLog?: string | null;
  /** Where the read positions are kept: `<data.dir>/taps`. */
  stateDir: string;
  /** IANA zone of BIND's local timestamps (tap.bindTimezone); default: this process's zone. */
  timezone?: string;
  /** Identity the events carry (node.id, node.pop). */
  node: TapNode;
  sink: QueryEventSink;
  /** Who is behind a client address (VPN devices) when its line is read; default: nobody. */
  devices?: DeviceIdentityLookup;
  metrics?: QuerylogTapMetrics;
  logger?: EdgeLogger;
  /** Poll fallback interval (fs.watch is the fast path). Default 1000 ms. */
  pollIntervalMs?: number;
  /** How long a query waits for its query-errors line before it is emitted with rcode null. Default 2000 ms. */
  rcodeWaitMs?: number;
  /**
   * A dnstap tap on the same BIND is configured: it reports the same queries with their
   * rcodes, so this tap reads and keeps its position but emits nothing (dnstap wins).
   */
  supersededByDnstap?: boolean;
  /** With no stored position, start at the end of an existing queries.log (default) or at its start. */
  startAtEnd?: boolean;
}

/** Stored position of one followed file. */
interface FilePosition {
  dev: number;
  ino: number;
  offset: number;
  /** SHA-256 (hex, 32 chars) of the file's first line: tells a truncated-and-rewritten file from the one we read. */
  firstLine: string | null;
}

interface TapState {
  version: 1;
  queries: FilePosition | null;
  queryErrors: FilePosition | null;
}

interface PendingQuery {
  decoded: DecodedQuery;
  offset: number;
  readAtMs: number;
  matched: boolean;
}

const CHUNK_BYTES = 256 * 1024;
const FIRST_LINE_PROBE_BYTES = 4096;
const MAX_PENDING = 50_000;
const STATE_WRITE_INTERVAL_MS = 1000;
/** Siblings a rotation leaves the previous file under: BIND `versions` (.0) and logrotate (.1). */
const ROTATED_SUFFIXES = ['.0', '.1'];

function hashFirstLine(bytes: Buffer): string | null {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return null;
  return createHash('sha256').update(bytes.subarray(0, newline)).digest('hex').slice(0, 32);
}

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await stat(file);
  } catch {
    return null;
  }
}

async function readFirstLineHash(handle: FileHandle): Promise<string | null> {
  const probe = Buffer.alloc(FIRST_LINE_PROBE_BYTES);
  const { bytesRead } = await handle.read(probe, 0, probe.length, 0);
  return hashFirstLine(probe.subarray(0, bytesRead));
}

/** One file being followed by path: an open handle on the inode last seen there. */
class FollowedLog {
  handle: FileHandle | null = null;
  dev = 0;
  ino = 0;
  firstLine: string | null = null;
  /** Read position (everything before it went through the splitter). */
  readOffset = 0;
  splitter = new LineSplitter(0);
  /** The previous inode after a rename, read until its writer has moved on. */
  retired: { handle: FileHandle; readOffset: number; splitter: LineSplitter; size: number } | null = null;

  constructor(readonly file: string, readonly role: QuerylogFileRole) {}

  position(commitOffset: number): FilePosition | null {
    if (this.handle === null) return null;
    return { dev: this.dev, ino: this.ino, offset: commitOffset, firstLine: this.firstLine };
  }
}

/**
 * Follows BIND's queries.log (and query-errors.log) and offers one QueryEvent per query line
 * to a QueryEventSink. It only reads files, so it can never slow BIND down; offer() never
 * blocks (the SpoolingSink spools to disk while the bus is down).
 *
 * Rotation: a new inode at the path (rename rotation, BIND `versions` renames) — the old
 * file is read to its end, and kept open until its writer has moved to the new one; a file
 * shorter than our position (copytruncate) — the lines written between our last read and the
 * copy are read from the copy (`.0`/`.1` with the same first line), then the file from 0.
 *
 * Resume: after the events up to a position were handed to the sink, the position (inode,
 * offset, hash of the first line) is written atomically to `<stateDir>/bind-querylog-<id>.json`.
 * A restart continues there; lines read twice produce the same event_ids (see querylogEventId).
 */
export class BindQueryLogTap {
  private readonly options: Required<Omit<BindQueryLogTapOptions, 'queryErrorsLog' | 'timezone' | 'metrics' | 'logger' | 'devices'>>;
  private readonly decoder: BindQueryLogDecoder;
  private readonly metrics: QuerylogTapMetrics;
  private readonly logger: EdgeLogger;
  private readonly queries: FollowedLog;
  private readonly queryErrors: FollowedLog | null;
  private readonly stateFile: string;
  private readonly pending: PendingQuery[] = [];
  private readonly pendingByKey = new Map<string, PendingQuery[]>();
  private readonly errorIndex = new QueryErrorIndex();
  private latestQueryTimeUs = 0;
  private state: TapState | null = null;
  private lastStateJson = '';
  private lastStateWriteMs = 0;
  private watchers: FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private releaseTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private started = false;
  private stopped = false;

  constructor(options: BindQueryLogTapOptions) {
    const timezone = options.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!BindTimestampParser.isValidZone(timezone)) {
      throw new ResolverEdgeError('GHOSTDNS_TAP_QUERYLOG_BAD_TIMEZONE', `tap.bindTimezone: '${timezone}' is not an IANA time zone`);
    }
    this.options = {
      queriesLog: path.resolve(options.queriesLog),
      stateDir: options.stateDir,
      node: options.node,
      sink: options.sink,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      rcodeWaitMs: options.rcodeWaitMs ?? 2000,
      supersededByDnstap: options.supersededByDnstap ?? false,
      startAtEnd: options.startAtEnd ?? true,
    };
    this.decoder = new BindQueryLogDecoder({ node: options.node, timezone, ...(options.devices !== undefined ? { devices: options.devices } : {}) });
    this.metrics = options.metrics ?? noopQuerylogTapMetrics;
    this.logger = options.logger ?? silentLogger;
    this.queries = new FollowedLog(this.options.queriesLog, 'queries');
    const errorsPath =
      options.queryErrorsLog === null ? null : path.resolve(options.queryErrorsLog ?? path.join(path.dirname(this.options.queriesLog), 'query-errors.log'));
    this.queryErrors = errorsPath === null ? null : new FollowedLog(errorsPath, 'query_errors');
    const id = createHash('sha256').update(this.options.queriesLog).digest('hex').slice(0, 12);
    this.stateFile = path.join(this.options.stateDir, `bind-querylog-${id}.json`);
  }

  /** Loads the stored position, reads what is there, then follows. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await mkdir(this.options.stateDir, { recursive: true });
    } catch (cause) {
      throw new ResolverEdgeError('GHOSTDNS_TAP_QUERYLOG_STATE', `cannot create the tap state directory ${this.options.stateDir}`, { cause });
    }
    this.state = await this.loadState();
    for (const dir of new Set(this.logs().map((log) => path.dirname(log.file)))) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        watcher.on('error', () => undefined); // the poll keeps going
        this.watchers.push(watcher);
      } catch (err) {
        this.logger.warn({ err, dir }, 'bind query-log tap: cannot watch directory; polling only');
      }
    }
    await this.runTick();
    this.pollTimer = setInterval(() => this.schedule(), this.options.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Stops following: emits what was held for rcodes, stores the final position, closes files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    while (this.running !== null) await this.running;
    this.release(Number.POSITIVE_INFINITY);
    await this.saveState(true);
    for (const log of this.logs()) {
      await log.retired?.handle.close().catch(() => undefined);
      await log.handle?.close().catch(() => undefined);
      log.handle = null;
      log.retired = null;
    }
  }

  /** Runs one read pass now (also what fs.watch and the poll timer trigger). Resolves when it is done. */
  async poll(): Promise<void> {
    this.schedule();
    while (this.running !== null) await this.running;
  }

  private logs(): FollowedLog[] {
    return this.queryErrors === null ? [this.queries] : [this.queryErrors, this.queries];
  }

  private schedule(): void {
    if (this.stopped && this.running === null) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    void this.runTick();
  }

  private runTick(): Promise<void> {
    const tick = (async () => {
      do {
        this.again = false;
        try {
          // Errors first, so a query read in this pass finds its error line.
          for (const log of this.logs()) await this.follow(log);
          this.release(Date.now());
          if (this.latestQueryTimeUs > 0) {
            this.metrics.errorsUnmatched(this.errorIndex.dropBefore(this.latestQueryTimeUs - ERROR_MATCH_WINDOW_US));
          }
          await this.saveState(false);
        } catch (err) {
          this.logger.warn({ err }, 'bind query-log tap: read pass failed; retrying on the next poll');
        }
      } while (this.again && !this.stopped);
    })();
    this.running = tick.finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async follow(log: FollowedLog): Promise<void> {
    const current = await statOrNull(log.file);
    if (log.handle === null) {
      if (current === null) return;
      await this.openInitially(log, current);
    } else if (current === null || current.ino !== log.ino || current.dev !== log.dev) {
      if (current !== null) {
        // Renamed away; a new file is at the path. Keep the old one until its writer moved on.
        await this.retire(log);
        await this.openAt(log, current, 0);
        this.metrics.rotations(log.role, 'rename');
        this.logger.info({ file: log.file }, 'bind query-log tap: file rotated (new inode)');
      }
    } else if (current.size < log.readOffset || (log.firstLine !== null && (await readFirstLineHash(log.handle)) !== log.firstLine)) {
      // Shorter than our position, or (copytruncate followed by as many new bytes) a different first line.
      await this.readRotatedCopy(log, log.firstLine, log.readOffset);
      log.splitter.reset(0);
      log.readOffset = 0;
      log.firstLine = null;
      this.metrics.rotations(log.role, 'truncate');
      this.logger.info({ file: log.file }, 'bind query-log tap: file truncated (copytruncate)');
    }
    if (log.retired !== null) await this.drainRetired(log, current);
    if (log.handle !== null) {
      log.readOffset = await this.readFrom(log.handle, log.readOffset, log.splitter, log.role);
      if (log.firstLine === null && log.readOffset > 0) log.firstLine = await readFirstLineHash(log.handle);
    }
  }

  /** First open of a path: resume from the stored position when it is still the same file. */
  private async openInitially(log: FollowedLog, current: Stats): Promise<void> {
    const saved = log.role === 'queries' ? this.state?.queries : this.state?.queryErrors;
    if (saved === undefined || saved === null) {
      const atEnd = this.options.startAtEnd && this.state === null;
      await this.openAt(log, current, atEnd ? current.size : 0);
      return;
    }
    if (saved.ino === current.ino && saved.dev === current.dev) {
      await this.openAt(log, current, 0);
      if (log.firstLine === saved.firstLine && current.size >= saved.offset) {
        log.readOffset = saved.offset;
        log.splitter.reset(saved.offset);
        return;
      }
      // Same inode, but truncated (and maybe rewritten) while we were down.
      await this.readRotatedCopy(log, saved.firstLine, saved.offset);
      this.metrics.rotations(log.role, 'truncate');
      return;
    }
    // Rotated while we were down: finish the old file from the stored offset, then read the new one.
    for (const suffix of ROTATED_SUFFIXES) {
      const older = await statOrNull(log.file + suffix);
      if (older !== null && older.ino === saved.ino && older.dev === saved.dev) {
        await this.readTail(log.file + suffix, saved.offset, log.role);
        this.metrics.rotations(log.role, 'rename');
        await this.openAt(log, current, 0);
        return;
      }
    }
    this.logger.warn({ file: log.file }, 'bind query-log tap: the file read before the restart is gone; lines written to it after the stored position are lost');
    await this.openAt(log, current, 0);
  }

  private async openAt(log: FollowedLog, current: Stats, offset: number): Promise<void> {
    log.handle = await open(log.file, 'r');
    log.dev = current.dev;
    log.ino = current.ino;
    log.readOffset = offset;
    log.splitter = new LineSplitter(offset);
    log.firstLine = await readFirstLineHash(log.handle);
  }

  private async retire(log: FollowedLog): Promise<void> {
    if (log.handle === null) return;
    if (log.retired !== null) await this.finishRetired(log);
    // A query held for its rcode must not outlive the file its position refers to.
    if (log.role === 'queries') this.release(Number.POSITIVE_INFINITY);
    const size = (await log.handle.stat()).size;
    log.retired = { handle: log.handle, readOffset: log.readOffset, splitter: log.splitter, size };
    log.handle = null;
  }

  /** Reads the retired file; closes it once it stopped growing and the new file has data (the writer reopened). */
  private async drainRetired(log: FollowedLog, current: Stats | null): Promise<void> {
    const retired = log.retired;
    if (retired === null) return;
    retired.readOffset = await this.readFrom(retired.handle, retired.readOffset, retired.splitter, log.role);
    const size = (await retired.handle.stat()).size;
    const grew = size !== retired.size;
    retired.size = size;
    if (!grew && current !== null && current.size > 0) await this.finishRetired(log);
  }

  private async finishRetired(log: FollowedLog): Promise<void> {
    const retired = log.retired;
    if (retired === null) return;
    retired.readOffset = await this.readFrom(retired.handle, retired.readOffset, retired.splitter, log.role);
    retired.splitter.finish((line, offset) => this.handleLine(log.role, line, offset));
    await retired.handle.close().catch(() => undefined);
    log.retired = null;
  }

  /** After a truncation: the copy (`.0`/`.1` with the same first line) holds what was written past `offset`. */
  private async readRotatedCopy(log: FollowedLog, firstLine: string | null, offset: number): Promise<void> {
    if (firstLine === null) return;
    for (const suffix of ROTATED_SUFFIXES) {
      const copy = log.file + suffix;
      let handle: FileHandle | null = null;
      try {
        handle = await open(copy, 'r');
        if ((await readFirstLineHash(handle)) === firstLine) {
          const splitter = new LineSplitter(offset);
          await this.readFrom(handle, offset, splitter, log.role);
          splitter.finish((line, at) => this.handleLine(log.role, line, at));
          return;
        }
      } catch {
        // no such copy
      } finally {
        await handle?.close().catch(() => undefined);
      }
    }
  }

  private async readTail(file: string, offset: number, role: QuerylogFileRole): Promise<void> {
    const handle = await open(file, 'r');
    try {
      const splitter = new LineSplitter(offset);
      await this.readFrom(handle, offset, splitter, role);
      splitter.finish((line, at) => this.handleLine(role, line, at));
    } finally {
      await handle.close();
    }
  }

  /** Reads from `offset` to the current end; returns the new read offset. */
  private async readFrom(handle: FileHandle, offset: number, splitter: LineSplitter, role: QuerylogFileRole): Promise<number> {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let position = offset;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return position;
      position += bytesRead;
      splitter.push(buffer.subarray(0, bytesRead), (line, at) => this.handleLine(role, line, at));
      this.release(Date.now());
    }
  }

  private handleLine(role: QuerylogFileRole, line: string, offset: number): void {
    this.metrics.lines(role, 1);
    const decoded = this.decoder.decode(line, offset);
    switch (decoded.kind) {
      case 'skipped':
        this.metrics.skipped(decoded.reason, 1);
        return;
      case 'query':
        if (role !== 'queries') {
          this.metrics.skipped('unknown_message', 1);
          return;
        }
        this.holdQuery(decoded, offset);
        return;
      case 'query_error':
        if (role !== 'query_errors') {
          this.metrics.skipped('unknown_message', 1);
          return;
        }
        this.matchError(decoded, offset);
        return;
    }
  }

  private holdQuery(decoded: DecodedQuery, offset: number): void {
    if (decoded.query.timeUs > this.latestQueryTimeUs) this.latestQueryTimeUs = decoded.query.timeUs;
    const item: PendingQuery = { decoded, offset, readAtMs: Date.now(), matched: false };
    const error = this.errorIndex.take(decoded.query);
    if (error !== undefined) {
      applyQueryError(decoded.event, error);
      item.matched = true;
    } else if (this.queryErrors !== null) {
      const q = decoded.query;
      const key = questionKey(q.clientIp, q.clientPort, q.qname, q.qclass, q.qtype);
      const list = this.pendingByKey.get(key);
      if (list === undefined) this.pendingByKey.set(key, [item]);
      else list.push(item);
    }
    this.pending.push(item);
    if (this.pending.length > MAX_PENDING) this.release(Number.POSITIVE_INFINITY, this.pending.length - MAX_PENDING);
  }

  private matchError(error: QueryErrorLine, offset: number): void {
    if (error.qname !== null) {
      const key = questionKey(error.clientIp, error.clientPort, error.qname, error.qclass, error.qtype);
      const list = this.pendingByKey.get(key);
      const found = list?.find((p) => !p.matched && error.timeUs >= p.decoded.query.timeUs - 1000 && error.timeUs <= p.decoded.query.timeUs + ERROR_MATCH_WINDOW_US);
      if (found !== undefined) {
        applyQueryError(found.decoded.event, error);
        found.matched = true;
        return;
      }
    }
    this.errorIndex.add(error, offset);
  }

  /** Emits held queries from the head: matched ones, and the rest once they waited rcodeWaitMs. */
  private release(nowMs: number, atLeast = 0): void {
    let released = 0;
    while (this.pending.length > 0) {
      const head = this.pending[0];
      if (head === undefined) break;
      if (released >= atLeast && !head.matched && head.readAtMs + this.options.rcodeWaitMs > nowMs) break;
      this.pending.shift();
      released++;
      this.forgetPending(head);
      if (!this.options.supersededByDnstap) this.options.sink.offer(head.decoded.event);
      this.metrics.events(1);
    }
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    const head = this.pending[0];
    if (head !== undefined && !this.stopped) {
      this.releaseTimer = setTimeout(() => this.schedule(), Math.max(1, head.readAtMs + this.options.rcodeWaitMs - Date.now()));
      this.releaseTimer.unref();
    }
  }

  private forgetPending(item: PendingQuery): void {
    if (this.pendingByKey.size === 0) return;
    const q = item.decoded.query;
    const key = questionKey(q.clientIp, q.clientPort, q.qname, q.qclass, q.qtype);
    const list = this.pendingByKey.get(key);
    if (list === undefined) return;
    const index = list.indexOf(item);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.pendingByKey.delete(key);
  }

  private currentState(): TapState {
    const queriesCommit = this.pending[0]?.offset ?? this.queries.splitter.completeOffset;
    const errorsLowest = this.errorIndex.lowestOffset();
    const errorsComplete = this.queryErrors?.splitter.completeOffset ?? 0;
    const errorsCommit = errorsLowest === null ? errorsComplete : Math.min(errorsLowest, errorsComplete);
    return {
      version: 1,
      // While a retired file is still being read, the stored position stays on it.
      queries: this.queries.retired !== null ? this.state?.queries ?? null : this.queries.position(queriesCommit),
      queryErrors: this.queryErrors === null || this.queryErrors.retired !== null ? this.state?.queryErrors ?? null : this.queryErrors.position(errorsCommit),
    };
  }

  private async saveState(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastStateWriteMs < STATE_WRITE_INTERVAL_MS) return;
    const state = this.currentState();
    const json = JSON.stringify(state);
    if (json === this.lastStateJson) return;
    const tmp = `${this.stateFile}.tmp`;
    try {
      await writeFile(tmp, json);
      await rename(tmp, this.stateFile);
      this.state = state;
      this.lastStateJson = json;
      this.lastStateWriteMs = now;
    } catch (err) {
      this.logger.warn({ err, file: this.stateFile }, 'bind query-log tap: cannot store the read position');
    }
  }

  private async loadState(): Promise<TapState | null> {
    let text: string;
    try {
      text = await readFile(this.stateFile, 'utf8');
    } catch {
      return null;
    }
    try {
      const parsed = JSON.parse(text) as Partial<TapState>;
      if (parsed.version !== 1) return null;
      this.lastStateJson = text;
      return { version: 1, queries: validPosition(parsed.queries), queryErrors: validPosition(parsed.queryErrors) };
    } catch (err) {
      this.logger.warn({ err, file: this.stateFile }, 'bind query-log tap: stored position unreadable; starting over');
      return null;
    }
  }
}

function validPosition(value: unknown): FilePosition | null {
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Record<string, unknown>;
  const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!isCount(p.dev) || !isCount(p.ino) || !isCount(p.offset)) return null;
  const firstLine = typeof p.firstLine === 'string' ? p.firstLine : null;
  return { dev: p.dev, ino: p.ino, offset: p.offset, firstLine };
}

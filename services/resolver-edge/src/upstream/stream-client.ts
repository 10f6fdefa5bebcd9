// One kept-open stream connection (TCP or TLS) to an upstream, with many
// queries pipelined on it and answers matched by ID and question as they come,
// in any order (RFC 7766 §6.2.1, RFC 7858 §3.4). The same framing code as the
// servers (RFC 1035 §4.2.2).
import type { Duplex } from 'node:stream';
import { frame, TcpFramer } from '../server/tcp-framing.js';
import { readHeader, readQuestion, sameQuestion, withId, type DnsQuestion } from '../dns/wire.js';

/** Opens the transport; writes before the connection is up are buffered by node:net / node:tls. */
export type StreamConnect = () => Duplex;

export interface StreamUpstreamClientOptions {
  connect: StreamConnect;
  randomId: () => number;
  /** Closes the connection after this long without a pending query (RFC 7766 §6.2.1). */
  idleTimeoutMs?: number;
  /** Queries in flight on the connection; beyond it exchanges fail at once. */
  maxPending?: number;
  /** A message that matched no pending query (unknown ID, wrong question, not a response). */
  onMismatch?: () => void;
}

export type StreamOutcome = { kind: 'answer'; response: Buffer } | { kind: 'timeout' } | { kind: 'error' };

interface Pending {
  question: DnsQuestion;
  query: Buffer;
  finish: (outcome: StreamOutcome) => void;
  /** Sent on a connection that had already answered: a close may just be the server's idle timeout. */
  reused: boolean;
  retried: boolean;
}

interface Connection {
  socket: Duplex;
  framer: TcpFramer;
  answered: number;
  closed: boolean;
}

export class StreamUpstreamClient {
  private readonly options: StreamUpstreamClientOptions;
  private conn: Connection | null = null;
  private readonly pending = new Map<number, Pending>();
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: StreamUpstreamClientOptions) {
    this.options = options;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends `query` (its ID replaced by a fresh one) and waits for the matching answer. */
  exchange(query: Buffer, question: DnsQuestion, timeoutMs: number): Promise<StreamOutcome> {
    if (this.closed || this.pending.size >= (this.options.maxPending ?? 1024)) return Promise.resolve({ kind: 'error' });
    return new Promise<StreamOutcome>((resolve) => {
      let id = this.freshId();
      let settled = false;
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      const finish = (outcome: StreamOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.pending.get(id) === entry) this.pending.delete(id);
        this.armIdle();
        resolve(outcome);
      };
      const entry: Pending = { question, query, finish, reused: false, retried: false };
      const send = (): void => {
        const conn = this.connection();
        entry.reused = conn.answered > 0;
        this.pending.set(id, entry);
        conn.socket.write(frame(withId(query, id)));
      };
      entry.finish = (outcome) => {
        // The server closed a reused connection before answering: once more on a new one.
        if (outcome.kind === 'error' && entry.reused && !entry.retried && !this.closed) {
          entry.retried = true;
          id = this.freshId();
          send();
          return;
        }
        finish(outcome);
      };
      this.disarmIdle();
      send();
    });
  }

  /** Closes the connection; pending exchanges fail. */
  close(): void {
    this.closed = true;
    this.disarmIdle();
    const conn = this.conn;
    this.conn = null;
    if (conn) this.drop(conn);
  }

  private freshId(): number {
    for (;;) {
      const id = this.options.randomId() & 0xffff;
      if (!this.pending.has(id)) return id;
    }
  }

  private connection(): Connection {
    if (this.conn !== null && !this.conn.closed) return this.conn;
    const socket = this.options.connect();
    const conn: Connection = { socket, framer: new TcpFramer(), answered: 0, closed: false };
    this.conn = conn;
    socket.on('data', (chunk: Buffer) => {
      for (const msg of conn.framer.push(chunk)) this.onMessage(conn, msg);
    });
    socket.on('error', () => this.drop(conn));
    socket.on('close', () => this.drop(conn));
    socket.on('end', () => this.drop(conn));
    return conn;
  }

  private onMessage(conn: Connection, msg: Buffer): void {
    const header = readHeader(msg);
    const entry = header !== null && header.qr && header.qdcount === 1 ? this.pending.get(header.id) : undefined;
    const answered = entry !== undefined ? readQuestion(msg) : null;
    if (entry === undefined || answered === null || !sameQuestion(answered, entry.question)) {
      this.options.onMismatch?.();
      return;
    }
    conn.answered++;
    entry.finish({ kind: 'answer', response: msg });
  }

  private drop(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    if (this.conn === conn) this.conn = null;
    conn.socket.destroy();
    // Everything pending was sent on this connection (there is only ever one).
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.finish({ kind: 'error' });
  }

  private armIdle(): void {
    if (this.pending.size > 0 || this.conn === null || this.idleTimer !== null) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size === 0 && this.conn !== null) {
        const conn = this.conn;
        this.conn = null;
        conn.closed = true;
        conn.socket.end(() => conn.socket.destroy());
      }
    }, this.options.idleTimeoutMs ?? 5_000);
    this.idleTimer.unref();
  }

  private disarmIdle(): void {
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }
}

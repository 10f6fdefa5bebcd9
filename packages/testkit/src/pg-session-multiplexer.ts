// PGlite is one backend session. pglite-socket accepts several connections but
// forwards their protocol messages one by one, so two clients' extended-query
// messages (Parse/Bind/Execute/Sync) interleave and corrupt each other. This
// front serialises whole exchanges instead: a client's messages up to a Sync
// or a simple Query travel together over ONE upstream connection, and while
// the session is inside that client's transaction (ReadyForQuery status T/E)
// nobody else gets a turn. Each client is handed the upstream's captured
// start-up reply. Session state (SET, named statements) is still shared: this
// is a test stand-in, not a pooler.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;

/** Splits a byte stream into complete backend/frontend messages (type byte + int32 length). */
class MessageReader {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  /** Next complete typed message, or null. */
  next(): Buffer | null {
    if (this.buffer.length < 5) return null;
    const length = 1 + this.buffer.readInt32BE(1);
    if (this.buffer.length < length) return null;
    const message = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return message;
  }

  /** Next complete untyped start-up message (int32 length first), or null. */
  nextStartup(): Buffer | null {
    if (this.buffer.length < 4) return null;
    const length = this.buffer.readInt32BE(0);
    if (this.buffer.length < length) return null;
    const message = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return message;
  }
}

function startupMessage(user: string, database: string): Buffer {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8');
  const out = Buffer.alloc(8 + params.length);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(196608, 4); // protocol 3.0
  params.copy(out, 8);
  return out;
}

function passwordMessage(password: string): Buffer {
  const body = Buffer.from(`${password}\0`, 'utf8');
  const out = Buffer.alloc(5 + body.length);
  out[0] = 0x70; // p
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

interface Exchange {
  client: Socket;
  bytes: Buffer;
}

export class PgSessionMultiplexer {
  private server: Server | null = null;
  private upstream: Socket | null = null;
  private readonly upstreamReader = new MessageReader();
  private startupReply: Buffer = Buffer.alloc(0);
  private readonly queue: Exchange[] = [];
  private current: Exchange | null = null;
  /** The client whose transaction the session is in, if any. */
  private owner: Socket | null = null;
  private readonly clients = new Set<Socket>();

  constructor(private readonly upstreamPort: number) {}

  async start(port: number): Promise<number> {
    await this.connectUpstream();
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('multiplexer has no port');
    return address.port;
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.destroy();
    this.upstream?.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async connectUpstream(): Promise<void> {
    const upstream = createConnection({ host: '127.0.0.1', port: this.upstreamPort });
    upstream.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      upstream.once('error', reject);
      upstream.once('connect', () => resolve());
    });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      upstream.on('data', (chunk: Buffer) => {
        this.upstreamReader.push(chunk);
        for (let m = this.upstreamReader.next(); m !== null; m = this.upstreamReader.next()) {
          if (m[0] === 0x52 /* R */ && m.readInt32BE(5) !== 0) {
            // PGlite asks for a (cleartext or MD5) password and accepts any: answer it here, once.
            upstream.write(passwordMessage('md5' + '0'.repeat(32)));
            continue;
          }
          chunks.push(m);
          if (m[0] === 0x45 /* E */) reject(new Error(`upstream start-up failed: ${m.toString('utf8', 5)}`));
          if (m[0] === 0x5a /* Z */) resolve();
        }
      });
      upstream.write(startupMessage('postgres', 'postgres'));
    });
    this.startupReply = Buffer.concat(chunks);
    upstream.removeAllListeners('data');
    upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      for (const c of this.clients) c.destroy();
    });
    this.upstream = upstream;
  }

  private accept(client: Socket): void {
    this.clients.add(client);
    client.setNoDelay(true);
    const reader = new MessageReader();
    let started = false;
    let pending: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      while (!started) {
        const m = reader.nextStartup();
        if (m === null) return;
        const code = m.length >= 8 ? m.readInt32BE(4) : 0;
        if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
          client.write('N'); // no TLS on loopback
          continue;
        }
        started = true;
        client.write(this.startupReply);
      }
      for (let m = reader.next(); m !== null; m = reader.next()) {
        const type = m[0];
        if (type === 0x58 /* X: Terminate */) {
          client.end();
          return;
        }
        pending.push(m);
        if (type === 0x53 /* S: Sync */ || type === 0x51 /* Q: Query */) {
          this.queue.push({ client, bytes: Buffer.concat(pending) });
          pending = [];
          this.pump();
        }
      }
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      this.clients.delete(client);
      for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]?.client === client) this.queue.splice(i, 1);
      if (this.owner === client && this.current === null) {
        // A client that vanished mid-transaction must not leave the session in it.
        this.owner = null;
        this.queue.unshift({ client, bytes: Buffer.from([0x51, 0, 0, 0, 13, ...Buffer.from('ROLLBACK\0')]) });
        this.pump();
      }
    });
  }

  private pump(): void {
    if (this.current !== null || this.upstream === null) return;
    const index = this.owner === null ? 0 : this.queue.findIndex((e) => e.client === this.owner);
    if (index < 0 || index >= this.queue.length) return;
    const [exchange] = this.queue.splice(index, 1);
    if (exchange === undefined) return;
    this.current = exchange;
    this.upstream.write(exchange.bytes);
  }

  private onUpstreamData(chunk: Buffer): void {
    this.upstreamReader.push(chunk);
    for (let m = this.upstreamReader.next(); m !== null; m = this.upstreamReader.next()) {
      const exchange = this.current;
      if (exchange === null) continue; // unsolicited (NoticeResponse between exchanges)
      if (!exchange.client.destroyed) exchange.client.write(m);
      if (m[0] === 0x5a /* Z: ReadyForQuery */) {
        const status = m[5];
        this.owner = status === 0x49 /* I */ || exchange.client.destroyed ? null : exchange.client;
        if (this.owner === null && status !== 0x49 && exchange.client.destroyed) {
          this.queue.unshift({ client: exchange.client, bytes: Buffer.from([0x51, 0, 0, 0, 13, ...Buffer.from('ROLLBACK\0')]) });
        }
        this.current = null;
        this.pump();
      }
    }
  }
}

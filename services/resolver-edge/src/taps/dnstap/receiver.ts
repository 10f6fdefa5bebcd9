// The live dnstap tap: a Frame Streams listener (unix socket or TCP) that
// resolvers connect to as dnstap writers. Each connection: bidirectional
// handshake (READY -> ACCEPT, START), data frames, STOP -> FINISH (fstrm
// protocol, see frame-streams.ts). Every data frame is decoded and its event
// offered to the sink synchronously, in the socket's 'data' callback: nothing
// waits, so the resolver's writer is never throttled by us (a resolver drops
// dnstap messages when its own output queue fills — it never blocks on it).
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { DeviceIdentityLookup } from '../../device-identity.js';
import { parseHostPort } from '../../dns/address.js';
import { ResolverEdgeError } from '../../errors.js';
import type { QueryEventSink } from '../../events/sink.js';
import { silentLogger, type EdgeLogger } from '../../metrics.js';
import { DnstapEventBuilder } from './event-builder.js';
import {
  DEFAULT_MAX_FRAME_BYTES, DNSTAP_CONTENT_TYPE, encodeControlFrame, FrameStreamDecoder,
  type ControlFrame, type FrameHandler,
} from './frame-streams.js';
import { noopDnstapMetrics, type DnstapCloseReason, type DnstapMetrics } from './metrics.js';

export type DnstapListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parses config `tap.dnstap`: `unix:/absolute/path` or `tcp:host:port` (`tcp:[v6]:port`). */
export function parseDnstapAddress(value: string): DnstapListenAddress {
  if (value.startsWith('unix:/')) return { kind: 'unix', path: value.slice('unix:'.length) };
  if (value.startsWith('tcp:')) {
    try {
      return { kind: 'tcp', ...parseHostPort(value.slice('tcp:'.length)) };
    } catch (err) {
      throw new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_BAD_ADDRESS', `not a dnstap listen address: ${value}`, { cause: err });
    }
  }
  throw new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_BAD_ADDRESS', `not a dnstap listen address (unix:/path or tcp:host:port): ${value}`);
}

export interface DnstapReceiverOptions {
  /** Config `tap.dnstap`. TCP port 0 binds a free port (see address()). */
  listen: string;
  /** Where events go (the service's SpoolingSink: memory queue, disk spool while the bus is down). */
  sink: QueryEventSink;
  /** node.id (for messages without a dnstap identity) and node.pop. */
  node: { id: string; pop: string };
  /** How long a query waits for its response (default 5000 ms). */
  pairTimeoutMs?: number;
  /** Bound of the pairing table (default 100 000). */
  maxPending?: number;
  /** Largest data frame accepted; a bigger one closes the connection (default 1 MiB). */
  maxFrameBytes?: number;
  /** Attach the DNS wire messages to events (config dns.eventWire). */
  eventWire?: boolean;
  /** Who is behind a client address (VPN devices); default: nobody. */
  devices?: DeviceIdentityLookup;
  metrics?: DnstapMetrics;
  logger?: EdgeLogger;
}

type ConnectionState = 'await_ready' | 'await_start' | 'data' | 'stopped';

const EXPIRE_INTERVAL_MS = 1_000;

/** One writer's connection: the handshake state machine over the frame decoder. */
class DnstapConnection implements FrameHandler {
  private readonly decoder: FrameStreamDecoder;
  private state: ConnectionState = 'await_ready';
  private bidirectional = false;
  private closeReason: DnstapCloseReason | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly builder: DnstapEventBuilder,
    maxFrameBytes: number,
    private readonly metrics: DnstapMetrics,
    private readonly logger: EdgeLogger,
    private readonly peer: string,
  ) {
    this.decoder = new FrameStreamDecoder(maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close('socket_error', err));
    socket.on('close', () => this.onClose());
  }

  data(payload: Buffer): void {
    if (this.state !== 'data') throw this.protocolError(`data frame before START (state ${this.state})`);
    this.builder.accept(payload);
  }

  control(frame: ControlFrame): void {
    switch (frame.type) {
      case 'READY':
        if (this.state !== 'await_ready') throw this.protocolError(`READY in state ${this.state}`);
        if (!frame.contentTypes.includes(DNSTAP_CONTENT_TYPE)) {
          throw new ResolverEdgeError(
            'GHOSTDNS_TAP_DNSTAP_CONTENT_TYPE',
            `writer offers content types [${frame.contentTypes.join(', ')}], not ${DNSTAP_CONTENT_TYPE}`,
          );
        }
        this.bidirectional = true;
        this.socket.write(encodeControlFrame('ACCEPT', [DNSTAP_CONTENT_TYPE]));
        this.state = 'await_start';
        return;
      case 'START': {
        // A unidirectional writer (fstrm without READY) starts here directly.
        if (this.state !== 'await_ready' && this.state !== 'await_start') throw this.protocolError(`START in state ${this.state}`);
        const [contentType] = frame.contentTypes;
        if (contentType !== undefined && contentType !== DNSTAP_CONTENT_TYPE) {
          throw new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_CONTENT_TYPE', `START with content type ${contentType}, not ${DNSTAP_CONTENT_TYPE}`);
        }
        this.state = 'data';
        return;
      }
      case 'STOP':
        if (this.state !== 'data') throw this.protocolError(`STOP in state ${this.state}`);
        this.state = 'stopped';
        this.closeReason = 'finished';
        if (this.bidirectional) this.socket.end(encodeControlFrame('FINISH'));
        else this.socket.end();
        return;
      case 'ACCEPT':
      case 'FINISH':
        throw this.protocolError(`${frame.type} is sent by a reader, not by a writer`);
    }
  }

  /** Stops the receiver's side: no FINISH (the writer did not ask to stop); it will reconnect. */
  shutdown(): void {
    this.closeReason ??= 'shutdown';
    this.socket.destroy();
  }

  private protocolError(message: string): ResolverEdgeError {
    return new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_HANDSHAKE', message);
  }

  private onData(chunk: Buffer): void {
    if (this.closeReason !== null) return;
    try {
      this.decoder.push(chunk, this);
    } catch (err) {
      this.close('protocol_error', err);
    }
  }

  /** First reason wins: after STOP (finished) a late socket error changes nothing. */
  private close(reason: DnstapCloseReason, err?: unknown): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    if (reason === 'protocol_error' || reason === 'socket_error') {
      this.logger.warn({ err, peer: this.peer, reason }, 'dnstap connection closed');
    }
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.decoder.bufferedBytes > 0 && this.closeReason !== 'protocol_error') {
      this.metrics.decodeError('truncated');
      this.logger.warn({ peer: this.peer, bytes: this.decoder.bufferedBytes }, 'dnstap connection closed inside a frame');
    }
    const reason = this.closeReason ?? 'eof';
    this.metrics.connectionClosed(reason);
    this.logger.info({ peer: this.peer, reason }, 'dnstap writer disconnected');
  }
}

/**
 * Listens for dnstap writers (BIND9 `dnstap-output unix`, Unbound
 * `dnstap-socket-path` / `dnstap-ip`, Knot Resolver's dnstap module) and turns
 * their messages into QueryEvents (one per client query, see event-builder.ts).
 * Many writers may be connected at once; they share one pairing table.
 */
export class DnstapReceiver {
  private readonly listenAddress: DnstapListenAddress;
  private readonly sink: QueryEventSink;
  private readonly maxFrameBytes: number;
  private readonly metrics: DnstapMetrics;
  private readonly logger: EdgeLogger;
  private readonly builder: DnstapEventBuilder;
  private readonly connections = new Set<DnstapConnection>();
  private server: Server | null = null;
  private bound: DnstapListenAddress | null = null;
  private expireTimer: NodeJS.Timeout | null = null;

  constructor(options: DnstapReceiverOptions) {
    this.listenAddress = parseDnstapAddress(options.listen);
    this.sink = options.sink;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.metrics = options.metrics ?? noopDnstapMetrics;
    this.logger = options.logger ?? silentLogger;
    this.builder = new DnstapEventBuilder({
      node: options.node,
      emit: (event) => this.sink.offer(event),
      onSkip: (skip) => this.logger.debug({ ...skip }, 'dnstap message skipped'),
      clock: 'wall',
      metrics: this.metrics,
      ...(options.pairTimeoutMs !== undefined ? { pairTimeoutMs: options.pairTimeoutMs } : {}),
      ...(options.maxPending !== undefined ? { maxPending: options.maxPending } : {}),
      ...(options.eventWire !== undefined ? { eventWire: options.eventWire } : {}),
      ...(options.devices !== undefined ? { devices: options.devices } : {}),
    });
  }

  /** Binds and starts accepting writers; resolves with the bound address. */
  async start(): Promise<DnstapListenAddress> {
    if (this.server !== null) throw new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_LISTEN_FAILED', 'dnstap receiver already started');
    if (this.listenAddress.kind === 'unix') await removeStaleSocket(this.listenAddress.path);
    const server = createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_LISTEN_FAILED', `cannot listen for dnstap on ${describe(this.listenAddress)}`, { cause: err })),
      );
      if (this.listenAddress.kind === 'unix') server.listen(this.listenAddress.path, resolve);
      else server.listen(this.listenAddress.port, this.listenAddress.host, resolve);
    });
    server.on('error', (err) => this.logger.error({ err }, 'dnstap listener error'));
    this.server = server;
    const addr = server.address();
    this.bound =
      this.listenAddress.kind === 'tcp' && typeof addr === 'object' && addr !== null
        ? { kind: 'tcp', host: addr.address, port: addr.port }
        : this.listenAddress;
    this.expireTimer = setInterval(() => this.builder.expire(), EXPIRE_INTERVAL_MS);
    this.expireTimer.unref();
    this.logger.info({ listen: describe(this.bound) }, 'dnstap receiver listening');
    return this.bound;
  }

  /** The bound address (the real port when started on TCP port 0). */
  address(): DnstapListenAddress {
    if (this.bound === null) throw new ResolverEdgeError('GHOSTDNS_RESOLVER_NOT_STARTED', 'dnstap receiver not started');
    return this.bound;
  }

  /** Writers connected now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Queries waiting for their response. */
  get pendingQueries(): number {
    return this.builder.pending;
  }

  /**
   * Stops listening and closes every connection (writers reconnect to the
   * next instance and resend nothing: what they logged meanwhile sits in their
   * queues). Queries still waiting for a response become unanswered events, so
   * none is lost. The sink is the caller's to close.
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    if (this.expireTimer !== null) clearInterval(this.expireTimer);
    this.expireTimer = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.connections) c.shutdown();
    await closed;
    this.builder.flush();
    if (this.listenAddress.kind === 'unix') unlinkQuietly(this.listenAddress.path);
  }

  private onConnection(socket: Socket): void {
    const peer = this.listenAddress.kind === 'unix' ? `unix:${this.listenAddress.path}` : `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const connection = new DnstapConnection(socket, this.builder, this.maxFrameBytes, this.metrics, this.logger, peer);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
    this.metrics.connectionOpened();
    this.logger.info({ peer }, 'dnstap writer connected');
  }
}

function describe(addr: DnstapListenAddress): string {
  return addr.kind === 'unix' ? `unix:${addr.path}` : `tcp:${addr.host}:${addr.port}`;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * A socket file left by a previous run blocks listen() with EADDRINUSE. It is
 * removed when nobody answers on it; a live listener, or a path that is not a
 * socket, is refused rather than deleted.
 */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_LISTEN_FAILED', `${path} exists and is not a socket`);
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_LISTEN_FAILED', `another process is listening on ${path}`);
  unlinkQuietly(path);
}

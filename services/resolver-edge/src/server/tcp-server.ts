import { createServer, type Server, type Socket } from 'node:net';
import type { DnsTransport } from '@ghostdns/contracts';
import type { SocketAddress } from '../dns/address.js';
import type { QueryHandler } from '../dns/handler.js';
import type { ClientInfo } from '../dns/resolver.js';
import { ResolverEdgeError } from '../errors.js';
import { silentLogger, type EdgeLogger } from '../metrics.js';
import { InFlight } from './in-flight.js';
import { frame, TcpFramer } from './tcp-framing.js';

/** Per-connection and per-listener bounds of a stream listener (RFC 7766 §6.2.3, RFC 7858 §3.4). */
export interface StreamLimits {
  /** Idle connections are closed after this (RFC 7766 §6.2.3). */
  idleTimeoutMs?: number;
  /** Pipelined queries answered concurrently per connection before reading pauses. */
  maxPipelined?: number;
  /** Queries read from one connection; then it is closed once they are answered. */
  maxQueriesPerConnection?: number;
  /** Open connections; beyond it new ones are closed at once (node:net `maxConnections`). */
  maxConnections?: number;
}

export interface DnsTcpServerOptions extends StreamLimits {
  listen: SocketAddress;
  handler: QueryHandler;
  logger?: EdgeLogger;
}

/**
 * The DNS side of a stream connection, shared by TCP and DoT: 2-byte length
 * framing, many queries per connection, answers written as they complete
 * (RFC 7766 §6.2.1.1 allows out-of-order), bounded by StreamLimits.
 */
export class DnsStreamConnections {
  private readonly handler: QueryHandler;
  private readonly transport: DnsTransport;
  private readonly logger: EdgeLogger;
  private readonly limits: StreamLimits;
  private readonly inFlight = new InFlight();
  private readonly connections = new Set<Socket>();
  accepting = true;

  constructor(handler: QueryHandler, transport: DnsTransport, limits: StreamLimits, logger: EdgeLogger) {
    this.handler = handler;
    this.transport = transport;
    this.limits = limits;
    this.logger = logger;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** Stops reading queries, waits (bounded) for in-flight answers, closes every connection. */
  async stop(drainTimeoutMs: number): Promise<void> {
    this.accepting = false;
    const drained = await this.inFlight.drain(drainTimeoutMs);
    if (!drained) this.logger.warn({ pending: this.inFlight.size, transport: this.transport }, 'stream drain timed out');
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
  }

  serve(socket: Socket): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    const maxPipelined = this.limits.maxPipelined ?? 64;
    const maxQueries = this.limits.maxQueriesPerConnection ?? Infinity;
    const framer = new TcpFramer();
    let pending = 0;
    let queries = 0;
    let closing = false;
    const client: ClientInfo = {
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      family: socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4',
      transport: this.transport,
    };
    const closeWhenIdle = (): void => {
      if (pending === 0 && !socket.destroyed) socket.end();
    };
    socket.setNoDelay(true);
    // Not setTimeout's callback (a once-listener); a fired timer is re-armed only by I/O, so it is
    // re-armed here while answers are pending and the connection must stay.
    const idleMs = this.limits.idleTimeoutMs ?? 10_000;
    socket.setTimeout(idleMs);
    socket.on('timeout', () => {
      if (pending === 0) return closeWhenIdle();
      this.logger.debug({ client: client.address, pending }, 'stream idle while answering');
      socket.setTimeout(idleMs);
    });
    socket.on('error', (err) => this.logger.debug({ err, client: client.address }, 'stream connection error'));
    socket.on('close', () => this.connections.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      if (!this.accepting || closing) return;
      for (const msg of framer.push(chunk)) {
        if (closing) break; // past the per-connection cap: unread, the client asks again elsewhere
        if (++queries >= maxQueries) closing = true;
        pending++;
        if (pending >= maxPipelined) socket.pause();
        this.inFlight.track(
          this.handler
            .handle(msg, client)
            .then((result) => {
              if (result.kind === 'drop') {
                // Unparseable framing content: the stream cannot be trusted any more.
                if (result.reason !== 'rate_limited') closing = true;
                return;
              }
              if (socket.destroyed || !socket.writable) return;
              socket.write(frame(result.answer.response));
              for (const extra of result.answer.extraResponses ?? []) socket.write(frame(extra));
              this.handler.answered(result.answer);
            })
            .finally(() => {
              pending--;
              if (pending < maxPipelined && socket.isPaused()) socket.resume();
              if (closing || !this.accepting) closeWhenIdle();
            }),
        );
      }
    });
  }
}

/** Listens `server` on `listen` (port overridable), mapping failure to BIND_FAILED. */
export async function listenStreamServer(server: Server, listen: SocketAddress, port: number, what: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: listen.host, ipv6Only: listen.family === 'IPv6', exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BIND_FAILED', `cannot listen ${what} ${listen.host}:${port}`, { cause: err });
  }
}

export function streamServerAddress(server: Server | null, family: SocketAddress['family'], what: string): SocketAddress {
  const a = server?.address();
  if (!a || typeof a === 'string') throw new ResolverEdgeError('GHOSTDNS_RESOLVER_NOT_STARTED', `${what} server not started`);
  return { host: a.address, port: a.port, family };
}

/** Closes the listener, drains and closes the connections. */
export async function stopStreamServer(server: Server | null, connections: DnsStreamConnections, drainTimeoutMs: number): Promise<void> {
  const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
  await connections.stop(drainTimeoutMs);
  await closed;
}

/** DNS over TCP (RFC 1035 §4.2.2, RFC 7766). */
export class DnsTcpServer {
  private readonly options: DnsTcpServerOptions;
  private readonly logger: EdgeLogger;
  private readonly connections: DnsStreamConnections;
  private server: Server | null = null;

  constructor(options: DnsTcpServerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.connections = new DnsStreamConnections(options.handler, 'TCP', options, this.logger);
    this.connections.accepting = false;
  }

  get listening(): boolean {
    return this.server !== null && this.connections.accepting;
  }

  get openConnections(): number {
    return this.connections.openConnections;
  }

  async start(port = this.options.listen.port): Promise<void> {
    const server = createServer((socket) => this.connections.serve(socket));
    if (this.options.maxConnections !== undefined) server.maxConnections = this.options.maxConnections;
    server.on('error', (err) => this.logger.error({ err }, 'tcp server error'));
    await listenStreamServer(server, this.options.listen, port, 'tcp');
    this.server = server;
    this.connections.accepting = true;
  }

  address(): SocketAddress {
    return streamServerAddress(this.server, this.options.listen.family, 'tcp');
  }

  /** Stops accepting connections and queries, waits (bounded) for in-flight answers, closes connections. */
  async stop(drainTimeoutMs: number): Promise<void> {
    const server = this.server;
    this.server = null;
    await stopStreamServer(server, this.connections, drainTimeoutMs);
  }
}

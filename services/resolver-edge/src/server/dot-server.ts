// DNS over TLS (RFC 7858): the TCP listener's framing and limits behind
// node:tls. Certificate and key come from files, read once at start.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:tls';
import type { SocketAddress } from '../dns/address.js';
import type { QueryHandler } from '../dns/handler.js';
import { ResolverEdgeError } from '../errors.js';
import { silentLogger, type EdgeLogger } from '../metrics.js';
import { DnsStreamConnections, listenStreamServer, stopStreamServer, streamServerAddress, type StreamLimits } from './tcp-server.js';

export interface TlsFiles {
  /** PEM certificate chain file. */
  cert: string;
  /** PEM private key file. */
  key: string;
}

export interface DnsDotServerOptions extends StreamLimits {
  listen: SocketAddress;
  handler: QueryHandler;
  tls: TlsFiles;
  logger?: EdgeLogger;
}

/** Reads the certificate and key, mapping a missing or unreadable file to a stable error. */
export async function readTlsFiles(files: TlsFiles): Promise<{ cert: Buffer; key: Buffer }> {
  try {
    const [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
    return { cert, key };
  } catch (err) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_TLS_CONFIG', `cannot read tls.cert / tls.key (${files.cert}, ${files.key})`, { cause: err });
  }
}

export class DnsDotServer {
  private readonly options: DnsDotServerOptions;
  private readonly logger: EdgeLogger;
  private readonly connections: DnsStreamConnections;
  private server: Server | null = null;

  constructor(options: DnsDotServerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.connections = new DnsStreamConnections(options.handler, 'DOT', options, this.logger);
    this.connections.accepting = false;
  }

  get listening(): boolean {
    return this.server !== null && this.connections.accepting;
  }

  async start(): Promise<void> {
    const { cert, key } = await readTlsFiles(this.options.tls);
    let server: Server;
    try {
      server = createServer({
        cert,
        key,
        minVersion: 'TLSv1.2',
        // A client that never finishes its handshake holds a connection slot: same bound as idleness.
        handshakeTimeout: this.options.idleTimeoutMs ?? 10_000,
      });
    } catch (err) {
      throw new ResolverEdgeError('GHOSTDNS_RESOLVER_TLS_CONFIG', 'tls.cert / tls.key rejected', { cause: err });
    }
    // Counted on the raw TCP accept, before any handshake work is spent.
    if (this.options.maxConnections !== undefined) server.maxConnections = this.options.maxConnections;
    server.on('secureConnection', (socket) => this.connections.serve(socket));
    server.on('tlsClientError', (err) => this.logger.debug({ err }, 'dot handshake failed'));
    server.on('error', (err: Error) => this.logger.error({ err }, 'dot server error'));
    await listenStreamServer(server, this.options.listen, this.options.listen.port, 'dot');
    this.server = server;
    this.connections.accepting = true;
  }

  address(): SocketAddress {
    return streamServerAddress(this.server, this.options.listen.family, 'dot');
  }

  async stop(drainTimeoutMs: number): Promise<void> {
    const server = this.server;
    this.server = null;
    await stopStreamServer(server, this.connections, drainTimeoutMs);
  }
}

// DNS over HTTPS (RFC 8484): GET with `?dns=<base64url>` and POST with an
// application/dns-message body, on one path; HTTP/2 with HTTP/1.1 fallback on
// the same TLS port. Queries go to the same QueryHandler as UDP/TCP/DoT.
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { SocketAddress } from '../dns/address.js';
import type { QueryHandler } from '../dns/handler.js';
import type { ClientInfo } from '../dns/resolver.js';
import { HEADER_LENGTH, minResponseTtl } from '../dns/wire.js';
import { ResolverEdgeError } from '../errors.js';
import { silentLogger, type EdgeLogger } from '../metrics.js';
import { readTlsFiles, type TlsFiles } from './dot-server.js';
import { InFlight } from './in-flight.js';
import { listenStreamServer, streamServerAddress } from './tcp-server.js';

export const DNS_MESSAGE_TYPE = 'application/dns-message';
/** The largest DNS message (RFC 1035 §4.2.2's 16-bit length). */
export const MAX_DNS_MESSAGE = 65_535;

export type DohRequestCheck = { ok: true; query: Buffer | null } | { ok: false; status: 400 | 404 | 405 | 413 | 415; reason: string };

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** base64url without padding (RFC 8484 §4.1, RFC 4648 §5); null when not that. */
export function decodeBase64Url(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 === 1 || !BASE64URL.test(text)) return null;
  return Buffer.from(text, 'base64url');
}

/**
 * Everything about a request that can be decided before reading a body:
 * path, method, GET's `dns` parameter, POST's content type and declared length.
 * For GET the query is returned; for POST `query` is null (the body follows).
 */
export function checkDohRequest(
  method: string,
  url: string,
  headers: { contentType?: string | undefined; contentLength?: string | undefined },
  path: string,
): DohRequestCheck {
  const q = url.indexOf('?');
  const reqPath = q < 0 ? url : url.slice(0, q);
  if (reqPath !== path) return { ok: false, status: 404, reason: 'not the DoH path' };
  if (method === 'GET') {
    const dns = new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).get('dns');
    if (dns === null) return { ok: false, status: 400, reason: 'missing dns parameter' };
    // 4/3 of the message: the encoded form of the largest message.
    if (dns.length > Math.ceil((MAX_DNS_MESSAGE * 4) / 3)) return { ok: false, status: 413, reason: 'dns parameter too large' };
    const query = decodeBase64Url(dns);
    if (query === null) return { ok: false, status: 400, reason: 'dns parameter is not base64url' };
    if (query.length < HEADER_LENGTH) return { ok: false, status: 400, reason: 'dns parameter too short' };
    return { ok: true, query };
  }
  if (method === 'POST') {
    const mediaType = (headers.contentType ?? '').split(';', 1)[0]?.trim().toLowerCase();
    if (mediaType !== DNS_MESSAGE_TYPE) return { ok: false, status: 415, reason: `content type must be ${DNS_MESSAGE_TYPE}` };
    if (headers.contentLength !== undefined && Number(headers.contentLength) > MAX_DNS_MESSAGE) {
      return { ok: false, status: 413, reason: 'body too large' };
    }
    return { ok: true, query: null };
  }
  return { ok: false, status: 405, reason: 'only GET and POST' };
}

/** RFC 8484 §5.1: the answer may be reused for as long as its shortest TTL. */
export function dohCacheControl(response: Buffer): string {
  const ttl = minResponseTtl(response);
  return `max-age=${ttl ?? 0}`;
}

export interface DnsDohServerOptions {
  listen: SocketAddress;
  path: string;
  handler: QueryHandler;
  tls: TlsFiles;
  logger?: EdgeLogger;
  /** Idle HTTP/2 sessions are closed after this. */
  idleTimeoutMs?: number;
  /** Open connections; beyond it new ones are closed at once. */
  maxConnections?: number;
}

export class DnsDohServer {
  private readonly options: DnsDohServerOptions;
  private readonly logger: EdgeLogger;
  private readonly inFlight = new InFlight();
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private server: Http2SecureServer | null = null;
  private accepting = false;

  constructor(options: DnsDohServerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
  }

  get listening(): boolean {
    return this.accepting;
  }

  async start(): Promise<void> {
    const { cert, key } = await readTlsFiles(this.options.tls);
    let server: Http2SecureServer;
    try {
      server = createSecureServer({ cert, key, allowHTTP1: true, minVersion: 'TLSv1.2' }, (req, res) => this.onRequest(req, res));
    } catch (err) {
      throw new ResolverEdgeError('GHOSTDNS_RESOLVER_TLS_CONFIG', 'tls.cert / tls.key rejected', { cause: err });
    }
    if (this.options.maxConnections !== undefined) server.maxConnections = this.options.maxConnections;
    server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.setTimeout(this.options.idleTimeoutMs ?? 10_000, () => session.close());
    });
    server.on('tlsClientError', (err: Error) => this.logger.debug({ err }, 'doh handshake failed'));
    server.on('error', (err: Error) => this.logger.error({ err }, 'doh server error'));
    await listenStreamServer(server, this.options.listen, this.options.listen.port, 'doh');
    this.server = server;
    this.accepting = true;
  }

  address(): SocketAddress {
    return streamServerAddress(this.server, this.options.listen.family, 'doh');
  }

  async stop(drainTimeoutMs: number): Promise<void> {
    this.accepting = false;
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    // GOAWAY first: clients stop sending on these sessions, the in-flight streams finish.
    for (const s of this.sessions) s.close();
    const drained = await this.inFlight.drain(drainTimeoutMs);
    if (!drained) this.logger.warn({ pending: this.inFlight.size }, 'doh drain timed out');
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
    this.sessions.clear();
    this.sockets.clear();
    await closed;
  }

  private onRequest(req: Http2ServerRequest, res: Http2ServerResponse): void {
    if (!this.accepting) {
      fail(res, 503, 'shutting down');
      return;
    }
    const check = checkDohRequest(req.method, req.url, {
      contentType: req.headers['content-type'],
      contentLength: req.headers['content-length'],
    }, this.options.path);
    if (!check.ok) {
      if (check.status === 405) res.setHeader('allow', 'GET, POST');
      fail(res, check.status, check.reason);
      req.resume();
      return;
    }
    const client: ClientInfo = {
      address: req.socket.remoteAddress ?? '',
      port: req.socket.remotePort ?? 0,
      family: req.socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4',
      transport: 'DOH',
    };
    this.inFlight.track(
      (check.query !== null ? Promise.resolve(check.query) : readBody(req, MAX_DNS_MESSAGE)).then(async (query) => {
        if (query === 'too_large') return fail(res, 413, 'body too large');
        if (query === null || query.length < HEADER_LENGTH) return fail(res, 400, 'not a DNS message');
        const result = await this.options.handler.handle(query, client);
        if (result.kind === 'drop') return fail(res, 400, 'not a DNS query');
        const response = result.answer.response;
        res.writeHead(200, {
          'content-type': DNS_MESSAGE_TYPE,
          'content-length': String(response.length),
          'cache-control': dohCacheControl(response),
        });
        res.end(response);
        this.options.handler.answered(result.answer);
      }).catch((err: unknown) => {
        this.logger.warn({ err }, 'doh request failed');
        fail(res, 400, 'bad request');
      }),
    );
  }
}

function fail(res: Http2ServerResponse, status: number, reason: string): void {
  if (res.headersSent || res.writableEnded) return;
  const body = `${reason}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** The request body, 'too_large' past `limit` bytes, null when the stream failed. */
function readBody(req: Http2ServerRequest, limit: number): Promise<Buffer | 'too_large' | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', () => {
      if (done) return;
      done = true;
      resolve(null);
    });
  });
}

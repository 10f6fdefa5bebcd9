import cluster from 'node:cluster';
import { createSocket } from 'node:dgram';
import type { CacheFastPath } from '../cache/fast-path.js';
import { entryQuestion } from '../cache/answer-cache.js';
import type { IpFamily, SocketAddress } from '../dns/address.js';
import { epochMicros, type AnsweredQuery, type QueryHandler } from '../dns/handler.js';
import type { ClientInfo } from '../dns/resolver.js';
import { adaptDgramSocket, type FastSendUdpSocket, type RemoteInfo, type UdpSocketFactory, type UdpSocketLike } from '../dns/udp.js';
import { ResolverEdgeError } from '../errors.js';
import { silentLogger, type EdgeLogger } from '../metrics.js';
import { InFlight } from './in-flight.js';
import { fitForTransport } from '../dns/edns.js';

export interface DnsUdpServerOptions {
  listen: SocketAddress;
  handler: QueryHandler;
  socketFactory?: UdpSocketFactory;
  logger?: EdgeLogger;
  /** The cache's synchronous hit path; absent or null: every query takes the full (async) path. */
  fastPath?: CacheFastPath | null;
}

function canSendNoWait(socket: UdpSocketLike): socket is FastSendUdpSocket {
  return typeof (socket as Partial<FastSendUdpSocket>).sendNoWait === 'function';
}

/** Kernel socket buffers for bursts (the kernel caps them at net.core.[rw]mem_max). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * The server's own dgram socket: rinfo handed over as node builds it (no copy
 * per packet), a lookup that returns the IP literal synchronously (client
 * addresses always are; dns.lookup would cost a tick per send), a no-wait send,
 * and in a cluster worker a non-exclusive bind so every worker shares the
 * primary's one socket (Node 20's dgram has no SO_REUSEPORT).
 */
export function serverUdpSocketFactory(family: IpFamily): FastSendUdpSocket {
  const socketFamily = family === 'IPv6' ? 6 : 4;
  const socket = createSocket({
    type: family === 'IPv6' ? 'udp6' : 'udp4',
    ipv6Only: family === 'IPv6',
    lookup: (address: string, _options: unknown, callback: (err: Error | null, address: string, family: number) => void) =>
      callback(null, address, socketFamily),
  });
  return adaptDgramSocket(socket, {
    exclusive: !cluster.isWorker,
    afterBind: (bound) => {
      try {
        bound.setRecvBufferSize(SOCKET_BUFFER_BYTES);
        bound.setSendBufferSize(SOCKET_BUFFER_BYTES);
      } catch {
        // capped or refused by the kernel: the default buffers still work
      }
    },
  });
}

/**
 * DNS over UDP (RFC 1035 §4.2.1). Responses go out on the listening socket.
 * A fresh cached answer is sent synchronously from the message callback
 * (CacheFastPath); everything else goes through the QueryHandler.
 */
export class DnsUdpServer {
  private readonly options: DnsUdpServerOptions;
  private readonly logger: EdgeLogger;
  private readonly fastPath: CacheFastPath | null;
  private socket: UdpSocketLike | null = null;
  private fastSocket: FastSendUdpSocket | null = null;
  private accepting = false;
  private readonly inFlight = new InFlight();

  constructor(options: DnsUdpServerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.fastPath = options.fastPath ?? null;
  }

  get listening(): boolean {
    return this.accepting;
  }

  async start(): Promise<void> {
    const { listen } = this.options;
    const socket = (this.options.socketFactory ?? serverUdpSocketFactory)(listen.family);
    socket.onMessage((msg, rinfo) => this.onMessage(msg, rinfo));
    socket.onError((err) => this.logger.error({ err }, 'udp socket error'));
    try {
      await socket.bind(listen.port, listen.host);
    } catch (err) {
      await socket.close();
      throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BIND_FAILED', `cannot bind udp ${listen.host}:${listen.port}`, { cause: err });
    }
    this.socket = socket;
    this.fastSocket = canSendNoWait(socket) ? socket : null;
    this.accepting = true;
  }

  address(): SocketAddress {
    if (this.socket === null) throw new ResolverEdgeError('GHOSTDNS_RESOLVER_NOT_STARTED', 'udp server not started');
    const a = this.socket.address();
    return { host: a.address, port: a.port, family: this.options.listen.family };
  }

  /** Stops accepting, waits (bounded) for in-flight queries to be answered, closes the socket. */
  async stop(drainTimeoutMs: number): Promise<void> {
    this.accepting = false;
    const drained = await this.inFlight.drain(drainTimeoutMs);
    if (!drained) this.logger.warn({ pending: this.inFlight.size }, 'udp drain timed out');
    await this.socket?.close();
    this.socket = null;
    this.fastSocket = null;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.accepting) return;
    if (this.fastPath !== null && this.tryFastPath(this.fastPath, msg, rinfo)) return;
    const client = { address: rinfo.address, port: rinfo.port, family: rinfo.family, transport: 'UDP' as const };
    this.inFlight.track(
      this.options.handler.handle(msg, client).then(async (result) => {
        if (result.kind === 'drop' || this.socket === null) return;
        try {
          await this.socket.send((result.answer.response = fitForTransport(result.answer.response, msg, client)), rinfo.port, rinfo.address);
        } catch (err) {
          this.logger.warn({ err, client: rinfo.address }, 'udp send failed');
          return;
        }
        this.options.handler.answered(result.answer);
      }),
    );
  }

  /** True when the query was answered from the cache (sent, event queued). */
  private tryFastPath(fast: CacheFastPath, msg: Buffer, rinfo: RemoteInfo): boolean {
    const receivedAtNs = process.hrtime.bigint();
    const queryTimeUs = epochMicros();
    const answered = fast.tryAnswer(msg, rinfo.address, rinfo.family);
    if (answered === null) return false;
    const response = fast.guard.limit(answered, rinfo.address, rinfo.family);
    if (response === null) return true; // rate limited: dropped, counted by the limiter
    const entry = fast.entry;
    const cacheStatus = fast.status;
    if (this.fastSocket !== null) {
      this.fastSocket.sendNoWait(response, rinfo.port, rinfo.address);
    } else if (this.socket !== null) {
      // Injected sockets (tests) only have the promise-returning send.
      this.socket.send(response, rinfo.port, rinfo.address).catch((err: unknown) => {
        this.logger.warn({ err, client: rinfo.address }, 'udp send failed');
      });
    }
    if (entry === null) return true;
    const question = entryQuestion(entry);
    const client: ClientInfo = { address: rinfo.address, port: rinfo.port, family: rinfo.family, transport: 'UDP' };
    const answer: AnsweredQuery = {
      client,
      queryTimeUs,
      receivedAtNs,
      question,
      response,
      cacheStatus,
      policyAction: response === answered ? 'PASS' : 'RATE_LIMITED',
      upstream: null,
      upstreamLatencyUs: null,
    };
    this.options.handler.countRequest('UDP', question.type, rinfo.family);
    this.options.handler.answered(answer);
    return true;
  }
}

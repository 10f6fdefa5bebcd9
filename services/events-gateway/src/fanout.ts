import { parseLiveFilter, matchesFilter } from './filter.js';
import type { LiveFilter } from './filter.js';
import type { LiveEvent } from './live-event.js';

/** WebSocket readyState values (RFC 6455 / WHATWG). */
const OPEN = 1;

/** Close codes used by the gateway (RFC 6455 §7.4.1). */
export const CloseCodes = {
  goingAway: 1001,
  policyViolation: 1008,
  tryAgainLater: 1013,
} as const;

/**
 * What the fan-out needs from a socket. `ws`'s WebSocket satisfies it; tests
 * pass stubs.
 */
export interface LiveSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  ping(): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'pong', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Why a message was not delivered: a client over its buffer limit, a socket
 * already closing, a send that threw, or (gateway) a bus event that could not
 * be mapped.
 */
export type DropReason = 'backpressure' | 'not_open' | 'send_error' | 'invalid_event';
/** Why the gateway refused or ended a connection. */
export type ServerCloseReason = 'bad_filter' | 'connection_limit' | 'heartbeat_timeout';

export interface FanoutMetrics {
  clients(count: number): void;
  sent(count: number): void;
  dropped(reason: DropReason, count: number): void;
  /** The gateway refused or ended a connection. */
  serverClosed(reason: ServerCloseReason): void;
}

export const noopFanoutMetrics: FanoutMetrics = {
  clients: () => undefined,
  sent: () => undefined,
  dropped: () => undefined,
  serverClosed: () => undefined,
};

export interface FanoutOptions {
  /** Skip (drop) a message for a client whose unsent bytes exceed this. */
  maxBufferedBytes: number;
  /** Connections beyond this are closed with 1013. */
  maxClients: number;
  /** Ping every interval; a client that has not answered the previous ping is terminated. */
  heartbeatIntervalMs: number;
  /** On closeAll, clients that have not completed the close handshake by then are terminated. */
  closeGraceMs: number;
}

export const DEFAULT_FANOUT_OPTIONS: FanoutOptions = {
  maxBufferedBytes: 1024 * 1024,
  maxClients: 1000,
  heartbeatIntervalMs: 30_000,
  closeGraceMs: 2_000,
};

export type AcceptResult = { accepted: true } | { accepted: false; reason: ServerCloseReason; message: string };

interface Client {
  readonly socket: LiveSocket;
  readonly filter: LiveFilter | null;
  alive: boolean;
}

/**
 * The live hot path: every event is serialised once and the same string is
 * sent to every interested client. A client whose send buffer is over the
 * limit misses messages (counted) instead of growing memory or slowing the
 * others. Plain TypeScript, no Nest, no timers unless startHeartbeat().
 */
export class LiveEventFanout {
  private readonly clients = new Set<Client>();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly options: FanoutOptions;

  constructor(
    options: Partial<FanoutOptions> = {},
    private readonly metrics: FanoutMetrics = noopFanoutMetrics,
  ) {
    this.options = { ...DEFAULT_FANOUT_OPTIONS, ...options };
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Registers an open socket. `requestUrl` is the upgrade request's URL (its
   * query string carries the filter). A bad filter closes the socket with
   * 1008, a full gateway with 1013; both carry a short reason.
   */
  accept(socket: LiveSocket, requestUrl: string): AcceptResult {
    // Without an 'error' listener a socket error would be an uncaught exception.
    socket.on('error', () => undefined);

    const parsed = parseLiveFilter(requestUrl);
    if (!parsed.ok) {
      return this.reject(socket, CloseCodes.policyViolation, 'bad_filter', `bad filter: ${parsed.reason}`);
    }
    if (this.clients.size >= this.options.maxClients) {
      return this.reject(socket, CloseCodes.tryAgainLater, 'connection_limit', 'connection limit reached');
    }

    const client: Client = { socket, filter: parsed.filter, alive: true };
    this.clients.add(client);
    this.metrics.clients(this.clients.size);
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('close', () => {
      if (this.clients.delete(client)) this.metrics.clients(this.clients.size);
    });
    return { accepted: true };
  }

  /** Sends each event to every matching client. Never throws, never waits. */
  broadcast(events: readonly LiveEvent[]): void {
    if (this.clients.size === 0) return;
    const { maxBufferedBytes } = this.options;
    let sent = 0;
    let backpressure = 0;
    let notOpen = 0;
    let sendError = 0;
    for (const event of events) {
      let payload: string | null = null;
      for (const client of this.clients) {
        if (client.filter !== null && !matchesFilter(client.filter, event)) continue;
        const socket = client.socket;
        if (socket.readyState !== OPEN) {
          notOpen++;
          continue;
        }
        if (socket.bufferedAmount > maxBufferedBytes) {
          backpressure++;
          continue;
        }
        payload ??= JSON.stringify(event);
        try {
          socket.send(payload);
          sent++;
        } catch {
          sendError++;
        }
      }
    }
    if (sent > 0) this.metrics.sent(sent);
    if (backpressure > 0) this.metrics.dropped('backpressure', backpressure);
    if (notOpen > 0) this.metrics.dropped('not_open', notOpen);
    if (sendError > 0) this.metrics.dropped('send_error', sendError);
  }

  /** One heartbeat round: terminate clients that missed the last ping, ping the rest. */
  heartbeatTick(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        this.clients.delete(client);
        this.metrics.serverClosed('heartbeat_timeout');
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      try {
        client.socket.ping();
      } catch {
        // Not open (closing): the next round terminates it if no pong arrives.
      }
    }
    this.metrics.clients(this.clients.size);
  }

  startHeartbeat(): void {
    if (this.heartbeat !== null) return;
    this.heartbeat = setInterval(() => this.heartbeatTick(), this.options.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /**
   * Closes every client with `code` and waits for them to go, terminating
   * the ones still there after closeGraceMs.
   */
  async closeAll(code: number = CloseCodes.goingAway, reason = 'server shutting down'): Promise<void> {
    this.stopHeartbeat();
    const clients = [...this.clients];
    this.clients.clear();
    this.metrics.clients(0);
    if (clients.length === 0) return;
    await Promise.all(
      clients.map(
        ({ socket }) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              socket.terminate();
              resolve();
            }, this.options.closeGraceMs);
            timer.unref();
            socket.on('close', () => {
              clearTimeout(timer);
              resolve();
            });
            try {
              socket.close(code, reason);
            } catch {
              socket.terminate();
            }
          }),
      ),
    );
  }

  private reject(socket: LiveSocket, code: number, reason: ServerCloseReason, message: string): AcceptResult {
    this.metrics.serverClosed(reason);
    // Close reasons are limited to 123 bytes; keep them printable ASCII.
    const text = message.replace(/[^\x20-\x7e]/g, '?').slice(0, 123);
    try {
      socket.close(code, text);
    } catch {
      socket.terminate();
    }
    return { accepted: false, reason, message: text };
  }
}

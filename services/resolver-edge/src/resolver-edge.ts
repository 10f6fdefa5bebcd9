// Plain-TypeScript composition of the hot path: no Nest in here, so tests and
// the Nest provider build exactly the same thing.
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import type { EventBus, EventPublisher } from '@ghostdns/bus';
import type { GhostConfig } from '@ghostdns/config';
import { formatHostPort, ipFamily, parseHostPort, type SocketAddress } from './dns/address.js';
import { upstream, UpstreamForwarder, type Upstream } from './dns/forwarder.js';
import { QueryHandler } from './dns/handler.js';
import { ForwardingResolver } from './dns/resolver.js';
import { buildPipeline, type Pipeline } from './pipeline.js';
import { findCacheStage, type SharedCacheStore } from './cache/index.js';
import { DeviceIdentityIndex } from './device-identity.js';
import { shouldRunWorkers, startWorkerPool, type WorkerPool } from './cluster/primary.js';
import type { UdpSocketFactory } from './dns/udp.js';
import { ResolverEdgeError } from './errors.js';
import { ThreadedEventRecorder } from './events/event-thread.js';
import { QueryEventProducer, type AnswerRecorder } from './events/producer.js';
import { MemoryQueueSink, type MemoryQueueSinkOptions, type QueryEventSink } from './events/sink.js';
import { SpoolingSink, type SpoolingSinkOptions } from './events/spooling-sink.js';
import { noopResolverMetrics, silentLogger, type EdgeLogger, type ResolverMetrics } from './metrics.js';
import { DnsTcpServer } from './server/tcp-server.js';
import { DnsDotServer } from './server/dot-server.js';
import { DnsDohServer } from './server/doh-server.js';
import { resolveForwardZones, resolveTlsUpstream } from './upstream/config.js';
import type { StreamConnector } from './dns/forwarder.js';
import { DnsUdpServer } from './server/udp-server.js';

export interface ResolverEdgeOptions {
  config: GhostConfig;
  publisher: EventPublisher;
  /** Topics the pipeline follows (record changes, presence); null: none. */
  bus?: Pick<EventBus, 'subscribe'> | null;
  metrics?: ResolverMetrics;
  logger?: EdgeLogger;
  socketFactory?: UdpSocketFactory;
  /** Overrides of the in-memory event queue (capacity, batch size, linger, retry). */
  queue?: Omit<MemoryQueueSinkOptions, 'publisher' | 'metrics' | 'logger'>;
  /**
   * Where events wait while the bus is unreachable or behind (SpoolingSink).
   * Unset: config.spool.dir; null, or unset without spool.dir: memory queue
   * only. ResolverEdgeService passes spool.dir ?? <data.dir>/spool.
   */
  spoolDir?: string | null;
  /** Overrides of the spooling sink (publish timeout, high-water mark, segment size). */
  spool?: Pick<SpoolingSinkOptions, 'publishTimeoutMs' | 'highWater'> & { segmentBytes?: number };
  /** Replaces the event sink altogether. */
  sink?: QueryEventSink;
  /**
   * Build and publish events on a worker thread with its own KafkaBus (from
   * config.kafka) instead of `publisher`: the answer thread only writes compact
   * records. Ignored when `sink` is given.
   */
  eventThread?: { clientIdSuffix: string } | null;
  /** The runtime's shared store: the answer cache's second level when cache.shared is on. */
  store?: SharedCacheStore | null;
  /** Replaces node:net / node:tls for TCP and DoT upstream connections. */
  streamConnector?: StreamConnector;
  /**
   * The process's device identities: fed by the presence events the pipeline applies, read by
   * every event builder (ResolverEdgeService shares it with the taps). Default: one of its own.
   */
  devices?: DeviceIdentityIndex;
}

export interface ResolverEdgeAddresses {
  udp: SocketAddress;
  tcp: SocketAddress | null;
  /** DNS over TLS listener, when dot.listen is set. */
  dot?: SocketAddress | null;
  /** DNS over HTTPS listener, when doh.listen is set. */
  doh?: SocketAddress | null;
}

export interface StopOptions {
  /** Bound on waiting for in-flight queries. */
  drainTimeoutMs?: number;
  /** Bound on publishing the events still queued. */
  flushTimeoutMs?: number;
}

/** Bind attempts when the configured port is 0 and TCP must share UDP's port. */
const EPHEMERAL_BIND_ATTEMPTS = 8;

export class ResolverEdge {
  private readonly options: ResolverEdgeOptions;
  private readonly metrics: ResolverMetrics;
  private readonly logger: EdgeLogger;
  private readonly devices: DeviceIdentityIndex;
  private readonly recorder: AnswerRecorder;
  private forwarder: UpstreamForwarder | null = null;
  private udp: DnsUdpServer | null = null;
  private tcp: DnsTcpServer | null = null;
  private dot: DnsDotServer | null = null;
  private doh: DnsDohServer | null = null;
  private upstreams: readonly Upstream[] = [];
  private pipeline: Pipeline | null = null;
  /** dns.workers > 1: the cluster workers doing the listening (this process then only supervises). */
  private workerPool: WorkerPool | null = null;

  constructor(options: ResolverEdgeOptions) {
    this.options = options;
    this.metrics = options.metrics ?? noopResolverMetrics;
    this.logger = options.logger ?? silentLogger;
    this.devices = options.devices ?? new DeviceIdentityIndex();
    this.recorder = this.createRecorder();
  }

  private createRecorder(): AnswerRecorder {
    const { config, eventThread, sink } = this.options;
    // A cluster primary only supervises: its workers record their own events.
    if (sink === undefined && eventThread && !shouldRunWorkers(config)) {
      return new ThreadedEventRecorder({
        config,
        spoolDir: this.spoolDir(),
        clientIdSuffix: eventThread.clientIdSuffix,
        metrics: this.metrics,
        logger: this.logger,
        devices: this.devices,
      });
    }
    return new QueryEventProducer({ node: config.node, sink: sink ?? this.createSink(), devices: this.devices, logger: this.logger });
  }

  private spoolDir(): string | null {
    return this.options.spoolDir === undefined ? (this.options.config.spool.dir ?? null) : this.options.spoolDir;
  }

  private createSink(): QueryEventSink {
    const { config, publisher, queue } = this.options;
    const dir = this.spoolDir();
    const common = { ...queue, publisher, metrics: this.metrics, logger: this.logger };
    if (dir === null) return new MemoryQueueSink(common);
    const { segmentBytes, ...overrides } = this.options.spool ?? {};
    return new SpoolingSink({
      ...common,
      ...overrides,
      spool: {
        dir,
        maxBytes: config.spool.maxBytes,
        fsyncIntervalMs: config.spool.fsyncIntervalMs,
        ...(segmentBytes !== undefined ? { segmentBytes } : {}),
      },
    });
  }

  /** True while both listeners accept queries. */
  get listening(): boolean {
    if (this.workerPool !== null) return this.workerPool.listening;
    return (
      (this.udp?.listening ?? false) &&
      (this.tcp === null || this.tcp.listening) &&
      (this.dot === null || this.dot.listening) &&
      (this.doh === null || this.doh.listening)
    );
  }

  get eventQueueDepth(): number {
    return this.recorder.depth;
  }

  async start(): Promise<ResolverEdgeAddresses> {
    const { dns } = this.options.config;
    const listenHp = parseHostPort(dns.listen);
    const family = ipFamily(listenHp.host);
    if (family === null) {
      throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_ADDRESS', `dns.listen must be an IP address: ${dns.listen}`);
    }
    if (shouldRunWorkers(this.options.config)) {
      this.workerPool = await startWorkerPool({ config: this.options.config, workers: dns.workers, logger: this.logger });
      return this.workerPool.addresses;
    }
    this.upstreams = [
      ...(await resolveUpstreams(dns.upstreams)),
      ...(await Promise.all(dns.tlsUpstreams.map((u) => resolveTlsUpstream(u)))),
    ];
    const forwardZones = await resolveForwardZones(dns.forwardZones);
    this.forwarder = new UpstreamForwarder({
      upstreams: this.upstreams,
      forwardZones,
      timeoutMs: dns.upstreamTimeoutMs,
      metrics: this.metrics,
      ...(this.options.socketFactory ? { socketFactory: this.options.socketFactory } : {}),
      ...(this.options.streamConnector ? { streamConnector: this.options.streamConnector } : {}),
      ...(await upstreamCa(this.options.config)),
    });
    const pipeline = buildPipeline(
      {
        config: this.options.config, metrics: this.metrics, logger: this.logger, bus: this.options.bus ?? null, store: this.options.store ?? null,
        devices: this.devices,
      },
      new ForwardingResolver(this.forwarder),
    );
    await pipeline.start();
    this.pipeline = pipeline;
    const cacheStage = findCacheStage(pipeline.stages);
    cacheStage?.setGuard(pipeline.fastPathGuard);
    const fastPath = cacheStage?.fastPath ?? null;
    const resolver = pipeline.resolver;
    const listen: SocketAddress = { host: listenHp.host, port: listenHp.port, family };
    const handler = new QueryHandler({
      resolver,
      server: `dns://${formatHostPort(listen)}`,
      metrics: this.metrics,
      logger: this.logger,
      onAnswered: this.recorder.record,
    });

    for (let attempt = 1; ; attempt++) {
      const udp = new DnsUdpServer({ listen, handler, logger: this.logger, fastPath, ...this.socketFactoryOption() });
      await udp.start();
      if (!dns.tcp) {
        this.udp = udp;
        break;
      }
      const tcp = new DnsTcpServer({ listen, handler, logger: this.logger, ...this.streamLimits() });
      try {
        await tcp.start(udp.address().port);
        this.udp = udp;
        this.tcp = tcp;
        break;
      } catch (err) {
        await udp.stop(0);
        if (listen.port !== 0 || attempt >= EPHEMERAL_BIND_ATTEMPTS) throw err;
      }
    }
    await this.startEncrypted(handler);
    const addresses = this.addresses();
    this.logger.info(
      { udp: formatHostPort(addresses.udp), tcp: addresses.tcp ? formatHostPort(addresses.tcp) : null, upstreams: this.upstreams.map((u) => u.label) },
      'resolver-edge listening',
    );
    return addresses;
  }

  /** The bound addresses (the real port when configured with port 0). */
  addresses(): ResolverEdgeAddresses {
    if (this.workerPool !== null) return this.workerPool.addresses;
    if (this.udp === null) throw new ResolverEdgeError('GHOSTDNS_RESOLVER_NOT_STARTED', 'resolver-edge not started');
    return {
      udp: this.udp.address(),
      tcp: this.tcp ? this.tcp.address() : null,
      dot: this.dot ? this.dot.address() : null,
      doh: this.doh ? this.doh.address() : null,
    };
  }

  /** The cluster workers' metrics (Prometheus text, summed over workers); '' when this process answers itself. */
  workerMetrics(): Promise<string> {
    return this.workerPool?.metrics() ?? Promise.resolve('');
  }

  /** SIGHUP: every stage re-reads its files and lists; queries keep being answered meanwhile. */
  async reload(): Promise<void> {
    this.workerPool?.reload();
    await this.pipeline?.reload();
  }

  /** Stops accepting, drains in-flight queries (bounded), then flushes queued events (bounded). */
  async stop(options: StopOptions = {}): Promise<void> {
    const drainMs = options.drainTimeoutMs ?? 5_000;
    await this.workerPool?.stop(drainMs, options.flushTimeoutMs ?? 5_000);
    this.workerPool = null;
    await Promise.all([this.udp?.stop(drainMs), this.tcp?.stop(drainMs), this.dot?.stop(drainMs), this.doh?.stop(drainMs)]);
    this.dot = null;
    this.doh = null;
    await this.forwarder?.close();
    await this.pipeline?.stop();
    this.pipeline = null;
    this.udp = null;
    this.tcp = null;
    this.forwarder = null;
    await this.recorder.close(options.flushTimeoutMs ?? 5_000);
  }

  private streamLimits(): { idleTimeoutMs: number; maxConnections: number; maxQueriesPerConnection: number } {
    const { dns } = this.options.config;
    return { idleTimeoutMs: dns.tcpIdleTimeoutMs, maxConnections: dns.tcpMaxConnections, maxQueriesPerConnection: dns.tcpMaxQueriesPerConnection };
  }

  /** DoT (RFC 7858) and DoH (RFC 8484) listeners, when their addresses are configured; same handler. */
  private async startEncrypted(handler: QueryHandler): Promise<void> {
    const { dot, doh, tls } = this.options.config;
    if (dot.listen === undefined && doh.listen === undefined) return;
    if (tls.cert === undefined || tls.key === undefined) {
      throw new ResolverEdgeError('GHOSTDNS_RESOLVER_TLS_CONFIG', 'dot.listen / doh.listen need tls.cert and tls.key');
    }
    const files = { cert: tls.cert, key: tls.key };
    if (dot.listen !== undefined) {
      const server = new DnsDotServer({ listen: ipListen(dot.listen, 'dot.listen'), handler, tls: files, logger: this.logger, ...this.streamLimits() });
      await server.start();
      this.dot = server;
    }
    if (doh.listen !== undefined) {
      const limits = this.streamLimits();
      const server = new DnsDohServer({
        listen: ipListen(doh.listen, 'doh.listen'), path: doh.path, handler, tls: files, logger: this.logger,
        idleTimeoutMs: limits.idleTimeoutMs, maxConnections: limits.maxConnections,
      });
      await server.start();
      this.doh = server;
    }
  }

  private socketFactoryOption(): { socketFactory?: UdpSocketFactory } {
    return this.options.socketFactory ? { socketFactory: this.options.socketFactory } : {};
  }
}

function ipListen(value: string, key: string): SocketAddress {
  const hp = parseHostPort(value);
  const family = ipFamily(hp.host);
  if (family === null) throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_ADDRESS', `${key} must be an IP address: ${value}`);
  return { host: hp.host, port: hp.port, family };
}

/** tls.upstreamCa read once at start: extra CAs for DoT upstreams (the forwarder adds the system's). */
async function upstreamCa(config: GhostConfig): Promise<{ tls?: { ca: string[] } }> {
  const file = config.tls.upstreamCa;
  if (file === undefined) return {};
  try {
    return { tls: { ca: [await readFile(file, 'utf8')] } };
  } catch (err) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_TLS_CONFIG', `tls.upstreamCa: cannot read ${file}`, { cause: err });
  }
}

/** Pins each configured upstream to an IP once, at start; nothing else is ever forwarded to. */
export async function resolveUpstreams(configured: readonly string[]): Promise<Upstream[]> {
  const out: Upstream[] = [];
  for (const value of configured) {
    const hp = parseHostPort(value);
    if (ipFamily(hp.host) !== null) {
      out.push(upstream(hp.host, hp.port));
      continue;
    }
    try {
      const found = await lookup(hp.host);
      out.push({ ...upstream(found.address, hp.port), label: value });
    } catch (err) {
      throw new ResolverEdgeError('GHOSTDNS_RESOLVER_UPSTREAM_UNRESOLVABLE', `cannot resolve upstream ${value}`, { cause: err });
    }
  }
  return out;
}

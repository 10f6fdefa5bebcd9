// The taps a node runs beside (or instead of) answering: a dnstap listener
// and a BIND query-log tailer, switched on by tap.dnstap / tap.bindQuerylog.
// Their events go through a sink of their own (memory queue + disk spool,
// `<spool dir>-taps`), so a tapped resolver's traffic never queues behind
// ours, and to the runtime bus like resolver-edge's own events.
import type { EventPublisher } from '@ghostdns/bus';
import type { GhostConfig } from '@ghostdns/config';
import { counter, gauge } from '@ghostdns/observability';
import type { Registry } from 'prom-client';
import type { DeviceIdentityLookup } from '../device-identity.js';
import { noopResolverMetrics, silentLogger, type EdgeLogger, type ResolverMetrics } from '../metrics.js';
import { MemoryQueueSink, type QueryEventSink } from '../events/sink.js';
import { SpoolingSink } from '../events/spooling-sink.js';
import { DnstapReceiver, type DnstapMetrics } from './dnstap/index.js';
import { BindQueryLogTap, type QuerylogTapMetrics } from './querylog/index.js';

export interface ResolverTapsOptions {
  config: GhostConfig;
  publisher: EventPublisher;
  /** The taps' spool; null: memory queue only. */
  spoolDir: string | null;
  /** Where the query-log tailer keeps its position (<data.dir>/taps). */
  stateDir: string;
  /** Prometheus registry for the tap metrics; null: not measured. */
  registry: Registry | null;
  /** Counters (not gauges) of the taps' sink: drops and spool traffic, shared with resolver-edge's own. */
  sinkMetrics?: ResolverMetrics;
  /** Who is behind a tapped client address (VPN devices); default: nobody. */
  devices?: DeviceIdentityLookup;
  logger?: EdgeLogger;
}

/** True when the config switches on at least one tap. */
export function tapsConfigured(config: GhostConfig): boolean {
  return config.tap.dnstap !== undefined || config.tap.bindQuerylog !== undefined;
}

export class ResolverTaps {
  private readonly sink: QueryEventSink;
  private readonly dnstap: DnstapReceiver | null;
  private readonly querylog: BindQueryLogTap | null;

  constructor(options: ResolverTapsOptions) {
    const { config } = options;
    const logger = options.logger ?? silentLogger;
    const shared = options.sinkMetrics ?? noopResolverMetrics;
    // Gauges stay resolver-edge's: two writers of one gauge would report nonsense.
    const metrics: ResolverMetrics = { ...shared, eventQueueDepth: () => undefined, spoolDepthBytes: () => undefined };
    const common = { publisher: options.publisher, metrics, logger };
    this.sink =
      options.spoolDir === null
        ? new MemoryQueueSink(common)
        : new SpoolingSink({ ...common, spool: { dir: options.spoolDir, maxBytes: config.spool.maxBytes, fsyncIntervalMs: config.spool.fsyncIntervalMs } });
    const node = { id: config.node.id, pop: config.node.pop };
    this.dnstap =
      config.tap.dnstap === undefined
        ? null
        : new DnstapReceiver({
            listen: config.tap.dnstap,
            sink: this.sink,
            node,
            eventWire: config.dns.eventWire,
            devices: options.devices,
            logger,
            ...(options.registry ? { metrics: prometheusDnstapMetrics(options.registry) } : {}),
          });
    this.querylog =
      config.tap.bindQuerylog === undefined
        ? null
        : new BindQueryLogTap({
            queriesLog: config.tap.bindQuerylog,
            ...(config.tap.bindQueryErrorsLog !== undefined ? { queryErrorsLog: config.tap.bindQueryErrorsLog } : {}),
            ...(config.tap.bindTimezone !== undefined ? { timezone: config.tap.bindTimezone } : {}),
            stateDir: options.stateDir,
            node,
            sink: this.sink,
            devices: options.devices,
            logger,
            // Both configured: dnstap carries the rcodes the log lacks, so its events win.
            supersededByDnstap: config.tap.dnstap !== undefined,
            ...(options.registry ? { metrics: prometheusQuerylogMetrics(options.registry) } : {}),
          });
  }

  async start(): Promise<void> {
    await this.dnstap?.start();
    await this.querylog?.start();
  }

  /** Stops listening and tailing (the tailer stores its position), then flushes the sink within flushTimeoutMs. */
  async stop(flushTimeoutMs: number): Promise<void> {
    await Promise.all([this.dnstap?.stop(), this.querylog?.stop()]);
    await this.sink.close(flushTimeoutMs);
  }

  /** The dnstap listener's address (tests listen on port 0 or a temporary socket). */
  dnstapAddress(): ReturnType<DnstapReceiver['address']> | null {
    return this.dnstap?.address() ?? null;
  }
}

function prometheusDnstapMetrics(registry: Registry): DnstapMetrics {
  const frames = counter(registry, { name: 'ghostdns_tap_dnstap_frames_total', help: 'dnstap data frames received (files included).' });
  const messages = counter(registry, {
    name: 'ghostdns_tap_dnstap_messages_total', help: 'Decoded dnstap messages by Message.Type.', labelNames: ['type'] as const,
  });
  const events = counter(registry, {
    name: 'ghostdns_tap_dnstap_events_total', help: 'Query events from dnstap: answered, or a query whose response never came.', labelNames: ['kind'] as const,
  });
  const errors = counter(registry, {
    name: 'ghostdns_tap_dnstap_decode_errors_total', help: 'dnstap frames or messages that became no event, by reason.', labelNames: ['reason'] as const,
  });
  const opened = counter(registry, { name: 'ghostdns_tap_dnstap_connections_total', help: 'Frame Streams connections accepted.' });
  const closed = counter(registry, {
    name: 'ghostdns_tap_dnstap_connections_closed_total', help: 'Frame Streams connections ended, by reason.', labelNames: ['reason'] as const,
  });
  const pending = gauge(registry, { name: 'ghostdns_tap_dnstap_pending_queries', help: 'Client queries waiting for their response message.' });
  return {
    frame: () => frames.inc(),
    message: (type) => messages.inc({ type }),
    event: (kind) => events.inc({ kind }),
    decodeError: (reason) => errors.inc({ reason }),
    connectionOpened: () => opened.inc(),
    connectionClosed: (reason) => closed.inc({ reason }),
    pendingQueries: (n) => pending.set(n),
  };
}

function prometheusQuerylogMetrics(registry: Registry): QuerylogTapMetrics {
  const lines = counter(registry, { name: 'ghostdns_tap_querylog_lines_total', help: 'BIND log lines read, by file.', labelNames: ['file'] as const });
  const events = counter(registry, { name: 'ghostdns_tap_querylog_events_total', help: 'Query events from the BIND query log.' });
  const skipped = counter(registry, {
    name: 'ghostdns_tap_querylog_skipped_total', help: 'BIND log lines that became no event, by reason.', labelNames: ['reason'] as const,
  });
  const rotations = counter(registry, {
    name: 'ghostdns_tap_querylog_rotations_total', help: 'BIND log rotations followed, by file and kind.', labelNames: ['file', 'kind'] as const,
  });
  const unmatched = counter(registry, {
    name: 'ghostdns_tap_querylog_errors_unmatched_total', help: 'query-errors lines whose query line was never seen within the match window.',
  });
  return {
    lines: (file, n) => lines.inc({ file }, n),
    events: (n) => events.inc(n),
    skipped: (reason, n) => skipped.inc({ reason }, n),
    rotations: (file, kind) => rotations.inc({ file, kind }),
    errorsUnmatched: (n) => unmatched.inc(n),
  };
}

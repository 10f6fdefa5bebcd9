import { randomUUID } from 'node:crypto';
import type { SecurityEvent } from '@ghostdns/contracts';
import type { BatchObserver } from '../ingestor.js';
import type { DetectionMetrics, IngestLogger, SecurityEventPublisher } from '../ports.js';
import type { DnsQueryRow } from '../row.js';
import type { Detection, Detector } from './detectors.js';

/**
 * Detections handed to the bus and not yet acknowledged, beyond which new ones are dropped and
 * counted: while the bus is down, detections must neither pile up in memory nor hold up ingest.
 */
export const MAX_UNPUBLISHED = 1_000;

export interface SecurityMonitorOptions {
  detectors: readonly Detector[];
  publisher: SecurityEventPublisher;
  metrics: DetectionMetrics;
  logger: IngestLogger;
  /** The events' node_id: the node the detectors run on. */
  nodeId: string;
  /** Epoch milliseconds, the events' detected_at. */
  clock?: () => number;
  newEventId?: () => string;
}

/**
 * Runs the detectors over every stored batch of queries and publishes what they detect as
 * SecurityEvents. Never throws and never waits: a detector that throws is logged and counted
 * (and skips the rest of that batch), and publishing runs behind the batch, so the bus commits
 * the batch's offsets whatever the detectors do. A lost detection costs an alert; holding up
 * ingest would cost the query log.
 */
export class SecurityMonitor implements BatchObserver<DnsQueryRow> {
  private readonly clock: () => number;
  private readonly newEventId: () => string;
  /** Query times of the batch being observed, parsed once for every detector; grown, never shrunk. */
  private times = new Float64Array(1_024);
  private readonly sending = new Set<Promise<void>>();
  private unacknowledged = 0;

  constructor(private readonly options: SecurityMonitorOptions) {
    this.clock = options.clock ?? Date.now;
    this.newEventId = options.newEventId ?? randomUUID;
  }

  observe(rows: readonly DnsQueryRow[]): void {
    const times = this.queryTimes(rows);
    const events: SecurityEvent[] = [];
    for (const detector of this.options.detectors) {
      try {
        for (let i = 0; i < rows.length; i++) {
          const detection = detector.observe(rows[i], times[i]);
          if (detection !== null) events.push(this.toEvent(detection));
        }
      } catch (error) {
        this.options.metrics.failed(detector.kind);
        this.options.logger.error(
          { kind: detector.kind, rows: rows.length, err: error },
          'security detector failed; the batch is stored, the rest of it goes unchecked by this detector',
        );
      }
    }
    if (events.length > 0) this.publish(events);
  }

  /** Resolves once every detection handed to the bus was acknowledged or counted as lost (shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.sending]);
  }

  private queryTimes(rows: readonly DnsQueryRow[]): Float64Array {
    if (this.times.length < rows.length) this.times = new Float64Array(rows.length);
    // The mapper wrote queried_at as ISO 8601 from valid microseconds: Date.parse keeps the milliseconds.
    for (let i = 0; i < rows.length; i++) this.times[i] = Date.parse(rows[i].queried_at);
    return this.times;
  }

  private toEvent(detection: Detection): SecurityEvent {
    const { kind, severity, query, qname } = detection;
    this.options.metrics.fired(kind);
    const details: Record<string, string> = { ...detection.details, query_time: query.queried_at };
    if (query.device_id !== null) {
      details.device_source = query.device_source ?? '';
      details.device_id = query.device_id;
      details.device_name = query.device_name ?? '';
    }
    this.options.logger.warn({ kind, severity, client: query.client_ip, qname, details }, 'security detection');
    return {
      event_id: this.newEventId(),
      detected_at_us: Math.trunc(this.clock() * 1000),
      kind,
      severity,
      client_ip: query.client_ip,
      qname,
      node_id: this.options.nodeId,
      details,
    };
  }

  private publish(events: SecurityEvent[]): void {
    const { metrics, logger, publisher } = this.options;
    if (this.unacknowledged + events.length > MAX_UNPUBLISHED) {
      metrics.unpublished(events.length);
      logger.error({ dropped: events.length, unacknowledged: this.unacknowledged }, 'security events dropped: the bus has not acknowledged earlier ones');
      return;
    }
    this.unacknowledged += events.length;
    // Deferred, so that a publisher throwing synchronously is a rejection like any other.
    const sending: Promise<void> = Promise.resolve()
      .then(() => publisher.publish(events))
      .catch((error: unknown) => {
        metrics.unpublished(events.length);
        logger.error({ events: events.length, kinds: events.map((e) => e.kind), err: error }, 'publishing security events failed; they are lost');
      })
      .finally(() => {
        this.unacknowledged -= events.length;
        this.sending.delete(sending);
      });
    this.sending.add(sending);
  }
}

// The event thread: turns answer records into QueryEvents and runs the sink
// (memory queue, disk spool, Kafka producer) on an event loop of its own, so
// Avro encoding, kafkajs and spool I/O never take turns with answering.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { QueryEvent } from '@ghostdns/contracts';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { createKafkaBusFromConfig } from '@ghostdns/runtime';
import { DeviceIdentityCopy } from '../device-identity.js';
import { noopResolverMetrics, type ResolverMetrics } from '../metrics.js';
import { readAnswerRecords, type EventIdentity } from './answer-record.js';
import type { EventThreadData, FromEventThread, SinkMetricsReport, ToEventThread } from './event-thread-protocol.js';
import { MemoryQueueSink, type QueryEventSink } from './sink.js';
import { SpoolingSink } from './spooling-sink.js';

const REPORT_INTERVAL_MS = 1_000;
/**
 * Larger than the in-thread defaults: this thread does nothing but publish, and
 * kafkajs's cost per request (and one request in flight per broker, for
 * idempotence) makes big batches what keeps the spool out of a busy hour.
 */
const QUEUE = { batchSize: 2_000, capacity: 50_000 } as const;

/** ResolverMetrics whose event and spool calls are summed up and reported to the answer thread. */
class ReportingSinkMetrics {
  private report: SinkMetricsReport = fresh();
  readonly metrics: ResolverMetrics = {
    ...noopResolverMetrics,
    eventsDropped: (n) => void (this.report.eventsDropped += n),
    spoolWritten: (n) => void (this.report.spoolWritten += n),
    spoolReplayed: (n) => void (this.report.spoolReplayed += n),
    spoolDropped: (n) => void (this.report.spoolDropped += n),
    spoolTruncated: (n) => void (this.report.spoolTruncated += n),
    eventQueueDepth: (depth) => void (this.report.queueDepth = depth),
    spoolDepthBytes: (bytes) => void (this.report.spoolDepthBytes = bytes),
  };

  take(): SinkMetricsReport {
    const out = this.report;
    this.report = { ...fresh(), queueDepth: out.queueDepth, spoolDepthBytes: out.spoolDepthBytes };
    return out;
  }
}

function fresh(): SinkMetricsReport {
  return { eventsDropped: 0, spoolWritten: 0, spoolReplayed: 0, spoolDropped: 0, spoolTruncated: 0, queueDepth: 0, spoolDepthBytes: 0 };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('event-thread-worker runs only as a worker thread');
  const data = workerData as EventThreadData;
  const { config } = data;
  const send = (message: FromEventThread): void => port.postMessage(message);
  const logger = createLogger({ level: config.log.level, name: 'resolver-edge-events' });
  const bus = await createKafkaBusFromConfig(config, {
    clientIdSuffix: data.clientIdSuffix,
    logger,
    // The thread's own registry: bus counters stay here; sink figures are reported.
    metrics: createMetricsRegistry({ defaultLabels: { service: 'resolver-edge', node: config.node.id } }),
  });
  // Kafka down at start is the spool's business, not a reason to stop.
  bus.connect().catch((err: unknown) => logger.warn({ err }, 'event thread: Kafka not reachable yet'));
  const reporting = new ReportingSinkMetrics();
  const common = { ...QUEUE, publisher: bus, metrics: reporting.metrics, logger };
  const sink: QueryEventSink =
    data.spoolDir === null
      ? new MemoryQueueSink(common)
      : new SpoolingSink({
          ...common,
          spool: { dir: data.spoolDir, maxBytes: config.spool.maxBytes, fsyncIntervalMs: config.spool.fsyncIntervalMs },
        });
  const identity: EventIdentity = { node: { id: config.node.id, pop: config.node.pop }, newEventId: randomUUID };
  const devices = new DeviceIdentityCopy();
  const timer = setInterval(() => send({ type: 'metrics', report: reporting.take() }), REPORT_INTERVAL_MS);
  const events: QueryEvent[] = [];

  port.on('message', (message: ToEventThread) => {
    switch (message.type) {
      case 'records': {
        events.length = 0;
        readAnswerRecords(Buffer.from(message.buffer, 0, message.length), message.length, identity, devices, events);
        for (const event of events) sink.offer(event);
        send({ type: 'ack', count: message.count, bytes: message.length });
        break;
      }
      case 'devices':
        devices.update(message.entries);
        break;
      case 'close': {
        clearInterval(timer);
        void (async () => {
          try {
            await sink.close(message.timeoutMs);
            await bus.close();
          } catch (err) {
            logger.warn({ err }, 'event thread: close failed');
          }
          send({ type: 'metrics', report: reporting.take() });
          send({ type: 'closed' });
          port.close();
        })();
        break;
      }
    }
  });
  send({ type: 'ready' });
}

// A failure here rejects the bootstrap's import: the answer thread sees 'error' and restarts the thread.
await main();

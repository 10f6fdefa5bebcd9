import { describe, expect, it } from 'vitest';
import { createInProcessBus, silentLogger, type DecodedBatch } from '@ghostdns/bus';
import { Topics, type SecurityEvent } from '@ghostdns/contracts';
import { DistinctNameDetector, TUNNELING, type DetectionKind, type Detector } from '../src/detection/detectors.js';
import { MAX_UNPUBLISHED, SecurityMonitor } from '../src/detection/monitor.js';
import { QueryIngestor, type BatchObserver, type RowWriter } from '../src/ingestor.js';
import { QueryEventMapper } from '../src/mapper.js';
import { noopIngestMetrics, type DetectionMetrics, type SecurityEventPublisher } from '../src/ports.js';
import type { DnsQueryRow } from '../src/row.js';
import { queries, tunnelName } from './detection-support.js';
import { device, QUERY_TIME_US, queryEvent } from './fixtures.js';
import { RecordingLogger } from './support/recording-logger.js';

class RecordingDetectionMetrics implements DetectionMetrics {
  readonly fires: DetectionKind[] = [];
  readonly failures: DetectionKind[] = [];
  lost = 0;
  fired(kind: DetectionKind): void {
    this.fires.push(kind);
  }
  failed(kind: DetectionKind): void {
    this.failures.push(kind);
  }
  unpublished(count: number): void {
    this.lost += count;
  }
}

/** Fails on every query, as a detector with a bug would. */
const throwing: Detector = {
  kind: 'dga',
  observe: () => {
    throw new Error('detector bug');
  },
};

/** Fires on every query whose name starts with "fire". */
const firing: Detector = {
  kind: 'query-flood',
  observe: (query) =>
    query.domain.startsWith('fire')
      ? { kind: 'query-flood', severity: 'MEDIUM', query, qname: null, details: { count: '1' } }
      : null,
};

const DETECTED_AT_MS = 1_714_600_000_000;

function monitor(detectors: readonly Detector[], publisher: SecurityEventPublisher) {
  const metrics = new RecordingDetectionMetrics();
  const logger = new RecordingLogger();
  let ids = 0;
  const security = new SecurityMonitor({
    detectors,
    publisher,
    metrics,
    logger,
    nodeId: 'worker-1',
    clock: () => DETECTED_AT_MS,
    newEventId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  });
  return { security, metrics, logger };
}

/** A publisher keeping what it is handed. */
function collecting(): SecurityEventPublisher & { events: SecurityEvent[] } {
  const events: SecurityEvent[] = [];
  return {
    events,
    publish: (batch) => {
      events.push(...batch);
      return Promise.resolve();
    },
  };
}

const mapper = new QueryEventMapper();

describe('SecurityMonitor', () => {
  it('publishes one SecurityEvent per detection: its node, clock and id, the query time and the device', async () => {
    const publisher = collecting();
    const { security, metrics } = monitor([firing], publisher);
    const { rows } = mapper.mapBatch([
      queryEvent({ qname: 'fire.example.com', client_ip: '10.0.0.7', device: device({ source: 'TAILSCALE', device_id: 'nTS1', name: '' }) }),
      queryEvent({ qname: 'quiet.example.com' }),
      queryEvent({ qname: 'fire.example.org', client_ip: '2001:db8::7' }),
    ]);
    security.observe(rows);
    await security.flush();
    expect(publisher.events).toEqual([
      {
        event_id: '00000000-0000-4000-8000-000000000001',
        detected_at_us: DETECTED_AT_MS * 1000,
        kind: 'query-flood',
        severity: 'MEDIUM',
        client_ip: '10.0.0.7',
        qname: null,
        node_id: 'worker-1',
        details: { count: '1', query_time: '2024-05-01T12:00:00.123456Z', device_source: 'tailscale', device_id: 'nTS1', device_name: '' },
      },
      {
        event_id: '00000000-0000-4000-8000-000000000002',
        detected_at_us: DETECTED_AT_MS * 1000,
        kind: 'query-flood',
        severity: 'MEDIUM',
        client_ip: '2001:db8::7',
        qname: null,
        node_id: 'worker-1',
        details: { count: '1', query_time: '2024-05-01T12:00:00.123456Z' },
      },
    ]);
    expect(metrics.fires).toEqual(['query-flood', 'query-flood']);
  });

  it('publishes nothing when nothing fires', async () => {
    const publisher = collecting();
    const { security } = monitor([firing], publisher);
    security.observe(mapper.mapBatch([queryEvent()]).rows);
    security.observe([]);
    await security.flush();
    expect(publisher.events).toEqual([]);
  });

  it('logs and counts a detector that throws, and the other detectors still see the batch', async () => {
    const publisher = collecting();
    const { security, metrics, logger } = monitor([throwing, firing], publisher);
    expect(() => security.observe(mapper.mapBatch([queryEvent({ qname: 'fire.example.com' })]).rows)).not.toThrow();
    await security.flush();
    expect(metrics.failures).toEqual(['dga']);
    expect(publisher.events.map((e) => e.kind)).toEqual(['query-flood']);
    expect(logger.lines.filter((l) => l.level === 'error')).toMatchObject([{ obj: { kind: 'dga', rows: 1 } }]);
  });

  it.each([
    ['rejects', (): Promise<void> => Promise.reject(new Error('broker down'))],
    ['throws', (): Promise<void> => {
      throw new Error('bus closed');
    }],
  ])('counts and logs the detections when the bus %s, and never throws', async (_how, publish) => {
    const { security, metrics, logger } = monitor([firing], { publish });
    expect(() => security.observe(mapper.mapBatch([queryEvent({ qname: 'fire.example.com' })]).rows)).not.toThrow();
    await security.flush();
    expect(metrics.lost).toBe(1);
    expect(logger.lines.filter((l) => l.level === 'error')).toMatchObject([{ msg: 'publishing security events failed; they are lost' }]);
  });

  it('does not wait for the bus, and drops (and counts) detections beyond MAX_UNPUBLISHED unacknowledged', async () => {
    let acknowledge = (): void => undefined;
    const acknowledged = new Promise<void>((resolve) => {
      acknowledge = resolve;
    });
    const handed: SecurityEvent[][] = [];
    const { security, metrics } = monitor([firing], {
      publish: (events) => {
        handed.push([...events]);
        return acknowledged;
      },
    });
    const rows = queries(MAX_UNPUBLISHED, (i) => `fire${i}.example.com`);
    security.observe(rows);
    security.observe(queries(1, () => 'fire-more.example.com'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(handed.map((events) => events.length)).toEqual([MAX_UNPUBLISHED]);
    expect(metrics.lost).toBe(1);
    acknowledge();
    await security.flush();
    security.observe(queries(1, () => 'fire-again.example.com'));
    await security.flush();
    expect(handed.map((events) => events.length)).toEqual([MAX_UNPUBLISHED, 1]);
  });
});

/** A writer that stores nothing and remembers the batches (the database stubbed). */
function recordingWriter(batches: string[][], failures = 0): RowWriter<DnsQueryRow> {
  let failuresLeft = failures;
  return {
    write: async (rows) => {
      batches.push(rows.map((r) => r.event_id));
      if (failuresLeft-- > 0) throw new Error('database is down');
      return rows.length;
    },
  };
}

function tunnelEvents(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const at = QUERY_TIME_US + i * 1_000_000;
    return queryEvent({ qname: tunnelName(i), qtype: 16, client_ip: '10.9.8.7', query_time_us: at, response_time_us: at + 400 });
  });
}

function queryBatch(values = tunnelEvents(30)): DecodedBatch<typeof Topics.queries> {
  return { topic: Topics.queries, partition: 0, values, lastOffset: '29' };
}

describe('QueryIngestor with the detectors (database and bus stubbed)', () => {
  it('a detector that throws never fails the batch; the others still detect', async () => {
    const batches: string[][] = [];
    const publisher = collecting();
    const { security, metrics } = monitor([throwing, new DistinctNameDetector(TUNNELING)], publisher);
    const ingestor = new QueryIngestor(mapper, recordingWriter(batches), noopIngestMetrics, new RecordingLogger(), undefined, security);
    await expect(ingestor.handle(queryBatch())).resolves.toBeUndefined();
    await security.flush();
    expect(batches).toHaveLength(1);
    expect(metrics.failures).toEqual(['dga']);
    expect(publisher.events).toMatchObject([{ kind: 'tunneling', client_ip: '10.9.8.7', details: { apex: 'example.net' } }]);
  });

  it('shows the detectors a batch only once it is stored: a failed write is not seen twice', async () => {
    const seen: number[] = [];
    const observer: BatchObserver<DnsQueryRow> = { observe: (rows) => void seen.push(rows.length) };
    const ingestor = new QueryIngestor(mapper, recordingWriter([], 1), noopIngestMetrics, new RecordingLogger(), undefined, observer);
    await expect(ingestor.handle(queryBatch())).rejects.toThrow('database is down');
    expect(seen).toEqual([]);
    await ingestor.handle(queryBatch());
    expect(seen).toEqual([30]);
  });

  it('shows the detectors nothing when dead-lettering fails (the batch is redelivered)', async () => {
    const seen: number[] = [];
    const ingestor = new QueryIngestor(
      mapper,
      recordingWriter([]),
      noopIngestMetrics,
      new RecordingLogger(),
      { publish: () => Promise.reject(new Error('broker down')) },
      { observe: (rows) => void seen.push(rows.length) },
    );
    await expect(ingestor.handle(queryBatch([queryEvent(), queryEvent({ qname: '' })]))).rejects.toThrow('broker down');
    expect(seen).toEqual([]);
  });

  it('on the in-process bus: the batch commits once although a detector throws, and the detection is on security.events.v1', async () => {
    const bus = createInProcessBus({ logger: silentLogger, retry: { initialMs: 1, maxMs: 5 } });
    await bus.connect();
    const batches: string[][] = [];
    const published: SecurityEvent[] = [];
    const { security, metrics } = monitor([throwing, new DistinctNameDetector(TUNNELING)], {
      publish: (events) => bus.publish(Topics.security, events),
    });
    const ingestor = new QueryIngestor(mapper, recordingWriter(batches), noopIngestMetrics, new RecordingLogger(), undefined, security);
    const subscriptions = [
      await bus.subscribe(Topics.queries, ingestor.handle, { groupId: 'ingest-worker' }),
      await bus.subscribe(Topics.security, async (b) => void published.push(...b.values), { groupId: 'security-test' }),
    ];
    try {
      const events = tunnelEvents(30);
      await bus.publish(Topics.queries, events);
      const marker = queryEvent({ client_ip: '10.9.8.7' });
      await bus.publish(Topics.queries, [marker]);
      const deadline = Date.now() + 5_000;
      while ((published.length === 0 || !batches.flat().includes(marker.event_id)) && Date.now() < deadline) {
        await new Promise<void>((resolve) => setTimeout(resolve, 5));
      }
      // Every event written once: had the handler rejected, the bus would have delivered the batch again.
      expect(batches.flat()).toEqual([...events.map((e) => e.event_id), marker.event_id]);
      expect(published).toMatchObject([{ kind: 'tunneling', client_ip: '10.9.8.7', node_id: 'worker-1' }]);
      expect(metrics.failures.length).toBeGreaterThan(0);
    } finally {
      await Promise.all(subscriptions.map((s) => s.close()));
      await security.flush();
      await bus.close();
    }
  });
});

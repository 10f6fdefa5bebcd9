import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@ghostdns/observability';
import {
  createDetectionMetrics,
  createIngestMetrics,
  createPresenceMetrics,
  createSecurityMetrics,
  ingestInstruments,
} from '../src/metrics.js';

describe('ingest metrics', () => {
  it('expose counters and histograms in Prometheus text format', async () => {
    const registry = createMetricsRegistry({ processMetrics: false, defaultLabels: { node: 'n1' } });
    const metrics = createIngestMetrics(registry);
    metrics.batchReceived(3);
    metrics.rejected('empty_qname');
    metrics.dbWrite(0.004);
    metrics.batchCommitted(2);

    const text = await registry.metrics();
    expect(text).toContain('# TYPE ghostdns_ingest_rows_total counter');
    expect(text).toContain('ghostdns_ingest_rows_total{node="n1"} 2');
    expect(text).toContain('ghostdns_ingest_batches_total{node="n1"} 1');
    expect(text).toContain('ghostdns_ingest_rejected_total{reason="empty_qname",node="n1"} 1');
    expect(text).toContain('ghostdns_ingest_rejected_total{reason="invalid_client_ip",node="n1"} 0');
    expect(text).toContain('# TYPE ghostdns_ingest_batch_size histogram');
    expect(text).toContain('ghostdns_ingest_batch_size_bucket{le="1",node="n1"} 0');
    expect(text).toContain('ghostdns_ingest_batch_size_bucket{le="10",node="n1"} 1');
    expect(text).toContain('ghostdns_ingest_batch_size_bucket{le="+Inf",node="n1"} 1');
    expect(text).toContain('ghostdns_ingest_batch_size_sum{node="n1"} 3');
    expect(text).toContain('ghostdns_ingest_db_seconds_bucket{le="0.005",node="n1"} 1');
    expect(text).toContain('ghostdns_ingest_db_seconds_count{node="n1"} 1');

    const json = await registry.getMetricsAsJSON();
    expect(json.map((m) => m.name)).toEqual(
      expect.arrayContaining(['ghostdns_ingest_rows_total', 'ghostdns_ingest_db_seconds']) as unknown,
    );
  });

  it('registers once per registry: a second worker on the same registry reuses the metrics', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const first = ingestInstruments(registry);
    const second = ingestInstruments(registry);
    expect(second.rows).toBe(first.rows);
    expect(second.rejected).toBe(first.rejected);
    expect(second.dbSeconds).toBe(first.dbSeconds);

    const a = createIngestMetrics(registry);
    const b = createIngestMetrics(registry);
    a.batchCommitted(2);
    b.batchCommitted(3);
    b.rejected('empty_qname');

    const text = await registry.metrics();
    expect(text.match(/^# TYPE ghostdns_ingest_rows_total counter$/gm)).toHaveLength(1);
    expect(text).toMatch(/^ghostdns_ingest_rows_total 5$/m);
    expect(text).toMatch(/^ghostdns_ingest_batches_total 2$/m);
    expect(text).toMatch(/^ghostdns_ingest_rejected_total\{reason="empty_qname"\} 1$/m);
  });

  it('never throws on values prom-client would refuse', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = createIngestMetrics(registry);
    expect(() => {
      metrics.batchCommitted(-1);
      metrics.dbWrite(Number.NaN);
      metrics.batchReceived(Number.POSITIVE_INFINITY);
    }).not.toThrow();
    const text = await registry.metrics();
    expect(text).toMatch(/^ghostdns_ingest_rows_total 0$/m);
    expect(text).toMatch(/^ghostdns_ingest_db_seconds_count 0$/m);
    expect(text).toMatch(/^ghostdns_ingest_batch_size_count 0$/m);
  });

  it('expose the presence stream under ghostdns_ingest_presence_*, apart from the query stream', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const queries = createIngestMetrics(registry);
    const presence = createPresenceMetrics(registry);
    queries.batchCommitted(5);
    presence.batchReceived(2);
    presence.rejected('invalid_observed_at');
    presence.deadLettered?.('invalid_observed_at');
    presence.dbWrite(0.002);
    presence.batchCommitted(1);
    presence.addressesDropped(3);
    presence.addressesDropped(0);
    presence.eventLag?.(1.5);

    const text = await registry.metrics();
    expect(text).toMatch(/^ghostdns_ingest_rows_total 5$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_rows_total 1$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_batches_total 1$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_batch_size_sum 2$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_db_seconds_count 1$/m);
    expect(text).toMatch(/^ghostdns_ingest_db_seconds_count 0$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_rejected_total\{reason="invalid_observed_at"\} 1$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_rejected_total\{reason="invalid_device"\} 0$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_dead_lettered_total\{reason="invalid_observed_at"\} 1$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_addresses_dropped_total 3$/m);
    expect(text).toMatch(/^ghostdns_ingest_presence_event_lag_seconds 1.5$/m);
    expect(text).not.toMatch(/^ghostdns_ingest_rejected_total\{reason="invalid_observed_at"\}/m);
  });

  it('expose the security stream under ghostdns_ingest_security_* and the detectors under ghostdns_ingest_detect*', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const security = createSecurityMetrics(registry);
    const detections = createDetectionMetrics(registry);
    security.batchCommitted(2);
    security.rejected('invalid_details');
    detections.fired('tunneling');
    detections.failed('dga');
    detections.unpublished(3);
    detections.unpublished(0);

    const text = await registry.metrics();
    expect(text).toMatch(/^ghostdns_ingest_security_rows_total 2$/m);
    expect(text).toMatch(/^ghostdns_ingest_security_rejected_total\{reason="invalid_details"\} 1$/m);
    expect(text).toMatch(/^ghostdns_ingest_security_rejected_total\{reason="invalid_kind"\} 0$/m);
    expect(text).toMatch(/^ghostdns_ingest_detections_total\{kind="tunneling"\} 1$/m);
    expect(text).toMatch(/^ghostdns_ingest_detections_total\{kind="query-flood"\} 0$/m);
    expect(text).toMatch(/^ghostdns_ingest_detector_failures_total\{kind="dga"\} 1$/m);
    expect(text).toMatch(/^ghostdns_ingest_detections_unpublished_total 3$/m);
  });
});

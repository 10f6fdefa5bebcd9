import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@ghostdns/observability';
import { createPrometheusResolverMetrics } from '../src/prometheus-metrics.js';

describe('resolver-edge Prometheus metrics', () => {
  it('expose CoreDNS-style series in Prometheus text format', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = createPrometheusResolverMetrics(registry);
    metrics.request('dns://:53', 'UDP', 'A');
    metrics.response('dns://:53', 'NOERROR', 0.0003);
    metrics.forwardRequest('127.0.0.1:5301');
    metrics.forwardResponse('127.0.0.1:5301', 'NOERROR');
    metrics.forwardSpoofed('127.0.0.1:5301');
    metrics.malformed('short_header');
    metrics.eventsDropped(2);
    metrics.eventQueueDepth(7);

    const text = await registry.metrics();
    expect(text).toMatch(/^coredns_dns_requests_total\{server="dns:\/\/:53",zone=".",proto="udp",family="1",type="A"\} 1$/m);
    expect(text).toMatch(/^coredns_dns_responses_total\{server="dns:\/\/:53",zone=".",rcode="NOERROR"\} 1$/m);
    expect(text).toContain('# TYPE coredns_dns_request_duration_seconds histogram');
    expect(text).toMatch(/^coredns_dns_request_duration_seconds_bucket\{le="0.00025",server="dns:\/\/:53",zone=".",type="other"\} 0$/m);
    expect(text).toMatch(/^coredns_dns_request_duration_seconds_bucket\{le="0.0005",server="dns:\/\/:53",zone=".",type="other"\} 1$/m);
    expect(text).toMatch(/^coredns_dns_request_duration_seconds_bucket\{le="\+Inf",server="dns:\/\/:53",zone=".",type="other"\} 1$/m);
    expect(text).toMatch(/^coredns_dns_request_duration_seconds_count\{server="dns:\/\/:53",zone=".",type="other"\} 1$/m);
    expect(text).toMatch(/^coredns_forward_requests_total\{to="127.0.0.1:5301"\} 1$/m);
    expect(text).toMatch(/^coredns_forward_responses_total\{to="127.0.0.1:5301",rcode="NOERROR"\} 1$/m);
    expect(text).toMatch(/^ghostdns_forward_spoofed_total\{to="127.0.0.1:5301"\} 1$/m);
    expect(text).toMatch(/^ghostdns_dns_malformed_total\{kind="short_header"\} 1$/m);
    expect(text).toMatch(/^ghostdns_events_dropped_total 2$/m);
    expect(text).toContain('# TYPE ghostdns_event_queue_depth gauge');
    expect(text).toMatch(/^ghostdns_event_queue_depth 7$/m);
  });

  it('unlabelled series read 0 before anything happens', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    createPrometheusResolverMetrics(registry);
    const text = await registry.metrics();
    expect(text).toMatch(/^ghostdns_events_dropped_total 0$/m);
    expect(text).toMatch(/^ghostdns_event_queue_depth 0$/m);
  });

  it('a second instance on the same registry reuses the metrics instead of registering them twice', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const first = createPrometheusResolverMetrics(registry);
    const second = createPrometheusResolverMetrics(registry);
    expect(second.requests).toBe(first.requests);
    expect(second.duration).toBe(first.duration);
    expect(second.queueDepth).toBe(first.queueDepth);

    first.request('dns://:53', 'TCP', 'AAAA');
    second.request('dns://:53', 'TCP', 'AAAA');
    const text = await registry.metrics();
    expect(text.match(/^# TYPE coredns_dns_requests_total counter$/gm)).toHaveLength(1);
    expect(text).toMatch(/^coredns_dns_requests_total\{server="dns:\/\/:53",zone=".",proto="tcp",family="1",type="AAAA"\} 2$/m);
  });

  it('never throws on a count prom-client would refuse', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = createPrometheusResolverMetrics(registry);
    expect(() => {
      metrics.eventsDropped(-1);
      metrics.response('dns://:53', 'NOERROR', Number.NaN);
    }).not.toThrow();
    const text = await registry.metrics();
    expect(text).toMatch(/^ghostdns_events_dropped_total 0$/m);
  });
});

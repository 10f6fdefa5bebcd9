import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@ghostdns/observability';
import { createGatewayMetrics } from '../src/metrics.js';

describe('events-gateway metrics', () => {
  it('expose the gateway series in Prometheus text format, labelled series from the start', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = createGatewayMetrics(registry);
    let text = await registry.metrics();
    expect(text).toMatch(/^ghostdns_ws_clients 0$/m);
    expect(text).toMatch(/^ghostdns_ws_messages_sent_total 0$/m);
    for (const reason of ['backpressure', 'not_open', 'send_error', 'invalid_event']) {
      expect(text).toMatch(new RegExp(`^ghostdns_ws_dropped_total\\{reason="${reason}"\\} 0$`, 'm'));
    }
    for (const reason of ['bad_filter', 'connection_limit', 'heartbeat_timeout']) {
      expect(text).toMatch(new RegExp(`^ghostdns_ws_server_closes_total\\{reason="${reason}"\\} 0$`, 'm'));
    }

    metrics.clients(3);
    metrics.sent(5);
    metrics.dropped('backpressure', 2);
    metrics.serverClosed('bad_filter');
    text = await registry.metrics();
    expect(text).toContain('# TYPE ghostdns_ws_clients gauge');
    expect(text).toMatch(/^ghostdns_ws_clients 3$/m);
    expect(text).toMatch(/^ghostdns_ws_messages_sent_total 5$/m);
    expect(text).toMatch(/^ghostdns_ws_dropped_total\{reason="backpressure"\} 2$/m);
    expect(text).toMatch(/^ghostdns_ws_server_closes_total\{reason="bad_filter"\} 1$/m);
  });

  it('a second gateway on the same registry reuses the metrics instead of registering them twice', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const first = createGatewayMetrics(registry);
    const second = createGatewayMetrics(registry);
    first.sent(1);
    second.sent(2);
    second.dropped('not_open', 1);
    first.sent(-1);
    const text = await registry.metrics();
    expect(text.match(/^# TYPE ghostdns_ws_messages_sent_total counter$/gm)).toHaveLength(1);
    expect(text).toMatch(/^ghostdns_ws_messages_sent_total 3$/m);
    expect(text).toMatch(/^ghostdns_ws_dropped_total\{reason="not_open"\} 1$/m);
  });
});

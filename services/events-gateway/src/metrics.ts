import { counter, gauge } from '@ghostdns/observability';
import type { Registry } from 'prom-client';
import type { DropReason, FanoutMetrics, ServerCloseReason } from './fanout.js';

/**
 * ghostdns_ws_clients, ghostdns_ws_messages_sent_total,
 * ghostdns_ws_dropped_total{reason} and
 * ghostdns_ws_server_closes_total{reason} on `registry`. A second gateway
 * on the same registry reuses the metrics the first registered.
 */
export function createGatewayMetrics(registry: Registry): FanoutMetrics {
  const clients = gauge(registry, { name: 'ghostdns_ws_clients', help: 'WebSocket clients connected to /ws/events' });
  const sent = counter(registry, {
    name: 'ghostdns_ws_messages_sent_total',
    help: 'Live event messages sent to WebSocket clients (one per client per event)',
  });
  const dropped = counter(registry, {
    name: 'ghostdns_ws_dropped_total',
    help: 'Live event messages not delivered: backpressure (client too slow), not_open, send_error, invalid_event',
    labelNames: ['reason'] as const,
  });
  const serverCloses = counter(registry, {
    name: 'ghostdns_ws_server_closes_total',
    help: 'Connections the gateway refused or ended: bad_filter (1008), connection_limit (1013), heartbeat_timeout',
    labelNames: ['reason'] as const,
  });
  // Labelled series exist from the start so rate() works before the first drop.
  const dropReasons: DropReason[] = ['backpressure', 'not_open', 'send_error', 'invalid_event'];
  for (const reason of dropReasons) dropped.inc({ reason }, 0);
  const closeReasons: ServerCloseReason[] = ['bad_filter', 'connection_limit', 'heartbeat_timeout'];
  for (const reason of closeReasons) serverCloses.inc({ reason }, 0);

  return {
    clients: (count) => clients.set(count),
    // prom-client throws on a negative increment; reporting must not.
    sent: (count) => {
      if (count > 0) sent.inc(count);
    },
    dropped: (reason, count) => {
      if (count > 0) dropped.inc({ reason }, count);
    },
    serverClosed: (reason) => serverCloses.inc({ reason }),
  };
}

import { counter, gauge, histogram, type MetricsRegistry } from '@ghostdns/observability';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { PollerMetrics } from './poller.js';

/** Handshake ages in seconds: around the 2-minute rekey (wg REKEY_AFTER_TIME) and the 5-minute default threshold. */
export const HANDSHAKE_AGE_BUCKETS = [5, 15, 30, 60, 125, 180, 300, 600, 1800, 3600, 86_400] as const;

export interface PresenceInstruments {
  readonly polls: Counter<'source' | 'outcome'>;
  readonly peers: Gauge<'source' | 'interface' | 'state'>;
  readonly handshakeAge: Histogram<'source' | 'interface'>;
  readonly transitions: Counter<'source' | 'type'>;
  readonly snapshotFailures: Counter;
}

/** The presence instruments on a registry (registered by the first caller, reused after). */
export function presenceInstruments(registry: MetricsRegistry): PresenceInstruments {
  return {
    polls: counter(registry, {
      name: 'ghostdns_presence_polls_total',
      help: 'Presence source polls, by source and outcome (ok, error: the previous state was kept)',
      labelNames: ['source', 'outcome'] as const,
    }),
    peers: gauge(registry, {
      name: 'ghostdns_presence_peers',
      help: 'Peers seen in the last poll, by source, interface and state (online, offline)',
      labelNames: ['source', 'interface', 'state'] as const,
    }),
    handshakeAge: histogram(registry, {
      name: 'ghostdns_presence_handshake_age_seconds',
      help: 'Age of each peer\'s latest handshake at each poll (peers that never handshook are not observed)',
      labelNames: ['source', 'interface'] as const,
      buckets: HANDSHAKE_AGE_BUCKETS,
    }),
    transitions: counter(registry, {
      name: 'ghostdns_presence_transitions_total',
      help: 'Presence events published, by source and type',
      labelNames: ['source', 'type'] as const,
    }),
    snapshotFailures: counter(registry, {
      name: 'ghostdns_presence_snapshot_failures_total',
      help: 'Presence snapshots that could not be written to the key-value store',
    }),
  };
}

/** The poller's port, counted on ghostdns_presence_polls_total. */
export function pollerMetricsOf(instruments: PresenceInstruments): PollerMetrics {
  return { polled: (sourceId, outcome) => instruments.polls.inc({ source: sourceId, outcome }) };
}


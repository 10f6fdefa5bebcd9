import type { CacheStatus, DnsTransport, PolicyAction, PresenceSource, SecuritySeverity } from '@ghostdns/contracts';

/**
 * The JSON objects sent to WebSocket clients on /ws/events. Field names are
 * what GhostScale reads (`type`, `client`, `domain`, `device`); they are a
 * public wire format: add fields, never rename or remove them.
 */
export type LiveQueryType = 'tailscale_query' | 'dns_query';
export type LivePresenceType = 'device_online' | 'device_offline';
export type LiveEventType = LiveQueryType | LivePresenceType | 'security_event';

/** Every `type` the gateway emits (used to validate `?types=`). */
export const LIVE_EVENT_TYPES: readonly LiveEventType[] = [
  'dns_query',
  'tailscale_query',
  'device_online',
  'device_offline',
  'security_event',
];

export interface LiveQueryEvent {
  type: LiveQueryType;
  event_id: string;
  client: string;
  domain: string;
  /** Mnemonic (A, AAAA, ...) or TYPEnnn. */
  qtype: string;
  /** Mnemonic (NOERROR, NXDOMAIN, ...), null when the source does not say. */
  rcode: string | null;
  /** ISO 8601, millisecond precision, of the query time. */
  timestamp: string;
  node_id: string;
  pop: string;
  transport: DnsTransport;
  cache_status: CacheStatus;
  policy_action: PolicyAction;
  /** Response time minus query time in ms (microsecond resolution), null without a response time. */
  latency_ms: number | null;
}

export interface LivePresenceEvent {
  type: LivePresenceType;
  event_id: string;
  /** Device name (GhostScale reads `device`). */
  device: string;
  device_id: string;
  addresses: string[];
  source: PresenceSource;
  timestamp: string;
}

export interface LiveSecurityEvent {
  type: 'security_event';
  event_id: string;
  kind: string;
  severity: SecuritySeverity;
  client: string;
  domain: string | null;
  timestamp: string;
  details: Record<string, string>;
}

export type LiveEvent = LiveQueryEvent | LivePresenceEvent | LiveSecurityEvent;

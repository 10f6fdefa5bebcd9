import { dnsTypeName, rcodeName } from '@ghostdns/contracts';
import type { PresenceEvent, QueryEvent, SecurityEvent } from '@ghostdns/contracts';
import type { LivePresenceEvent, LiveQueryEvent, LiveSecurityEvent } from './live-event.js';
import { isTailnetAddress, isTailnetDomain, unmapIPv4 } from './tailnet.js';

/** Epoch microseconds -> ISO 8601 (ms precision). Throws RangeError on a non-finite or out-of-range time. */
function isoFromMicros(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

/**
 * Bus events -> the JSON objects WebSocket clients read. Pure: no I/O, no
 * clock, no state; the same input always gives the same output.
 */
export class LiveEventMapper {
  query(e: QueryEvent): LiveQueryEvent {
    const client = unmapIPv4(e.client_ip);
    const tailnet = isTailnetAddress(client) || isTailnetDomain(e.qname);
    return {
      type: tailnet ? 'tailscale_query' : 'dns_query',
      event_id: e.event_id,
      client,
      domain: e.qname,
      qtype: dnsTypeName(e.qtype),
      rcode: rcodeName(e.rcode),
      timestamp: isoFromMicros(e.query_time_us),
      node_id: e.node_id,
      pop: e.pop,
      transport: e.transport,
      cache_status: e.cache_status,
      policy_action: e.policy_action,
      latency_ms:
        e.response_time_us === null ? null : Math.max(0, Math.round(e.response_time_us - e.query_time_us)) / 1000,
    };
  }

  presence(e: PresenceEvent): LivePresenceEvent {
    return {
      type: e.type === 'DEVICE_ONLINE' ? 'device_online' : 'device_offline',
      event_id: e.event_id,
      device: e.name,
      device_id: e.device_id,
      addresses: [...e.addresses],
      source: e.source,
      timestamp: isoFromMicros(e.observed_at_us),
    };
  }

  security(e: SecurityEvent): LiveSecurityEvent {
    return {
      type: 'security_event',
      event_id: e.event_id,
      kind: e.kind,
      severity: e.severity,
      client: unmapIPv4(e.client_ip),
      domain: e.qname,
      timestamp: isoFromMicros(e.detected_at_us),
      details: { ...e.details },
    };
  }
}

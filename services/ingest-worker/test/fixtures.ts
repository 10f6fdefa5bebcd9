import { randomUUID } from 'node:crypto';
import type { DeviceIdentity, PresenceEvent, QueryEvent, SecurityEvent } from '@ghostdns/contracts';

/** 2024-05-01T12:00:00.123456Z in epoch microseconds. */
export const QUERY_TIME_US = 1_714_564_800_123_456;

/** A valid answered query; override what a case needs. */
export function queryEvent(overrides: Partial<QueryEvent> = {}): QueryEvent {
  return {
    event_id: randomUUID(),
    node_id: 'edge-1',
    pop: 'ams1',
    source: 'RESOLVER_EDGE',
    message_type: 'CLIENT_RESPONSE',
    query_time_us: QUERY_TIME_US,
    response_time_us: QUERY_TIME_US + 1_250,
    client_ip: '100.101.102.103',
    client_port: 53_124,
    transport: 'UDP',
    qname: 'www.example.com',
    qtype: 1,
    qclass: 1,
    rcode: 0,
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false },
    answer_count: 2,
    response_size: 96,
    cache_status: 'MISS',
    upstream: '9.9.9.9:53',
    upstream_latency_us: 900,
    policy_action: 'PASS',
    device: null,
    query_wire: Buffer.from([0x12, 0x34, 0x01, 0x00]),
    response_wire: Buffer.from([0x12, 0x34, 0x81, 0x80, 0x00]),
    ...overrides,
  };
}

/** A WireGuard device published as "laptop". */
export function device(overrides: Partial<DeviceIdentity> = {}): DeviceIdentity {
  return { source: 'WIREGUARD', device_id: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', name: 'laptop', ...overrides };
}

/** 2024-05-01T11:59:00.000001Z in epoch microseconds: a minute before QUERY_TIME_US. */
export const OBSERVED_AT_US = QUERY_TIME_US - 60_000_000 - 123_455;

/** A device coming online; override what a case needs. */
export function presenceEvent(overrides: Partial<PresenceEvent> = {}): PresenceEvent {
  return {
    event_id: randomUUID(),
    type: 'DEVICE_ONLINE',
    source: 'WIREGUARD',
    device_id: device().device_id,
    name: 'laptop',
    interface: 'wg0',
    addresses: ['10.8.0.2/32', 'fd00:8::2/128'],
    last_handshake_us: OBSERVED_AT_US - 5_000_000,
    observed_at_us: OBSERVED_AT_US,
    node_id: 'edge-1',
    domain: null,
    ...overrides,
  };
}

/** 2024-05-01T12:05:00.000042Z in epoch microseconds. */
export const DETECTED_AT_US = 1_714_565_100_000_042;

/** A tunnelling detection; override what a case needs. */
export function securityEvent(overrides: Partial<SecurityEvent> = {}): SecurityEvent {
  return {
    event_id: randomUUID(),
    detected_at_us: DETECTED_AT_US,
    kind: 'tunneling',
    severity: 'HIGH',
    client_ip: '100.101.102.103',
    qname: '0a1b2c3d4e5f60718293a4b5c6d7e8.example.net',
    node_id: 'worker-1',
    details: { apex: 'example.net', unique_names: '30', window_seconds: '60' },
    ...overrides,
  };
}

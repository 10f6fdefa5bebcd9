import type { PresenceEvent, QueryEvent, SecurityEvent } from '@ghostdns/contracts';

export function queryEvent(overrides: Partial<QueryEvent> = {}): QueryEvent {
  return {
    event_id: '3b0c4f0e-7a51-4d0b-9a57-6f1f3c0f2a10',
    node_id: 'edge-1',
    pop: 'fra',
    source: 'RESOLVER_EDGE',
    message_type: 'CLIENT_RESPONSE',
    query_time_us: 1_700_000_000_123_456,
    response_time_us: 1_700_000_000_125_789,
    client_ip: '192.0.2.10',
    client_port: 53_000,
    transport: 'UDP',
    qname: 'example.com',
    qtype: 1,
    qclass: 1,
    rcode: 0,
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false },
    answer_count: 1,
    response_size: 64,
    cache_status: 'MISS',
    upstream: '9.9.9.9:53',
    upstream_latency_us: 2000,
    policy_action: 'PASS',
    device: null,
    query_wire: null,
    response_wire: null,
    ...overrides,
  };
}

export function presenceEvent(overrides: Partial<PresenceEvent> = {}): PresenceEvent {
  return {
    event_id: '8d7c0a52-6a0e-4a43-9d55-0a1b2c3d4e5f',
    type: 'DEVICE_ONLINE',
    source: 'WIREGUARD',
    device_id: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
    name: 'laptop',
    interface: 'wg0',
    addresses: ['10.8.0.2/32', 'fd00::2/128'],
    last_handshake_us: 1_700_000_000_000_000,
    observed_at_us: 1_700_000_001_000_000,
    node_id: 'presence-1',
    domain: null,
    ...overrides,
  };
}

export function securityEvent(overrides: Partial<SecurityEvent> = {}): SecurityEvent {
  return {
    event_id: 'f2a3b4c5-d6e7-4890-a1b2-c3d4e5f60718',
    detected_at_us: 1_700_000_002_500_000,
    kind: 'dga_domain',
    severity: 'HIGH',
    client_ip: '100.100.1.2',
    qname: 'xk2j4h5g6f.tk',
    node_id: 'edge-1',
    details: { score: '0.97' },
    ...overrides,
  };
}

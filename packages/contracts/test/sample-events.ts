// Fully-populated samples of every event, typed as the TypeScript interfaces so
// that a key missing from (or unknown to) events.ts fails to compile.
import type {
  CacheStatus,
  DeadLetter,
  DnsTransport,
  DnstapMessageType,
  PolicyAction,
  PolicyChangeEvent,
  PolicyChangeOp,
  PolicyEntity,
  PolicyKind,
  PolicyListFormat,
  PresenceEvent,
  PresenceEventType,
  PresenceSource,
  QueryEvent,
  QueryEventSource,
  RecordChangeEvent,
  RecordChangeOp,
  SecurityEvent,
  SecuritySeverity,
} from '../src/events.js';
import type { SchemaName, SchemaPayloads } from '../src/schemas.js';

/**
 * Every member of the union T, each once: passing fewer (or a non-member) does
 * not compile, so these lists track the TS unions exactly.
 */
function everyMember<T extends string>() {
  return <const A extends readonly T[]>(...members: A & ([T] extends [A[number]] ? unknown : never)): readonly T[] =>
    members;
}

export const queryEvent: QueryEvent = {
  event_id: '0b8f6f0e-6f2c-4b8e-9a57-1f0c3c1e2d4a',
  node_id: 'edge-fra-1',
  pop: 'fra',
  source: 'RESOLVER_EDGE',
  message_type: 'CLIENT_RESPONSE',
  query_time_us: 1_732_354_000_123_456,
  response_time_us: 1_732_354_000_124_789,
  client_ip: '2001:db8::42',
  client_port: 65_535,
  transport: 'DOH',
  qname: 'www.example.com',
  qtype: 65,
  qclass: 1,
  rcode: 3,
  flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: true, cd: false },
  answer_count: 2,
  response_size: 1232,
  cache_status: 'STALE',
  upstream: '9.9.9.9:853',
  upstream_latency_us: 18_250,
  policy_action: 'ALLOWLISTED',
  device: { source: 'TAILSCALE', device_id: 'nodekey:3f2a9c', name: 'laptop-ana' },
  query_wire: Buffer.from('abcd01000001000000000000', 'hex'),
  response_wire: Buffer.from('abcd81830001000000000000', 'hex'),
};

export const queryEventWithNulls: QueryEvent = {
  ...queryEvent,
  response_time_us: null,
  rcode: null,
  upstream: null,
  upstream_latency_us: null,
  device: null,
  query_wire: null,
  response_wire: null,
};

export const presenceEvent: PresenceEvent = {
  event_id: '5d2b0d51-3c1c-4f5e-8e0a-7c7b2a9e1f10',
  type: 'DEVICE_OFFLINE',
  source: 'TAILSCALE',
  device_id: 'nodekey:3f2a9c',
  name: 'laptop-ana',
  interface: 'tailscale0',
  addresses: ['100.64.0.7', 'fd7a:115c:a1e0::7'],
  last_handshake_us: 1_732_353_990_000_001,
  observed_at_us: 1_732_354_000_000_002,
  node_id: 'presence-1',
  domain: 'home.example',
};

export const presenceEventWithNulls: PresenceEvent = {
  ...presenceEvent,
  interface: null,
  addresses: [],
  last_handshake_us: null,
  domain: null,
};

export const recordChangeEvent: RecordChangeEvent = {
  event_id: 'c1f7a6de-0a39-4b53-9f5e-2b1d3c4e5f60',
  op: 'DELETE',
  record_id: 'rec_01HZX',
  name: 'laptop-ana.home.arpa',
  type: 'AAAA',
  ttl: 2_147_483_647,
  values: ['fd7a:115c:a1e0::7', 'fd7a:115c:a1e0::8'],
  changed_at_us: 1_732_354_000_500_000,
  actor: 'presence-service',
};

export const securityEvent: SecurityEvent = {
  event_id: '9a0e4b1c-2d3f-4a5b-8c7d-6e5f4a3b2c1d',
  detected_at_us: 1_732_354_001_000_000,
  kind: 'tunneling',
  severity: 'CRITICAL',
  client_ip: '192.0.2.10',
  qname: 'aGVsbG8.t.example.net',
  node_id: 'edge-fra-1',
  details: { entropy: '4.91', label_length: '63' },
};

export const securityEventWithNulls: SecurityEvent = { ...securityEvent, qname: null, details: {} };

export const deadLetter: DeadLetter = {
  source_topic: 'dns.queries.v1',
  partition: 7,
  offset: '9007199254740993',
  reason: 'GHOSTDNS_CONTRACT_AVRO_DECODE: truncated buffer',
  payload: Buffer.from([0, 0, 0, 0, 1, 0xff, 0x00, 0x7f]),
};

export const policyChangeEvent: PolicyChangeEvent = {
  event_id: '4e3f2a1b-7c6d-4e5f-9a8b-0c1d2e3f4a5b',
  op: 'DELETE',
  entity: 'ENTRY',
  id: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  kind: 'ALLOW',
  source: 'https://lists.example.net/hosts.txt',
  format: 'ADBLOCK',
  enabled: false,
  domain: 'xn--bcher-kva.example',
  changed_at_us: 1_732_354_002_000_001,
  actor: 'token:ops:6f1c2d3e',
};

export const policyChangeEventWithNulls: PolicyChangeEvent = { ...policyChangeEvent, source: null, format: null, enabled: null, domain: null };

/** For each schema: the fully-populated sample (nothing null) and, where it has nullable fields, one with every one null. */
export const samples: { readonly [N in SchemaName]: readonly SchemaPayloads[N][] } = {
  QueryEvent: [queryEvent, queryEventWithNulls],
  PresenceEvent: [presenceEvent, presenceEventWithNulls],
  RecordChangeEvent: [recordChangeEvent],
  SecurityEvent: [securityEvent, securityEventWithNulls],
  DeadLetter: [deadLetter],
  PolicyChangeEvent: [policyChangeEvent, policyChangeEventWithNulls],
};

/** Every enum field of every schema with every symbol of its TS union, in schema order. */
export const enumSymbols: { readonly [N in SchemaName]: Readonly<Partial<Record<keyof SchemaPayloads[N], readonly string[]>>> } = {
  QueryEvent: {
    source: everyMember<QueryEventSource>()('RESOLVER_EDGE', 'DNSTAP', 'BIND_QUERYLOG'),
    message_type: everyMember<DnstapMessageType>()(
      'AUTH_QUERY', 'AUTH_RESPONSE',
      'RESOLVER_QUERY', 'RESOLVER_RESPONSE',
      'CLIENT_QUERY', 'CLIENT_RESPONSE',
      'FORWARDER_QUERY', 'FORWARDER_RESPONSE',
      'STUB_QUERY', 'STUB_RESPONSE',
      'TOOL_QUERY', 'TOOL_RESPONSE',
      'UPDATE_QUERY', 'UPDATE_RESPONSE',
    ),
    transport: everyMember<DnsTransport>()('UDP', 'TCP', 'DOT', 'DOH'),
    cache_status: everyMember<CacheStatus>()('HIT', 'MISS', 'STALE', 'PREFETCH', 'NONE', 'UNKNOWN'),
    policy_action: everyMember<PolicyAction>()('PASS', 'BLOCKED', 'ALLOWLISTED', 'REFUSED', 'RATE_LIMITED', 'LOCAL_DATA'),
  },
  PresenceEvent: {
    type: everyMember<PresenceEventType>()('DEVICE_ONLINE', 'DEVICE_OFFLINE'),
    source: everyMember<PresenceSource>()('WIREGUARD', 'TAILSCALE'),
  },
  RecordChangeEvent: {
    op: everyMember<RecordChangeOp>()('UPSERT', 'DELETE'),
  },
  SecurityEvent: {
    severity: everyMember<SecuritySeverity>()('LOW', 'MEDIUM', 'HIGH', 'CRITICAL'),
  },
  DeadLetter: {},
  PolicyChangeEvent: {
    op: everyMember<PolicyChangeOp>()('UPSERT', 'DELETE'),
    entity: everyMember<PolicyEntity>()('LIST', 'ENTRY'),
    kind: everyMember<PolicyKind>()('BLOCK', 'ALLOW'),
    format: everyMember<PolicyListFormat>()('AUTO', 'HOSTS', 'ADBLOCK', 'PLAIN'),
  },
};

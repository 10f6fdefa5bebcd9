// TypeScript mirrors of the Avro schemas in ../schemas/*.avsc. The round-trip
// test in test/schemas.test.ts proves every field here exists there and back.

/** dnstap message types (dnstap.proto Message.Type). */
export type DnstapMessageType =
  | 'AUTH_QUERY' | 'AUTH_RESPONSE'
  | 'RESOLVER_QUERY' | 'RESOLVER_RESPONSE'
  | 'CLIENT_QUERY' | 'CLIENT_RESPONSE'
  | 'FORWARDER_QUERY' | 'FORWARDER_RESPONSE'
  | 'STUB_QUERY' | 'STUB_RESPONSE'
  | 'TOOL_QUERY' | 'TOOL_RESPONSE'
  | 'UPDATE_QUERY' | 'UPDATE_RESPONSE';

/** Where the event was observed: our own resolver, a dnstap tap, a BIND query-log tap. */
export type QueryEventSource = 'RESOLVER_EDGE' | 'DNSTAP' | 'BIND_QUERYLOG';
export type DnsTransport = 'UDP' | 'TCP' | 'DOT' | 'DOH';
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'PREFETCH' | 'NONE' | 'UNKNOWN';
export type PolicyAction = 'PASS' | 'BLOCKED' | 'ALLOWLISTED' | 'REFUSED' | 'RATE_LIMITED' | 'LOCAL_DATA';

/** DNS header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD/CD). */
export interface HeaderFlags {
  qr: boolean; aa: boolean; tc: boolean; rd: boolean; ra: boolean; ad: boolean; cd: boolean;
}

/** One answered DNS query: topic dns.queries.v1, key = client_ip. */
export interface QueryEvent {
  event_id: string;               // UUID; the database dedupes on it
  node_id: string;                // resolver node that answered
  pop: string;                    // point of presence of the node
  source: QueryEventSource;
  message_type: DnstapMessageType;
  query_time_us: number;          // epoch microseconds
  response_time_us: number | null;
  client_ip: string;
  client_port: number;
  transport: DnsTransport;
  qname: string;                  // lower-case, no trailing dot
  qtype: number;
  qclass: number;
  rcode: number | null;           // null where the source does not say (BIND query log)
  flags: HeaderFlags;
  answer_count: number;
  response_size: number;
  cache_status: CacheStatus;
  upstream: string | null;        // host:port of the upstream that answered
  upstream_latency_us: number | null;
  policy_action: PolicyAction;
  device: DeviceIdentity | null;  // the VPN device behind client_ip (identity behind NAT)
  query_wire: Buffer | null;
  response_wire: Buffer | null;
}

export type PresenceEventType = 'DEVICE_ONLINE' | 'DEVICE_OFFLINE';
export type PresenceSource = 'WIREGUARD' | 'TAILSCALE';

/** The VPN device a tunnel address belongs to, as presence-service last published it. */
export interface DeviceIdentity {
  source: PresenceSource;
  device_id: string;              // WireGuard public key or Tailscale nodeId
  name: string;                   // the published name (a DNS label); "" when it has none
}

/** A device presence transition: topic presence.events.v1, key = device_id. */
export interface PresenceEvent {
  event_id: string;
  type: PresenceEventType;
  source: PresenceSource;
  device_id: string;              // WireGuard public key or Tailscale nodeId
  name: string;
  interface: string | null;
  addresses: string[];
  last_handshake_us: number | null;
  observed_at_us: number;
  node_id: string;
  domain: string | null;          // custom domain replacing the presence suffix; null = the suffix
}

export type RecordChangeOp = 'UPSERT' | 'DELETE';

/** A dynamic record set changed: topic records.changes.v1, key = name. */
export interface RecordChangeEvent {
  event_id: string;
  op: RecordChangeOp;
  record_id: string;
  name: string;
  type: string;                   // A, AAAA, CNAME, TXT, SRV, MX, PTR
  ttl: number;
  values: string[];
  changed_at_us: number;
  actor: string;
}

export type PolicyChangeOp = 'UPSERT' | 'DELETE';
export type PolicyEntity = 'LIST' | 'ENTRY';
export type PolicyKind = 'BLOCK' | 'ALLOW';
export type PolicyListFormat = 'AUTO' | 'HOSTS' | 'ADBLOCK' | 'PLAIN';

/** A blocklist/allowlist or custom domain managed through the API changed: topic policy.changes.v1, key = entity/id. */
export interface PolicyChangeEvent {
  event_id: string;
  op: PolicyChangeOp;
  entity: PolicyEntity;
  id: string;                     // UUID of the list or entry in the records API
  kind: PolicyKind;
  source: string | null;          // LIST: http(s) URL or absolute file path; ENTRY: null
  format: PolicyListFormat | null; // LIST only
  enabled: boolean | null;        // LIST only
  domain: string | null;          // ENTRY only: lower-case ASCII, no trailing dot
  changed_at_us: number;
  actor: string;
}

export type SecuritySeverity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** A detection fired: topic security.events.v1, key = client_ip. */
export interface SecurityEvent {
  event_id: string;
  detected_at_us: number;
  kind: string;
  severity: SecuritySeverity;
  client_ip: string;
  qname: string | null;
  node_id: string;
  details: Record<string, string>;
}

/** What goes to a dead-letter topic: the raw bytes and why they were refused. */
export interface DeadLetter {
  source_topic: string;
  partition: number;
  offset: string;
  reason: string;
  payload: Buffer;
}

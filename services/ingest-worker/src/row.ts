import type { DnsQueryRow } from '@ghostdns/db';

export type { DnsQueryRow } from '@ghostdns/db';

/** Column name and the Postgres array type unnest() reads it as, in table order. */
export const DNS_QUERY_COLUMNS = [
  ['queried_at', 'timestamptz'],
  ['event_id', 'uuid'],
  ['node_id', 'text'],
  ['pop', 'text'],
  ['source', 'text'],
  ['message_type', 'text'],
  ['client_ip', 'inet'],
  ['client_port', 'int4'],
  ['transport', 'text'],
  ['domain', 'text'],
  ['apex_domain', 'text'],
  ['qtype', 'text'],
  ['qclass', 'text'],
  ['flags', 'text'],
  ['response_rcode', 'text'],
  ['cached', 'bool'],
  ['cache_status', 'text'],
  ['response_time', 'timestamptz'],
  ['latency_us', 'int4'],
  ['answer_count', 'int4'],
  ['response_size', 'int4'],
  ['upstream', 'text'],
  ['upstream_latency_us', 'int4'],
  ['policy_action', 'text'],
  ['query_wire', 'bytea'],
  ['response_wire', 'bytea'],
  ['device_source', 'text'],
  ['device_id', 'text'],
  ['device_name', 'text'],
] as const satisfies readonly (readonly [keyof DnsQueryRow, string])[];

export type DnsQueryColumn = (typeof DNS_QUERY_COLUMNS)[number][0];

/** One row of `presence_history` (packages/db, migration 070), in column order. */
export interface PresenceHistoryRow {
  observed_at: string;
  event_id: string;
  node_id: string;
  /** presenceSourceId(): 'wireguard' | 'tailscale'. */
  source: string;
  device_id: string;
  /** '' when the device is published under no name (as in the event). */
  name: string;
  domain: string | null;
  interface: string | null;
  online: boolean;
  /** Host addresses without prefix length. */
  addresses: string[];
  last_handshake: string | null;
}

export const PRESENCE_HISTORY_COLUMNS = [
  ['observed_at', 'timestamptz'],
  ['event_id', 'uuid'],
  ['node_id', 'text'],
  ['source', 'text'],
  ['device_id', 'text'],
  ['name', 'text'],
  ['domain', 'text'],
  ['interface', 'text'],
  ['online', 'bool'],
  ['addresses', 'inet[]'],
  ['last_handshake', 'timestamptz'],
] as const satisfies readonly (readonly [keyof PresenceHistoryRow, string])[];

export type PresenceHistoryColumn = (typeof PRESENCE_HISTORY_COLUMNS)[number][0];

/** One row of `security_events` (packages/db, migration 080), in column order. */
export interface SecurityEventRow {
  detected_at: string;
  event_id: string;
  node_id: string;
  kind: string;
  severity: string;
  client_ip: string;
  qname: string | null;
  /** The details map as JSON text (jsonb). */
  details: string;
}

export const SECURITY_EVENT_COLUMNS = [
  ['detected_at', 'timestamptz'],
  ['event_id', 'uuid'],
  ['node_id', 'text'],
  ['kind', 'text'],
  ['severity', 'text'],
  ['client_ip', 'inet'],
  ['qname', 'text'],
  ['details', 'jsonb'],
] as const satisfies readonly (readonly [keyof SecurityEventRow, string])[];

export type SecurityEventColumn = (typeof SECURITY_EVENT_COLUMNS)[number][0];

/** Compile-time proofs that each column list names every field of its row. */
type AssertNever<T extends never> = T;
export type AllColumnsListed = AssertNever<Exclude<keyof DnsQueryRow, DnsQueryColumn>>;
export type AllPresenceColumnsListed = AssertNever<Exclude<keyof PresenceHistoryRow, PresenceHistoryColumn>>;
export type AllSecurityColumnsListed = AssertNever<Exclude<keyof SecurityEventRow, SecurityEventColumn>>;

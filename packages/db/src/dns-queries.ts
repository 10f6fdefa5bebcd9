/**
 * One row of `dns_queries`, as ingest-worker writes it and readers select it, (migrations 001 and 070), in
 * column order. Timestamps are ISO 8601 strings with microsecond precision so nothing
 * is lost on the way through a JS Date.
 */
export interface DnsQueryRow {
  queried_at: string;
  event_id: string;
  node_id: string;
  pop: string;
  source: string;
  message_type: string;
  client_ip: string;
  client_port: number;
  transport: string;
  domain: string;
  apex_domain: string;
  qtype: string;
  qclass: string;
  flags: string;
  response_rcode: string | null;
  cached: boolean;
  cache_status: string;
  response_time: string | null;
  latency_us: number | null;
  answer_count: number;
  response_size: number;
  upstream: string | null;
  upstream_latency_us: number | null;
  policy_action: string;
  query_wire: Buffer | null;
  response_wire: Buffer | null;
  /** presenceSourceId() of the device's source; the three device columns are NULL without a device. */
  device_source: string | null;
  device_id: string | null;
  device_name: string | null;
}

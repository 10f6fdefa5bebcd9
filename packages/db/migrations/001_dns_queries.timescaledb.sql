-- dns_queries on TimescaleDB: a hypertable on queried_at with 1-day chunks.
-- Keep the column list identical to 001_dns_queries.postgres.sql (a test compares them).
CREATE TABLE IF NOT EXISTS dns_queries (
  queried_at          timestamptz NOT NULL,
  event_id            uuid        NOT NULL,
  node_id             text        NOT NULL,
  pop                 text        NOT NULL,
  source              text        NOT NULL,
  message_type        text        NOT NULL,
  client_ip           inet        NOT NULL,
  client_port         integer     NOT NULL,
  transport           text        NOT NULL,
  domain              text        NOT NULL,
  apex_domain         text        NOT NULL,
  qtype               text        NOT NULL,
  qclass              text        NOT NULL,
  flags               text        NOT NULL,
  response_rcode      text        NULL,
  cached              boolean     NOT NULL,
  cache_status        text        NOT NULL,
  response_time       timestamptz NULL,
  latency_us          integer     NULL,
  answer_count        integer     NOT NULL,
  response_size       integer     NOT NULL,
  upstream            text        NULL,
  upstream_latency_us integer     NULL,
  policy_action       text        NOT NULL,
  query_wire          bytea       NULL,
  response_wire       bytea       NULL
);

SELECT create_hypertable('dns_queries', 'queried_at',
  chunk_time_interval => INTERVAL '1 day',
  if_not_exists => TRUE);

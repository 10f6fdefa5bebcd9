-- Identity behind NAT (issue 6, item 6): a query from a VPN device's tunnel address carries
-- that device's identity (QueryEvent.device), so analytics count devices, not addresses.
-- Nullable columns: rows from before, and queries from addresses no device owns, have none.
ALTER TABLE dns_queries ADD COLUMN IF NOT EXISTS device_source text NULL;
ALTER TABLE dns_queries ADD COLUMN IF NOT EXISTS device_id     text NULL;
ALTER TABLE dns_queries ADD COLUMN IF NOT EXISTS device_name   text NULL;
CREATE INDEX IF NOT EXISTS dns_queries_device_time_idx ON dns_queries (device_id, queried_at DESC) WHERE device_id IS NOT NULL;

-- Presence transitions as history (PresenceEvent, topic presence.events.v1), written by
-- ingest-worker; join with dns_queries on (device_source, device_id) and time.
-- On TimescaleDB it becomes a hypertable in 071_presence_history.timescaledb.sql; on plain
-- PostgreSQL it stays one table (transitions are few: no partitions needed).
-- A redelivered event never becomes a second row (the unique index holds the time column,
-- as a hypertable requires).
CREATE TABLE IF NOT EXISTS presence_history (
  observed_at     timestamptz NOT NULL,
  event_id        uuid        NOT NULL,
  node_id         text        NOT NULL,
  -- presenceSourceId(): 'wireguard' | 'tailscale' (as in presence_peer_mappings and dns_queries.device_source).
  source          text        NOT NULL,
  device_id       text        NOT NULL,
  -- The published name (a DNS label); '' when the device is published under none.
  name            text        NOT NULL,
  -- Custom domain the names go under; NULL = the presence suffix.
  domain          text        NULL,
  interface       text        NULL,
  online          boolean     NOT NULL,
  addresses       inet[]      NOT NULL,
  last_handshake  timestamptz NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS presence_history_event_uidx ON presence_history (event_id, observed_at);
CREATE INDEX IF NOT EXISTS presence_history_device_time_idx ON presence_history (source, device_id, observed_at DESC);

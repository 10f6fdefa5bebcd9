-- Indexes shared by both engines (runs after the engine-specific 001 file).
-- A redelivered event never becomes a second row: inserts use
-- ON CONFLICT (event_id, queried_at) DO NOTHING. Uniques on a partitioned
-- table or hypertable must include the partitioning column.
CREATE UNIQUE INDEX IF NOT EXISTS dns_queries_event_uidx ON dns_queries (event_id, queried_at);
CREATE INDEX IF NOT EXISTS dns_queries_domain_time_idx ON dns_queries (domain, queried_at DESC);
CREATE INDEX IF NOT EXISTS dns_queries_client_time_idx ON dns_queries (client_ip, queried_at DESC);

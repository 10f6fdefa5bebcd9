-- records-api (issue 7): GET /api/v1/logs reads the newest rows of dns_queries, newest first, with a
-- keyset on (queried_at, event_id). On PostgreSQL dns_queries has only a BRIN on queried_at, which cannot
-- serve ORDER BY queried_at DESC LIMIT n; this btree can (each daily partition gets its own, and the
-- partitions are merged newest first). TimescaleDB needs no file for this version: create_hypertable
-- already made its default (queried_at DESC) index.
CREATE INDEX IF NOT EXISTS dns_queries_time_idx ON dns_queries (queried_at DESC);

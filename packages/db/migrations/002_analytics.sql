-- Analytics relations shared by both engines (runs after the engine-specific 002 file).
--
-- dns_nodes: the seed's node registry (node_id serial, node_name, node_ip, location, network,
-- active, added_at, in the seed's column order, so its `INSERT INTO dns_nodes VALUES (DEFAULT, ...)`
-- runs unchanged). The ingest writer adds a node the first time one of its events arrives
-- (node_name = the event's node_id, location = its pop); node_ip and network are not in the
-- event, so they are nullable here and filled in by an operator.
CREATE TABLE IF NOT EXISTS dns_nodes (
  node_id    serial      PRIMARY KEY,
  node_name  text        NOT NULL,
  node_ip    inet        NULL,
  location   text        NOT NULL,
  network    cidr        NULL,
  active     boolean     DEFAULT TRUE,
  added_at   timestamptz DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS dns_nodes_name_uidx ON dns_nodes (node_name);

-- dns_daily_stats: the seed's table, column for column (stat_date, domain, apex_domain,
-- qtype varchar(10), hit_count, unique_clients, nxdomain_count, servfail_count, first_seen,
-- last_seen), as a view over the daily rollup dns_daily_stats_1d (a continuous aggregate on
-- TimescaleDB, a worker-refreshed table on PostgreSQL), so the seed's "combined top domains"
-- SQL and dashboards run unchanged. stat_date is the UTC day.
CREATE OR REPLACE VIEW dns_daily_stats AS
SELECT (bucket AT TIME ZONE 'UTC')::date AS stat_date,
       domain,
       apex_domain,
       qtype::varchar(10)      AS qtype,
       hit_count::bigint       AS hit_count,
       unique_clients::integer AS unique_clients,
       nxdomain_count::bigint  AS nxdomain_count,
       servfail_count::bigint  AS servfail_count,
       first_seen,
       last_seen
FROM dns_daily_stats_1d;

-- ghostdns:no-transaction
-- Analytics on TimescaleDB: continuous aggregates with real-time aggregation, compression and
-- retention/refresh policies. Continuous aggregates cannot be created inside a transaction
-- block, so this file runs statement by statement and every statement is re-runnable.
-- Keep the column lists identical to 002_analytics.postgres.sql (a test compares them).
-- Retention and compression intervals set here are the defaults; the ingest worker re-applies
-- the configured ones at start (configureAnalyticsPolicies in packages/db).

-- Per minute per node: live panels (qps, rcode mix, cache hit rate, policy actions, latency).
-- materialized_only = false is real-time aggregation: buckets not yet materialized are computed
-- from dns_queries at query time, so panels are current without waiting for the policy
-- (https://docs.timescale.com/use-timescale/latest/continuous-aggregates/real-time-aggregates/).
CREATE MATERIALIZED VIEW IF NOT EXISTS dns_node_stats_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', queried_at) AS bucket,
       node_id,
       pop,
       count(*)                                                      AS queries,
       count(*) FILTER (WHERE response_rcode = 'NOERROR')            AS noerror_count,
       count(*) FILTER (WHERE response_rcode = 'NXDOMAIN')           AS nxdomain_count,
       count(*) FILTER (WHERE response_rcode = 'SERVFAIL')           AS servfail_count,
       count(*) FILTER (WHERE response_rcode = 'REFUSED')            AS refused_count,
       count(*) FILTER (WHERE response_rcode IS NULL
                          OR response_rcode NOT IN ('NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED')) AS other_rcode_count,
       count(*) FILTER (WHERE cache_status = 'HIT')                  AS cache_hit_count,
       count(*) FILTER (WHERE cache_status = 'STALE')                AS cache_stale_count,
       count(*) FILTER (WHERE cache_status = 'MISS')                 AS cache_miss_count,
       count(*) FILTER (WHERE cache_status NOT IN ('HIT', 'STALE', 'MISS')) AS cache_other_count,
       count(*) FILTER (WHERE policy_action = 'PASS')                AS pass_count,
       count(*) FILTER (WHERE policy_action = 'BLOCKED')             AS blocked_count,
       count(*) FILTER (WHERE policy_action = 'ALLOWLISTED')         AS allowlisted_count,
       count(*) FILTER (WHERE policy_action = 'REFUSED')             AS policy_refused_count,
       count(*) FILTER (WHERE policy_action = 'RATE_LIMITED')        AS rate_limited_count,
       count(*) FILTER (WHERE policy_action = 'LOCAL_DATA')          AS local_data_count,
       count(latency_us)                                             AS latency_count,
       sum(latency_us)::bigint                                       AS latency_sum_us,
       max(latency_us)                                               AS latency_max_us
FROM dns_queries
GROUP BY 1, 2, 3
WITH NO DATA;

-- Per hour per domain / apex / qtype: top domains and apexes, NXDOMAIN/SERVFAIL, blocked.
CREATE MATERIALIZED VIEW IF NOT EXISTS dns_domain_stats_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', queried_at) AS bucket,
       domain,
       apex_domain,
       qtype,
       count(*)                                            AS hit_count,
       count(*) FILTER (WHERE response_rcode = 'NXDOMAIN') AS nxdomain_count,
       count(*) FILTER (WHERE response_rcode = 'SERVFAIL') AS servfail_count,
       count(*) FILTER (WHERE policy_action = 'BLOCKED')   AS blocked_count,
       count(*) FILTER (WHERE cached)                      AS cached_count,
       count(latency_us)                                   AS latency_count,
       sum(latency_us)::bigint                             AS latency_sum_us
FROM dns_queries
GROUP BY 1, 2, 3, 4
WITH NO DATA;

-- Per hour per client and domain: which devices resolve which domains; the base of the daily
-- rollup (unique clients per day cannot be summed from hourly counts, so it is counted here).
CREATE MATERIALIZED VIEW IF NOT EXISTS dns_client_stats_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', queried_at) AS bucket,
       client_ip,
       domain,
       apex_domain,
       qtype,
       count(*)                                            AS hit_count,
       count(*) FILTER (WHERE response_rcode = 'NXDOMAIN') AS nxdomain_count,
       count(*) FILTER (WHERE response_rcode = 'SERVFAIL') AS servfail_count,
       count(*) FILTER (WHERE policy_action = 'BLOCKED')   AS blocked_count,
       min(queried_at)                                     AS first_seen,
       max(queried_at)                                     AS last_seen
FROM dns_queries
GROUP BY 1, 2, 3, 4, 5
WITH NO DATA;

-- Per UTC day per domain / qtype: the data behind the seed's dns_daily_stats (view in 002_analytics.sql).
-- A hierarchical continuous aggregate on dns_client_stats_1h (TimescaleDB >= 2.9).
CREATE MATERIALIZED VIEW IF NOT EXISTS dns_daily_stats_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket,
       domain,
       apex_domain,
       qtype,
       sum(hit_count)::bigint           AS hit_count,
       count(DISTINCT client_ip)        AS unique_clients,
       sum(nxdomain_count)::bigint      AS nxdomain_count,
       sum(servfail_count)::bigint      AS servfail_count,
       min(first_seen)                  AS first_seen,
       max(last_seen)                   AS last_seen
FROM dns_client_stats_1h
GROUP BY 1, 2, 3, 4
WITH NO DATA;

-- Refresh policies: the window [now - start_offset, now - end_offset] is re-materialized on each
-- run; it spans at least two buckets as the docs require, and end_offset keeps the still-filling
-- bucket to real-time aggregation
-- (https://docs.timescale.com/api/latest/continuous-aggregates/add_continuous_aggregate_policy/).
SELECT add_continuous_aggregate_policy('dns_node_stats_1m',
  start_offset => INTERVAL '2 hours', end_offset => INTERVAL '1 minute',
  schedule_interval => INTERVAL '1 minute', if_not_exists => TRUE);
SELECT add_continuous_aggregate_policy('dns_domain_stats_1h',
  start_offset => INTERVAL '1 day', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '15 minutes', if_not_exists => TRUE);
SELECT add_continuous_aggregate_policy('dns_client_stats_1h',
  start_offset => INTERVAL '1 day', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '15 minutes', if_not_exists => TRUE);
SELECT add_continuous_aggregate_policy('dns_daily_stats_1d',
  start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 day',
  schedule_interval => INTERVAL '1 hour', if_not_exists => TRUE);

-- Compression of raw chunks. segmentby node_id: every panel filters or groups by node, a node
-- has many rows per chunk, and the docs advise a low-cardinality column queried with equality;
-- orderby queried_at DESC matches the time-range scans
-- (https://docs.timescale.com/use-timescale/latest/compression/about-compression/).
ALTER TABLE dns_queries SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'node_id',
  timescaledb.compress_orderby = 'queried_at DESC'
);
SELECT add_compression_policy('dns_queries', compress_after => INTERVAL '7 days', if_not_exists => TRUE);

-- Retention: raw and per-minute 30 days, hourly 400 days, daily kept. The raw retention is
-- longer than every refresh window, so dropping chunks never erases aggregated history
-- (https://docs.timescale.com/use-timescale/latest/data-retention/data-retention-with-continuous-aggregates/).
SELECT add_retention_policy('dns_queries', drop_after => INTERVAL '30 days', if_not_exists => TRUE);
SELECT add_retention_policy('dns_node_stats_1m', drop_after => INTERVAL '30 days', if_not_exists => TRUE);
SELECT add_retention_policy('dns_domain_stats_1h', drop_after => INTERVAL '400 days', if_not_exists => TRUE);
SELECT add_retention_policy('dns_client_stats_1h', drop_after => INTERVAL '400 days', if_not_exists => TRUE);

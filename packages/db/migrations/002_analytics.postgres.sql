-- Analytics on plain PostgreSQL: the same relation names and columns as the continuous
-- aggregates of 002_analytics.timescaledb.sql (a test compares them), as tables refreshed by
-- the ingest worker (ghostdns_refresh_rollups) and trimmed by ghostdns_apply_retention.

-- Time-range scans of one day's partition for the rollup refresh. BRIN: rows arrive in time
-- order, so a tiny index prunes well and costs the insert path almost nothing.
CREATE INDEX IF NOT EXISTS dns_queries_time_brin ON dns_queries USING brin (queried_at) WITH (pages_per_range = 32);

CREATE TABLE IF NOT EXISTS dns_node_stats_1m (
  bucket               timestamptz NOT NULL,
  node_id              text        NOT NULL,
  pop                  text        NOT NULL,
  queries              bigint      NOT NULL,
  noerror_count        bigint      NOT NULL,
  nxdomain_count       bigint      NOT NULL,
  servfail_count       bigint      NOT NULL,
  refused_count        bigint      NOT NULL,
  other_rcode_count    bigint      NOT NULL,
  cache_hit_count      bigint      NOT NULL,
  cache_stale_count    bigint      NOT NULL,
  cache_miss_count     bigint      NOT NULL,
  cache_other_count    bigint      NOT NULL,
  pass_count           bigint      NOT NULL,
  blocked_count        bigint      NOT NULL,
  allowlisted_count    bigint      NOT NULL,
  policy_refused_count bigint      NOT NULL,
  rate_limited_count   bigint      NOT NULL,
  local_data_count     bigint      NOT NULL,
  latency_count        bigint      NOT NULL,
  latency_sum_us       bigint      NULL,
  latency_max_us       integer     NULL
);
CREATE INDEX IF NOT EXISTS dns_node_stats_1m_bucket_idx ON dns_node_stats_1m (bucket DESC);
CREATE INDEX IF NOT EXISTS dns_node_stats_1m_node_idx ON dns_node_stats_1m (node_id, bucket DESC);

CREATE TABLE IF NOT EXISTS dns_domain_stats_1h (
  bucket         timestamptz NOT NULL,
  domain         text        NOT NULL,
  apex_domain    text        NOT NULL,
  qtype          text        NOT NULL,
  hit_count      bigint      NOT NULL,
  nxdomain_count bigint      NOT NULL,
  servfail_count bigint      NOT NULL,
  blocked_count  bigint      NOT NULL,
  cached_count   bigint      NOT NULL,
  latency_count  bigint      NOT NULL,
  latency_sum_us bigint      NULL
);
CREATE INDEX IF NOT EXISTS dns_domain_stats_1h_bucket_idx ON dns_domain_stats_1h (bucket DESC);
CREATE INDEX IF NOT EXISTS dns_domain_stats_1h_apex_idx ON dns_domain_stats_1h (apex_domain, bucket DESC);

CREATE TABLE IF NOT EXISTS dns_client_stats_1h (
  bucket         timestamptz NOT NULL,
  client_ip      inet        NOT NULL,
  domain         text        NOT NULL,
  apex_domain    text        NOT NULL,
  qtype          text        NOT NULL,
  hit_count      bigint      NOT NULL,
  nxdomain_count bigint      NOT NULL,
  servfail_count bigint      NOT NULL,
  blocked_count  bigint      NOT NULL,
  first_seen     timestamptz NOT NULL,
  last_seen      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS dns_client_stats_1h_bucket_idx ON dns_client_stats_1h (bucket DESC);
CREATE INDEX IF NOT EXISTS dns_client_stats_1h_client_idx ON dns_client_stats_1h (client_ip, bucket DESC);

CREATE TABLE IF NOT EXISTS dns_daily_stats_1d (
  bucket         timestamptz NOT NULL,
  domain         text        NOT NULL,
  apex_domain    text        NOT NULL,
  qtype          text        NOT NULL,
  hit_count      bigint      NOT NULL,
  unique_clients bigint      NOT NULL,
  nxdomain_count bigint      NOT NULL,
  servfail_count bigint      NOT NULL,
  first_seen     timestamptz NOT NULL,
  last_seen      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS dns_daily_stats_1d_bucket_idx ON dns_daily_stats_1d (bucket DESC);

-- Invalidation log: the UTC hours that received rows since the last refresh. Filled by a
-- statement-level trigger in the inserting transaction (so every writer, the worker and the
-- BIND import alike, is covered, and a committed row always has its hour marked); consumed by
-- ghostdns_refresh_rollups. A queried_at watermark alone would miss late and replayed events
-- (a redelivered batch after a crash, an imported old log); the log catches them. Append-only,
-- so writers never wait on each other or on the refresh.
CREATE TABLE IF NOT EXISTS analytics_invalidations (
  hour timestamptz NOT NULL
);

CREATE OR REPLACE FUNCTION ghostdns_mark_invalid_hours()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
  INSERT INTO analytics_invalidations (hour)
  SELECT DISTINCT date_trunc('hour', queried_at, 'UTC') FROM new_rows;
  RETURN NULL;
END
$fn$;

-- Transition tables on a partitioned table see the rows of every partition; with
-- ON CONFLICT DO NOTHING they hold only the rows actually inserted.
DROP TRIGGER IF EXISTS dns_queries_invalidate ON dns_queries;
CREATE TRIGGER dns_queries_invalidate
  AFTER INSERT ON dns_queries
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ghostdns_mark_invalid_hours();

-- Recomputes every rollup bucket of the invalidated hours from dns_queries (and the days of
-- those hours from dns_client_stats_1h), in the caller's transaction. Returns the number of
-- hours refreshed, or 0 when another session is refreshing (it holds the lock; the hours
-- stay in the log for the next round). Rows committed while it runs leave their own
-- invalidation behind, so nothing is ever missed: at worst an hour is computed twice.
CREATE OR REPLACE FUNCTION ghostdns_refresh_rollups()
RETURNS int
LANGUAGE plpgsql
AS $fn$
DECLARE
  hours timestamptz[];
  days  timestamptz[];
  h     timestamptz;
  d     timestamptz;
BEGIN
  -- 'ghostdns' + 1: one refresher at a time across worker replicas.
  IF NOT pg_try_advisory_xact_lock(7450482130541092468) THEN
    RETURN 0;
  END IF;
  WITH taken AS (DELETE FROM analytics_invalidations RETURNING hour)
  SELECT array_agg(DISTINCT hour ORDER BY hour) INTO hours FROM taken;
  IF hours IS NULL THEN
    RETURN 0;
  END IF;

  FOREACH h IN ARRAY hours LOOP
    DELETE FROM dns_node_stats_1m WHERE bucket >= h AND bucket < h + INTERVAL '1 hour';
    INSERT INTO dns_node_stats_1m
    SELECT date_trunc('minute', queried_at, 'UTC'), node_id, pop,
           count(*),
           count(*) FILTER (WHERE response_rcode = 'NOERROR'),
           count(*) FILTER (WHERE response_rcode = 'NXDOMAIN'),
           count(*) FILTER (WHERE response_rcode = 'SERVFAIL'),
           count(*) FILTER (WHERE response_rcode = 'REFUSED'),
           count(*) FILTER (WHERE response_rcode IS NULL
                              OR response_rcode NOT IN ('NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED')),
           count(*) FILTER (WHERE cache_status = 'HIT'),
           count(*) FILTER (WHERE cache_status = 'STALE'),
           count(*) FILTER (WHERE cache_status = 'MISS'),
           count(*) FILTER (WHERE cache_status NOT IN ('HIT', 'STALE', 'MISS')),
           count(*) FILTER (WHERE policy_action = 'PASS'),
           count(*) FILTER (WHERE policy_action = 'BLOCKED'),
           count(*) FILTER (WHERE policy_action = 'ALLOWLISTED'),
           count(*) FILTER (WHERE policy_action = 'REFUSED'),
           count(*) FILTER (WHERE policy_action = 'RATE_LIMITED'),
           count(*) FILTER (WHERE policy_action = 'LOCAL_DATA'),
           count(latency_us), sum(latency_us)::bigint, max(latency_us)
    FROM dns_queries
    WHERE queried_at >= h AND queried_at < h + INTERVAL '1 hour'
    GROUP BY 1, 2, 3;

    DELETE FROM dns_domain_stats_1h WHERE bucket = h;
    INSERT INTO dns_domain_stats_1h
    SELECT h, domain, apex_domain, qtype,
           count(*),
           count(*) FILTER (WHERE response_rcode = 'NXDOMAIN'),
           count(*) FILTER (WHERE response_rcode = 'SERVFAIL'),
           count(*) FILTER (WHERE policy_action = 'BLOCKED'),
           count(*) FILTER (WHERE cached),
           count(latency_us), sum(latency_us)::bigint
    FROM dns_queries
    WHERE queried_at >= h AND queried_at < h + INTERVAL '1 hour'
    GROUP BY domain, apex_domain, qtype;

    DELETE FROM dns_client_stats_1h WHERE bucket = h;
    INSERT INTO dns_client_stats_1h
    SELECT h, client_ip, domain, apex_domain, qtype,
           count(*),
           count(*) FILTER (WHERE response_rcode = 'NXDOMAIN'),
           count(*) FILTER (WHERE response_rcode = 'SERVFAIL'),
           count(*) FILTER (WHERE policy_action = 'BLOCKED'),
           min(queried_at), max(queried_at)
    FROM dns_queries
    WHERE queried_at >= h AND queried_at < h + INTERVAL '1 hour'
    GROUP BY client_ip, domain, apex_domain, qtype;
  END LOOP;

  SELECT array_agg(DISTINCT date_trunc('day', x, 'UTC')) INTO days FROM unnest(hours) AS x;
  FOREACH d IN ARRAY days LOOP
    DELETE FROM dns_daily_stats_1d WHERE bucket = d;
    INSERT INTO dns_daily_stats_1d
    SELECT d, domain, apex_domain, qtype,
           sum(hit_count)::bigint, count(DISTINCT client_ip),
           sum(nxdomain_count)::bigint, sum(servfail_count)::bigint,
           min(first_seen), max(last_seen)
    FROM dns_client_stats_1h
    WHERE bucket >= d AND bucket < d + INTERVAL '1 day'
    GROUP BY domain, apex_domain, qtype;
  END LOOP;
  RETURN array_length(hours, 1);
END
$fn$;

-- Retention on PostgreSQL: drops the daily dns_queries partitions whose whole UTC day is older
-- than raw_days (and such rows in the DEFAULT partition), per-minute rollups older than
-- raw_days, hourly rollups older than hourly_days. dns_daily_stats_1d is kept. Returns the
-- number of partitions dropped.
CREATE OR REPLACE FUNCTION ghostdns_apply_retention(raw_days int, hourly_days int)
RETURNS int
LANGUAGE plpgsql
AS $fn$
DECLARE
  raw_cutoff    timestamptz := date_trunc('day', now(), 'UTC') - make_interval(days => raw_days);
  hourly_cutoff timestamptz := date_trunc('day', now(), 'UTC') - make_interval(days => hourly_days);
  part          text;
  dropped       int := 0;
BEGIN
  IF raw_days < 1 OR hourly_days < 1 THEN
    RAISE EXCEPTION 'retention must be at least one day, got raw % and hourly %', raw_days, hourly_days;
  END IF;
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'dns_queries'::regclass AND c.relname ~ '^dns_queries_p[0-9]{8}$'
  LOOP
    IF (to_date(substr(part, 14), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC') + INTERVAL '1 day' <= raw_cutoff THEN
      EXECUTE format('DROP TABLE %I', part);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  DELETE FROM dns_queries_default WHERE queried_at < raw_cutoff;
  DELETE FROM dns_node_stats_1m WHERE bucket < raw_cutoff;
  DELETE FROM dns_domain_stats_1h WHERE bucket < hourly_cutoff;
  DELETE FROM dns_client_stats_1h WHERE bucket < hourly_cutoff;
  RETURN dropped;
END
$fn$;

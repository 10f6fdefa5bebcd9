-- dns_queries on plain PostgreSQL: native range partitioning on queried_at,
-- one partition per UTC day created ahead by ghostdns_ensure_partitions(),
-- and a DEFAULT partition so an insert never fails for lack of a partition.
-- Keep the column list identical to 001_dns_queries.timescaledb.sql (a test compares them).
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
) PARTITION BY RANGE (queried_at);

CREATE TABLE IF NOT EXISTS dns_queries_default PARTITION OF dns_queries DEFAULT;

-- Creates the daily partitions dns_queries_pYYYYMMDD for yesterday .. today + days_ahead (UTC).
-- Rows already sitting in the DEFAULT partition for a new day are moved into it.
-- Returns how many partitions it created. Safe to call concurrently (table lock).
CREATE OR REPLACE FUNCTION ghostdns_ensure_partitions(days_ahead int)
RETURNS int
LANGUAGE plpgsql
AS $fn$
DECLARE
  today   date := (now() AT TIME ZONE 'UTC')::date;
  d       date;
  lo      timestamptz;
  hi      timestamptz;
  part    text;
  created int := 0;
BEGIN
  IF days_ahead < 0 THEN
    RAISE EXCEPTION 'days_ahead must be >= 0, got %', days_ahead;
  END IF;
  -- Serialise concurrent callers; attaching partitions needs this lock anyway.
  LOCK TABLE dns_queries IN SHARE UPDATE EXCLUSIVE MODE;
  FOR i IN -1 .. days_ahead LOOP
    d    := today + i;
    lo   := (d::timestamp AT TIME ZONE 'UTC');
    hi   := ((d + 1)::timestamp AT TIME ZONE 'UTC');
    part := 'dns_queries_p' || to_char(d, 'YYYYMMDD');
    CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
    IF EXISTS (SELECT 1 FROM dns_queries_default WHERE queried_at >= lo AND queried_at < hi) THEN
      EXECUTE format('CREATE TABLE %I (LIKE dns_queries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
      EXECUTE format(
        'WITH moved AS (DELETE FROM dns_queries_default WHERE queried_at >= %L AND queried_at < %L RETURNING *)
         INSERT INTO %I SELECT * FROM moved', lo, hi, part);
      EXECUTE format('ALTER TABLE dns_queries ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    ELSE
      EXECUTE format('CREATE TABLE %I PARTITION OF dns_queries FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    END IF;
    created := created + 1;
  END LOOP;
  RETURN created;
END
$fn$;

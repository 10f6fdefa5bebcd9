-- Detections (SecurityEvent, topic security.events.v1), stored by ingest-worker and read by
-- records-api (GET /api/v1/security/events). Few rows (each detector fires once per client and
-- cooldown): no partitions on PostgreSQL, 7-day chunks on TimescaleDB.
CREATE TABLE IF NOT EXISTS security_events (
  detected_at timestamptz NOT NULL,
  event_id    uuid        NOT NULL,
  node_id     text        NOT NULL,
  -- Detector that fired: tunneling, dga, nxdomain-burst, query-flood, blocked-burst, or another publisher's.
  kind        text        NOT NULL,
  severity    text        NOT NULL,
  client_ip   inet        NOT NULL,
  -- NULL when the detection is about a client, not a name.
  qname       text        NULL,
  -- The event's details map (string values): counts, window, sample names, device.
  details     jsonb       NOT NULL,
  CONSTRAINT security_events_severity_chk CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL'))
);

-- The hypertable is the only difference between the engines, so it is made here, where the
-- extension is installed (the test openDatabase() picks the engine by), rather than in a
-- .timescaledb.sql twin: that one runs before this file and would have to repeat the table.
-- No default indexes: the time index below is the same on both engines.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    PERFORM create_hypertable('security_events', 'detected_at',
      chunk_time_interval => INTERVAL '7 days', create_default_indexes => FALSE, if_not_exists => TRUE);
  END IF;
END
$$;

-- A redelivered event never becomes a second row (the unique key holds the time column, as a
-- hypertable requires).
CREATE UNIQUE INDEX IF NOT EXISTS security_events_event_uidx ON security_events (event_id, detected_at);
CREATE INDEX IF NOT EXISTS security_events_time_idx ON security_events (detected_at DESC);
CREATE INDEX IF NOT EXISTS security_events_client_time_idx ON security_events (client_ip, detected_at DESC);

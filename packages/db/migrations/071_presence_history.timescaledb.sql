-- presence_history (070) as a hypertable on observed_at: 7-day chunks, since transitions are few.
-- No default index on observed_at: the unique (event_id, observed_at) and per-device indexes of 070 serve the reads.
SELECT create_hypertable('presence_history', 'observed_at', chunk_time_interval => INTERVAL '7 days', create_default_indexes => FALSE, if_not_exists => TRUE);

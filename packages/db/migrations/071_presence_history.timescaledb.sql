-- presence_history (070) as a hypertable on observed_at: 7-day chunks, since transitions are few.
SELECT create_hypertable('presence_history', 'observed_at', chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE);

-- presence-service (issue 6, HADDNS): which name a VPN peer is published under, and whether it is
-- published at all. Managed with `ghostdns haddns map` / `ghostdns haddns setup`; read by
-- presence-service each poll when database.url is set. Plain SQL, the same on PostgreSQL and TimescaleDB.

CREATE TABLE IF NOT EXISTS presence_peer_mappings (
  -- presenceSourceId() of the source: 'wireguard', 'tailscale'.
  source      text        NOT NULL,
  -- WireGuard public key or Tailscale node id.
  device_id   text        NOT NULL,
  -- The DNS label the peer is published under (<name>.<suffix>).
  name        text        NOT NULL CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  -- false: the peer is never published, online or not.
  enabled     boolean     NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, device_id)
);

-- presence-service (issue 6): a hostname mapping may carry a custom domain (the seed's
-- PeerHostnameMapping.custom_domain): the peer is then published as <name>.<custom_domain>
-- (and <name>.<interface>.<custom_domain>) instead of under the presence suffix.
ALTER TABLE presence_peer_mappings ADD COLUMN IF NOT EXISTS custom_domain text NULL
  CHECK (custom_domain IS NULL OR (length(custom_domain) <= 200
    AND custom_domain ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$'));

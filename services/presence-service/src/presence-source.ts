import type { PresenceSource as PresenceSourceKind } from '@ghostdns/contracts';

/** One peer as a source saw it in one poll. */
export interface PeerObservation {
  readonly source: PresenceSourceKind;
  /** WireGuard public key or Tailscale nodeId. */
  readonly deviceId: string;
  /** Name the peer is published under (a DNS label); sources that cannot name a peer leave it null. */
  readonly name: string | null;
  /** The custom domain its names go under instead of the presence suffix (its mapping's); null: the suffix. */
  readonly domain: string | null;
  /** WireGuard interface the peer belongs to; null for Tailscale. */
  readonly interface: string | null;
  /** Tunnel addresses (allowed IPs / Tailscale IPs), as the source reports them. */
  readonly addresses: readonly string[];
  /** Epoch microseconds of the latest handshake; null when the peer never completed one. */
  readonly lastHandshakeUs: number | null;
  /** Epoch microseconds at which the source read this. */
  readonly observedAtUs: number;
  /** Bytes received from the peer so far (wg transfer-rx); null when the source does not count them. */
  readonly rxBytes: number | null;
  /**
   * Persistent keepalive interval in seconds configured for the peer (wg
   * persistent-keepalive); null when off or unknown. With it set, received
   * bytes that stop growing for two intervals mean the peer is gone.
   */
  readonly persistentKeepaliveSec: number | null;
  /**
   * The source's own verdict (Tailscale: connected to the control plane), used instead of the
   * handshake rule; absent when the source has none (WireGuard).
   */
  readonly reportedOnline?: boolean;
}

/**
 * The seam the pollers plug into (issue 6: a WireGuard source reading
 * `wg show <iface> dump` and a Tailscale source reading the local API).
 * poll() reports every peer it can see right now; it rejects when it cannot
 * read its source at all (a rejected poll is "unknown", never "everyone is
 * offline": names fail closed on what we know, not on what we failed to read).
 */
export interface PresenceSource {
  /**
   * presenceSourceId() of the source kind ("wireguard", "tailscale"): logs, metrics and the snapshot
   * key, which resolvers derive from an event's source, so it must not be anything else.
   */
  readonly id: string;
  poll(): Promise<PeerObservation[]>;
}

/** Nest token: the PresenceSource[] the poll loop reads. Empty in this build. */
export const PRESENCE_SOURCES = Symbol.for('ghostdns.presence.sources');

/**
 * Receives each successful poll. Issue 6 plugs in the handshake-threshold
 * state machine that publishes DEVICE_ONLINE / DEVICE_OFFLINE transitions.
 */
export interface ObservationSink {
  observe(sourceId: string, peers: readonly PeerObservation[]): Promise<void>;
}

/** Nest token for the ObservationSink. */
export const OBSERVATION_SINK = Symbol.for('ghostdns.presence.observation-sink');

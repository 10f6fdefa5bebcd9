import { presenceSourceId } from '@ghostdns/contracts';
import type { PeerMappingReader } from '../mappings.js';
import type { PeerObservation, PresenceSource } from '../presence-source.js';
import { assignLabels, defaultPeerLabel, hostAddresses, labelKey, sanitizeLabel } from '../names.js';
import type { WgDumpReader, WgQuickConfigReader } from './command.js';
import { parseWgDump } from './dump.js';
import type { MalformedDumpLine, WgPeerDump } from './dump.js';
import { peerNamesFromWgQuick } from './wg-quick.js';

export interface WireGuardSourceOptions {
  readonly dump: WgDumpReader;
  readonly configs: WgQuickConfigReader;
  /** Interfaces to report; null means every interface in the dump ("all"). */
  readonly interfaces: readonly string[] | null;
  readonly onMalformed?: (lines: readonly MalformedDumpLine[]) => void;
  /** Hostname mappings (the database); without them names come from comments and addresses. */
  readonly mappings?: PeerMappingReader;
  readonly now?: () => number;
}

/**
 * Presence source over `wg show all dump`. One poll reads every interface at
 * once; a configured interface missing from the dump simply has no peers (an
 * interface that is down has nobody connected). Names: the peer's mapping in the
 * database, else the `# Name =` comment of the peer in `<interface>.conf`, else a
 * default from its tunnel address, sanitized into a DNS label and made unique
 * across all interfaces under its domain (its mapping's custom domain, else the suffix).
 * A peer whose mapping is disabled gets no name (never online).
 */
export class WireGuardSource implements PresenceSource {
  readonly id = presenceSourceId('WIREGUARD');
  private readonly watched: ReadonlySet<string> | null;
  private readonly now: () => number;

  constructor(private readonly options: WireGuardSourceOptions) {
    this.watched = options.interfaces === null ? null : new Set(options.interfaces);
    this.now = options.now ?? Date.now;
  }

  async poll(): Promise<PeerObservation[]> {
    const text = await this.options.dump.read();
    const observedAtUs = this.now() * 1000;
    const dump = parseWgDump(text);
    if (dump.malformed.length > 0) this.options.onMalformed?.(dump.malformed);
    const peers = dump.peers.filter((peer) => this.watched === null || this.watched.has(peer.interface));
    const [commentNames, mappings] = await Promise.all([
      this.commentNames(new Set(peers.map((peer) => peer.interface))),
      this.options.mappings?.read(this.id) ?? new Map<string, never>(),
    ]);
    const candidates = peers.map((peer) => {
      const addresses = hostAddresses(peer.allowedIps);
      const mapping = mappings.get(peer.publicKey);
      const fromComment = commentNames.get(peer.interface)?.get(peer.publicKey);
      const label =
        mapping?.name ?? (fromComment === undefined ? null : sanitizeLabel(fromComment)) ?? defaultPeerLabel(addresses, peer.publicKey);
      return { peer, addresses, label, domain: mapping?.customDomain ?? null, enabled: mapping?.enabled ?? true };
    });
    // Disabled peers take no label: they cannot push a published peer into a tagged one.
    const labels = assignLabels(
      candidates
        .filter(({ enabled }) => enabled)
        .map(({ peer, label, domain }) => ({ deviceId: peer.publicKey, interface: peer.interface, label, domain })),
    );
    return candidates.map(({ peer, addresses, domain }) =>
      observation(peer, addresses, labels.get(labelKey(peer.interface, peer.publicKey)) ?? null, domain, observedAtUs),
    );
  }

  private async commentNames(interfaces: ReadonlySet<string>): Promise<Map<string, Map<string, string>>> {
    const byInterface = new Map<string, Map<string, string>>();
    await Promise.all(
      [...interfaces].map(async (name) => {
        const text = await this.options.configs.read(name);
        if (text !== null) byInterface.set(name, peerNamesFromWgQuick(text));
      }),
    );
    return byInterface;
  }
}

function observation(peer: WgPeerDump, addresses: string[], name: string | null, domain: string | null, observedAtUs: number): PeerObservation {
  return {
    source: 'WIREGUARD',
    deviceId: peer.publicKey,
    name,
    domain,
    interface: peer.interface,
    addresses,
    lastHandshakeUs: peer.latestHandshakeSec === null ? null : peer.latestHandshakeSec * 1_000_000,
    observedAtUs,
    rxBytes: peer.rxBytes,
    persistentKeepaliveSec: peer.persistentKeepaliveSec,
  };
}

import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { sanitizeLabel } from '@ghostdns/contracts';

export { dnsNameProblem, sanitizeLabel } from '@ghostdns/contracts';

const MAX_LABEL = 63;
/** Hex digits of sha256(device id) appended to a colliding label. */
const COLLISION_TAG_DIGITS = 6;

/** The host addresses among a peer's allowed IPs (/32 and /128 routes), without prefix. */
export function hostAddresses(allowedIps: readonly string[]): string[] {
  const hosts: string[] = [];
  for (const cidr of allowedIps) {
    const [address = '', prefix = ''] = cidr.split('/');
    if ((isIPv4(address) && prefix === '32') || (isIPv6(address) && prefix === '128')) hosts.push(address);
  }
  return hosts;
}

/** "peer-10-8-0-2" from the first tunnel address; "peer-<key hash>" when the peer has none. */
export function defaultPeerLabel(addresses: readonly string[], deviceId: string): string {
  const first = addresses[0];
  if (first !== undefined) return sanitizeLabel(`peer-${first}`) ?? `peer-${keyTag(deviceId, 8)}`;
  return `peer-${keyTag(deviceId, 8)}`;
}

function keyTag(deviceId: string, digits: number): string {
  return createHash('sha256').update(deviceId).digest('hex').slice(0, digits);
}

export interface NameCandidate {
  readonly deviceId: string;
  readonly interface: string | null;
  /** Sanitized label the peer asks for. */
  readonly label: string;
  /** The custom domain its names go under; null: the presence suffix. */
  readonly domain: string | null;
}

/**
 * Final labels, unique across every candidate under the same domain (global
 * names `<label>.<suffix>`, `<label>.<domain>` must not be shared; the same
 * label under two domains is two names). In a group asking for the same label, the peer first in
 * (interface, device id) order keeps it; every other gets `<label>-<6 hex of
 * sha256(device id)>`, which depends only on the peer itself, so it stays put
 * as other peers come and go.
 */
export function assignLabels(candidates: readonly NameCandidate[]): Map<string, string> {
  const order = [...candidates].sort(
    (a, b) => (a.interface ?? '').localeCompare(b.interface ?? '') || a.deviceId.localeCompare(b.deviceId),
  );
  const taken = new Set<string>();
  const labels = new Map<string, string>();
  const keyOf = (c: NameCandidate): string => labelKey(c.interface, c.deviceId);
  const nameOf = (c: NameCandidate, label: string): string => `${label}\u0000${c.domain ?? ''}`;
  // Bare labels first, so a tagged label can never take a name another peer asked for.
  for (const candidate of order) {
    if (!taken.has(nameOf(candidate, candidate.label))) {
      taken.add(nameOf(candidate, candidate.label));
      labels.set(keyOf(candidate), candidate.label);
    }
  }
  for (const candidate of order) {
    if (labels.has(keyOf(candidate))) continue;
    let digits = COLLISION_TAG_DIGITS;
    let label: string;
    do {
      const tag = keyTag(`${candidate.interface ?? ''}/${candidate.deviceId}`, digits);
      label = `${candidate.label.slice(0, MAX_LABEL - tag.length - 1).replace(/-+$/, '')}-${tag}`;
      digits += 2;
    } while (taken.has(nameOf(candidate, label)));
    taken.add(nameOf(candidate, label));
    labels.set(keyOf(candidate), label);
  }
  return labels;
}

/** The key assignLabels() files a candidate under. */
export function labelKey(interfaceName: string | null, deviceId: string): string {
  return `${interfaceName ?? ''}\u0000${deviceId}`;
}

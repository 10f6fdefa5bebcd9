// Zone transfer out (AXFR, RFC 5936) and the transfer ACL.
import ipaddr from 'ipaddr.js';
import type { ResolveRequest } from '../dns/resolver.js';
import { ResolverEdgeError } from '../errors.js';
import { encodeRecords, questionBytes, responseHeader } from './answer.js';
import type { ZoneData } from './store.js';
import type { ZoneRecord } from './zone-file.js';

/** RFC 1035 §4.2.2: a TCP message length is 16 bits. */
export const MAX_MESSAGE = 65_535;

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** dns.allowTransfer as parsed CIDRs; a bare address is a host route. */
export class TransferAcl {
  private readonly ranges: Cidr[];

  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map((c) => {
      try {
        if (c.includes('/')) return ipaddr.parseCIDR(c);
        const addr = ipaddr.parse(c);
        return [addr, addr.kind() === 'ipv4' ? 32 : 128] as Cidr;
      } catch (err) {
        throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_ADDRESS', `dns.allowTransfer: not a CIDR or address: ${c}`, { cause: err });
      }
    });
  }

  allows(address: string): boolean {
    if (this.ranges.length === 0 || !ipaddr.isValid(address)) return false;
    // ::ffff:a.b.c.d (dual-stack sockets) is matched as the IPv4 address.
    const addr = ipaddr.process(address);
    for (const range of this.ranges) {
      if (addr.kind() === range[0].kind() && addr.match(range)) return true;
    }
    return false;
  }
}

/**
 * SOA, every record, SOA (RFC 5936 §2.2), packed into as few messages of at
 * most `maxMessage` bytes as fit. Every message carries the question (allowed
 * by §2.2.1, and what lets a client match each message), AA set.
 */
export function buildAxfrMessages(request: ResolveRequest, zone: ZoneData, maxMessage = MAX_MESSAGE): Buffer[] {
  const q = questionBytes(request);
  const fixed = 12 + q.length;
  const records: ZoneRecord[] = [zone.soa, ...zone.records, zone.soa];
  const messages: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = fixed;
  const flush = (): void => {
    const header = responseHeader(request, { aa: true, tc: false, rcode: 0 }, [1, parts.length, 0, 0]);
    messages.push(Buffer.concat([header, q, ...parts]));
    parts = [];
    size = fixed;
  };
  for (const r of records) {
    const wire = encodeRecords([r]);
    if (fixed + wire.length > maxMessage) {
      throw new ResolverEdgeError('GHOSTDNS_RESOLVER_MALFORMED_MESSAGE', `record ${r.name} ${r.type} does not fit a message`);
    }
    if (size + wire.length > maxMessage) flush();
    parts.push(wire);
    size += wire.length;
  }
  flush();
  return messages;
}

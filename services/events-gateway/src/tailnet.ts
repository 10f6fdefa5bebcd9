import { isIPv4, isIPv6 } from 'node:net';

/**
 * Tailscale address ranges: 100.64.0.0/10 (CGNAT, IPv4 tailnet addresses)
 * and fd7a:115c:a1e0::/48 (the Tailscale ULA prefix).
 */

/** "::ffff:1.2.3.4" -> "1.2.3.4"; anything else unchanged. */
export function unmapIPv4(ip: string): string {
  if (ip.length > 7 && (ip.startsWith('::ffff:') || ip.startsWith('::FFFF:'))) {
    const rest = ip.slice(7);
    if (isIPv4(rest)) return rest;
  }
  return ip;
}

function ipv4InCgnat(ip: string): boolean {
  // 100.64.0.0/10: first octet 100, second octet 64..127.
  if (!ip.startsWith('100.')) return false;
  const dot = ip.indexOf('.', 4);
  if (dot < 0) return false;
  const second = Number(ip.slice(4, dot));
  return second >= 64 && second <= 127;
}

/** The first three 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Prefix48(ip: string): [number, number, number] | null {
  const zone = ip.indexOf('%');
  const addr = zone >= 0 ? ip.slice(0, zone) : ip;
  if (!isIPv6(addr)) return null;
  const [head = '', tail] = addr.split('::', 2);
  const headGroups = head === '' ? [] : head.split(':');
  let groups = headGroups;
  if (tail !== undefined) {
    const tailGroups = tail === '' ? [] : tail.split(':');
    // An embedded dotted IPv4 (only ever last) stands for two groups.
    const tailCount = tailGroups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
    const zeros = new Array<string>(Math.max(0, 8 - headGroups.length - tailCount)).fill('0');
    groups = headGroups.concat(zeros, tailGroups);
  }
  const take = groups.slice(0, 3).map((g) => (g.includes('.') ? Number.NaN : Number.parseInt(g, 16)));
  const [a = Number.NaN, b = Number.NaN, c = Number.NaN] = take;
  if (Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(c)) return null;
  return [a, b, c];
}

/** True when `ip` is a Tailscale address (IPv4-mapped IPv6 counts as its IPv4). */
export function isTailnetAddress(ip: string): boolean {
  const plain = unmapIPv4(ip);
  if (isIPv4(plain)) return ipv4InCgnat(plain);
  const p = ipv6Prefix48(plain);
  return p !== null && p[0] === 0xfd7a && p[1] === 0x115c && p[2] === 0xa1e0;
}

/** True for names under ts.net (MagicDNS / Funnel names). Expects a lower-case name without trailing dot. */
export function isTailnetDomain(qname: string): boolean {
  return qname.endsWith('.ts.net');
}

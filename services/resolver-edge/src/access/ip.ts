// Allocation-free parsing of the client address strings node:dgram/net hand us.
// ipaddr.js parses the configuration once; per query we only need the numeric
// value, and a general-purpose parser (objects, regexes) per datagram would cost
// more than the whole ACL decision.

/**
 * Parses dotted-quad IPv4 into an unsigned 32-bit number, or -1. Accepts the
 * canonical form the socket layer produces (no leading '+', 1–3 digits per octet).
 */
export function parseIpv4(s: string, start = 0, end = s.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const groups = new Uint16Array(8);

/**
 * Parses an IPv6 literal (RFC 4291 §2.2: '::' once, optional trailing dotted
 * IPv4, optional '%zone' which is ignored) into four big-endian 32-bit words
 * written to `out`. Returns false when it is not one.
 */
export function parseIpv6(s: string, out: Uint32Array): boolean {
  let end = s.indexOf('%');
  if (end < 0) end = s.length;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && s.charCodeAt(0) === 0x3a && s.charCodeAt(1) === 0x3a) {
    gap = 0;
    i = 2;
  } else if (end === 0 || s.charCodeAt(0) === 0x3a) {
    return false;
  }
  while (i < end) {
    let j = i;
    let v = 0;
    while (j < end) {
      const d = hexValue(s.charCodeAt(j));
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 0x2e) {
      // Embedded IPv4 (RFC 4291 §2.5.5): only as the last 32 bits.
      if (n > 6) return false;
      const v4 = parseIpv4(s, i, end);
      if (v4 < 0) return false;
      groups[n++] = Math.floor(v4 / 65536);
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    const digits = j - i;
    if (digits === 0 || digits > 4 || n >= 8) return false;
    groups[n++] = v;
    if (j === end) {
      i = end;
      break;
    }
    if (s.charCodeAt(j) !== 0x3a) return false;
    j++;
    if (j < end && s.charCodeAt(j) === 0x3a) {
      if (gap >= 0) return false;
      gap = n;
      j++;
    } else if (j === end) {
      return false;
    }
    i = j;
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const tail = n - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k] ?? 0;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = (((groups[2 * w] ?? 0) << 16) | (groups[2 * w + 1] ?? 0)) >>> 0;
  return true;
}

/** ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): a dual-stack socket's IPv4 client. */
export function isIpv4Mapped(words: Uint32Array): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

export type ParsedFamily = 4 | 6;

/**
 * Parses a client address into `words` (IPv6: four words; IPv4 and IPv4-mapped
 * IPv6: the address in words[3]). Returns the effective family, or 0.
 */
export function parseClientAddress(address: string, words: Uint32Array): ParsedFamily | 0 {
  // The family node reports is not trusted on its own: a dual-stack socket
  // reports mapped IPv4 clients as IPv6, so the string decides.
  if (address.indexOf(':') < 0) {
    const v4 = parseIpv4(address);
    if (v4 < 0) return 0;
    words[3] = v4;
    return 4;
  }
  if (!parseIpv6(address, words)) return 0;
  return isIpv4Mapped(words) ? 4 : 6;
}

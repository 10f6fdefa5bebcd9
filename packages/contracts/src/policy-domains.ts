// The domain rule of blocklists, allowlists and custom domains, shared so that a
// domain records-api stores (policy_entries, PolicyChangeEvent.domain) is one
// resolver-edge matches, and a list line resolver-edge parses follows the same rule.
import { domainToASCII } from 'node:url';

/**
 * Lower-case ASCII form (IDNA via node's WHATWG domainToASCII, RFC 5891), no
 * trailing dot; null when not a host name (empty label, > 63/253 octets,
 * characters other than letters, digits, '-' and '_', or an all-numeric TLD,
 * which is an IP address, RFC 3696 §2). One pass over the characters: a
 * million-line list goes through here once per reload.
 */
export function normalizePolicyDomain(raw: string, idn = true): string | null {
  let end = raw.length;
  if (end > 0 && raw.charCodeAt(end - 1) === 0x2e) end--;
  if (end === 0) return null;
  let labelLength = 0;
  let numericLabel = true;
  let upper = false;
  for (let i = 0; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2e) {
      if (labelLength === 0) return null;
      labelLength = 0;
      numericLabel = true;
      continue;
    }
    if (c >= 0x80) {
      if (!idn) return null;
      const ascii = domainToASCII(raw.slice(0, end));
      return ascii === '' ? null : normalizePolicyDomain(ascii, false);
    }
    if (c >= 0x61 && c <= 0x7a) numericLabel = false;
    else if (c >= 0x41 && c <= 0x5a) {
      numericLabel = false;
      upper = true;
    } else if (c === 0x2d || c === 0x5f) numericLabel = false;
    else if (c < 0x30 || c > 0x39) return null;
    if (++labelLength > 63) return null;
  }
  if (labelLength === 0 || numericLabel || end > 253) return null;
  const name = end === raw.length ? raw : raw.slice(0, end);
  return upper ? name.toLowerCase() : name;
}

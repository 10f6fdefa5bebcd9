// The names a presence device is published under, as every writer of hostname mappings
// (presence-service, records-api's /api/v1/presence/mappings, `ghostdns haddns map`) must
// shape them: a name stored through any of them is one presence-service publishes unchanged.

const MAX_LABEL = 63;
/** One DNS label (LDH rule, RFC 1123 §2.1), lower-case: names compare against lower-case qnames. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** presence_peer_mappings.custom_domain's CHECK: room left for `<label>.<interface>.` in front within a name's 253. */
export const MAX_CUSTOM_DOMAIN = 200;

/**
 * A DNS label (RFC 1123 LDH, lower-case, 1-63 characters) made from a human
 * name: accents dropped, every run of other characters turned into one '-'.
 * Null when nothing usable is left ("" or only punctuation).
 */
export function sanitizeLabel(raw: string): string | null {
  const label = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, MAX_LABEL)
    .replace(/-+$/, '');
  return label === '' ? null : label;
}

/**
 * What keeps `name` from being a lower-case DNS name (the presence suffix, a custom domain) of at
 * most `maxLength` characters, or null when it is one.
 */
export function dnsNameProblem(name: string, maxLength: number): string | null {
  if (name.length > maxLength) return `is longer than ${maxLength} characters`;
  if (name !== name.toLowerCase()) return `"${name}" must be lower-case`;
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '') return `"${name}" has an empty label (no leading, trailing or double dots)`;
    if (!DNS_LABEL.test(label)) {
      return `"${name}" has an invalid label "${label}" (1-63 of a-z 0-9 -, not starting or ending with -)`;
    }
  }
  // RFC 3696 §2: a top-level label is never all-numeric (it would read as an address).
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return `"${name}" ends in an all-numeric label`;
  return null;
}

/**
 * A custom domain as a mapping stores it: lower-cased, without its root dot ("Home.Example." ->
 * "home.example"), with what keeps it from being one (never guessed into shape: a domain is
 * someone's, unlike a device's display name).
 */
export function normalizeCustomDomain(raw: string): { readonly domain: string; readonly problem: string | null } {
  const domain = raw.trim().toLowerCase().replace(/\.$/, '');
  return { domain, problem: dnsNameProblem(domain, MAX_CUSTOM_DOMAIN) };
}

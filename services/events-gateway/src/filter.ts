import { isIP } from 'node:net';
import { LIVE_EVENT_TYPES } from './live-event.js';
import type { LiveEvent, LiveEventType } from './live-event.js';
import { unmapIPv4 } from './tailnet.js';

/**
 * Per-connection filter from the upgrade URL's query string:
 *   ?types=tailscale_query,device_online   only these event types
 *   ?client=1.2.3.4[,fd7a:...]              only events about these addresses
 * Both may repeat (values are unioned); other parameters are ignored.
 * An empty filter (no `types`, no `client`) passes everything.
 */
export interface LiveFilter {
  readonly types: ReadonlySet<LiveEventType> | null;
  readonly clients: ReadonlySet<string> | null;
}

export type FilterParseResult = { ok: true; filter: LiveFilter | null } | { ok: false; reason: string };

const MAX_CLIENTS = 64;
const KNOWN_TYPES: ReadonlySet<string> = new Set(LIVE_EVENT_TYPES);

function isLiveEventType(s: string): s is LiveEventType {
  return KNOWN_TYPES.has(s);
}

/** Canonical text of an IP (lower-case, compressed IPv6, IPv4-mapped unmapped), or null when not an IP. */
export function canonicalIp(raw: string): string | null {
  const s = unmapIPv4(raw.trim());
  const family = isIP(s);
  if (family === 4) return s;
  if (family === 6) {
    // WHATWG URL serialises IPv6 hosts in RFC 5952 canonical form.
    const host = new URL(`http://[${s}]/`).hostname;
    return unmapIPv4(host.slice(1, -1));
  }
  return null;
}

function splitValues(all: string[]): string[] {
  return all.flatMap((v) => v.split(',')).map((v) => v.trim());
}

/** Parses the query string of a request URL such as "/ws/events?types=dns_query". */
export function parseLiveFilter(requestUrl: string): FilterParseResult {
  let params: URLSearchParams;
  try {
    params = new URL(requestUrl, 'http://localhost').searchParams;
  } catch {
    return { ok: false, reason: 'malformed request URL' };
  }

  let types: Set<LiveEventType> | null = null;
  if (params.has('types')) {
    types = new Set();
    for (const v of splitValues(params.getAll('types'))) {
      if (!isLiveEventType(v)) {
        return { ok: false, reason: `unknown type "${v.slice(0, 24)}"` };
      }
      types.add(v);
    }
  }

  let clients: Set<string> | null = null;
  if (params.has('client')) {
    clients = new Set();
    for (const v of splitValues(params.getAll('client'))) {
      const ip = canonicalIp(v);
      if (ip === null) return { ok: false, reason: `client "${v.slice(0, 45)}" is not an IP address` };
      clients.add(ip);
    }
    if (clients.size > MAX_CLIENTS) return { ok: false, reason: `at most ${MAX_CLIENTS} client addresses` };
  }

  if (types === null && clients === null) return { ok: true, filter: null };
  return { ok: true, filter: { types, clients } };
}

/** Strips a prefix length ("100.64.0.7/32" -> "100.64.0.7"). */
function hostPart(address: string): string {
  const slash = address.indexOf('/');
  return slash < 0 ? address : address.slice(0, slash);
}

/**
 * True when `event` passes `filter`. The client filter matches a query's or
 * security event's `client`, and a presence event when one of its addresses is
 * one of the filtered clients.
 */
export function matchesFilter(filter: LiveFilter, event: LiveEvent): boolean {
  if (filter.types !== null && !filter.types.has(event.type)) return false;
  const clients = filter.clients;
  if (clients === null) return true;
  switch (event.type) {
    case 'dns_query':
    case 'tailscale_query':
    case 'security_event':
      return clients.has(event.client);
    case 'device_online':
    case 'device_offline':
      return event.addresses.some((a) => {
        const ip = canonicalIp(hostPart(a));
        return ip !== null && clients.has(ip);
      });
  }
}

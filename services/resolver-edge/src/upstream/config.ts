// dns.upstreams, dns.tlsUpstreams and dns.forwardZones to pinned upstreams.
// Host names are resolved once, at start: nothing is ever forwarded to an
// address that was not configured.
import { lookup } from 'node:dns/promises';
import { ipFamily, parseHostPort } from '../dns/address.js';
import { tlsUpstream, upstream, type ForwardZone, type Upstream } from '../dns/forwarder.js';
import { ResolverEdgeError } from '../errors.js';
import { normalizeDomain } from './forward-zones.js';

export type AddressLookup = (host: string) => Promise<string>;

const systemLookup: AddressLookup = async (host) => (await lookup(host)).address;

async function pin(value: string, lookupHost: AddressLookup): Promise<{ address: string; port: number; named: boolean }> {
  const hp = parseHostPort(value);
  if (ipFamily(hp.host) !== null) return { address: hp.host, port: hp.port, named: false };
  try {
    return { address: await lookupHost(hp.host), port: hp.port, named: true };
  } catch (err) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_UPSTREAM_UNRESOLVABLE', `cannot resolve upstream ${value}`, { cause: err });
  }
}

/** `host:port` (plain DNS; TCP when truncated). A named host keeps its configured text as label. */
export async function resolvePlainUpstream(value: string, lookupHost: AddressLookup = systemLookup): Promise<Upstream> {
  const p = await pin(value, lookupHost);
  const up = upstream(p.address, p.port);
  return p.named ? { ...up, label: value } : up;
}

/**
 * `host:port` or `host:port#tls-name` (DoT, RFC 7858). Without `#name` a named
 * host is its own TLS name and an IP must appear in the certificate's IP SANs.
 */
export async function resolveTlsUpstream(value: string, lookupHost: AddressLookup = systemLookup): Promise<Upstream> {
  const hash = value.indexOf('#');
  const hostPort = hash < 0 ? value : value.slice(0, hash);
  const name = hash < 0 ? undefined : value.slice(hash + 1);
  if (name === '') throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_ADDRESS', `empty TLS name in ${value}`);
  const p = await pin(hostPort, lookupHost);
  const tlsName = name ?? (p.named ? parseHostPort(hostPort).host : undefined);
  const up = tlsUpstream(p.address, p.port, tlsName);
  return p.named ? { ...up, label: `tls://${hostPort}` } : up;
}

/** `domain=host:port` entries; several entries for one domain make one group, in order. */
export async function resolveForwardZones(values: readonly string[], lookupHost: AddressLookup = systemLookup): Promise<ForwardZone[]> {
  const zones = new Map<string, Upstream[]>();
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_FORWARD_ZONE', `expected domain=host:port: ${value}`);
    const domain = normalizeDomain(value.slice(0, eq));
    const up = await resolvePlainUpstream(value.slice(eq + 1), lookupHost);
    zones.set(domain, [...(zones.get(domain) ?? []), up]);
  }
  return [...zones].map(([domain, upstreams]) => ({ domain, upstreams }));
}

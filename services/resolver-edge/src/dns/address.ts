import { isIP } from 'node:net';
import { ResolverEdgeError } from '../errors.js';

export type IpFamily = 'IPv4' | 'IPv6';

export interface HostPort {
  host: string;
  port: number;
}

export interface SocketAddress extends HostPort {
  family: IpFamily;
}

/** Parses config's "host:port" / "[v6]:port". */
export function parseHostPort(value: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_ADDRESS', `not a host:port address: ${value}`);
  }
  const host = m[1] ?? m[2] ?? '';
  if (m[1] !== undefined && isIP(host) !== 6) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_ADDRESS', `not an IPv6 address: ${value}`);
  }
  return { host, port };
}

/** An IP literal with its family, or null for a host name. */
export function ipFamily(host: string): IpFamily | null {
  const v = isIP(host);
  if (v === 4) return 'IPv4';
  if (v === 6) return 'IPv6';
  return null;
}

export function formatHostPort(addr: HostPort): string {
  return isIP(addr.host) === 6 ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

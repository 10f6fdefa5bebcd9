// The seed's service auto-discovery registers records with `metadata.health_check`
// ("/health", "/api/health") and optionally `metadata.port`: each value of such a
// record is a service instance, probed over HTTP, and withheld from answers while it
// fails. This file is the pure part: what a record asks to be probed, and where.
import { isIPv6 } from 'node:net';
import type { Metadata, RecordType } from '../records/validation.js';

/** How a record's values are checked. */
export type HealthCheckSpec =
  /** GET http://<value>:<port><path> per value. */
  | { readonly kind: 'path'; readonly path: string; readonly port: number }
  /** GET this URL; one verdict shared by every value (the check names no value). */
  | { readonly kind: 'url'; readonly url: string };

const DEFAULT_PORT = 80;
const MAX_PATH = 512;

/**
 * The health check `metadata` asks for: null when there is none, a string saying what is wrong
 * when there is one that cannot be probed (validation turns it into a 400 naming the field).
 */
export function healthCheckOf(metadata: Metadata): HealthCheckSpec | null | string {
  const check = metadata['health_check'];
  if (check === undefined) return null;
  if (typeof check !== 'string') return 'must be a path such as "/health" or an http(s) URL';
  const portValue = metadata['port'];
  const port = portValue === undefined ? DEFAULT_PORT : Number(portValue);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return 'needs metadata.port to be a port number (1-65535)';
  if (check.startsWith('/')) {
    // eslint-disable-next-line no-control-regex
    if (check.length > MAX_PATH || /[\s\u0000-\u001f\u007f#]/.test(check)) return 'must be a URL path without spaces or fragments';
    return { kind: 'path', path: check, port };
  }
  let url: URL;
  try {
    url = new URL(check);
  } catch {
    return 'must be a path such as "/health" or an http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be a path such as "/health" or an http(s) URL';
  return { kind: 'url', url: url.href };
}

/** The host a value of this type names, or null for types that name no service instance. */
function hostOf(type: RecordType, value: string): { host: string; port: number | null } | null {
  switch (type) {
    case 'A':
    case 'AAAA':
    case 'CNAME':
      return { host: value, port: null };
    case 'SRV': {
      // RFC 2782: "<priority> <weight> <port> <target>"; the instance is target:port.
      const [, , port, target] = value.split(' ');
      return target === undefined ? null : { host: target, port: Number(port) };
    }
    case 'TXT':
    case 'MX':
    case 'PTR':
      return null;
  }
}

/** The URL that decides whether `value` answers; null when the value is not probed (always answered). */
export function probeUrl(spec: HealthCheckSpec, type: RecordType, value: string): string | null {
  if (spec.kind === 'url') return spec.url;
  const target = hostOf(type, value);
  if (target === null) return null;
  const host = isIPv6(target.host) ? `[${target.host}]` : target.host;
  return `http://${host}:${target.port ?? spec.port}${spec.path}`;
}

import { z } from 'zod';
import { configSchema, HOST_PORT_PATTERN } from './schema.js';

/** How a value is written in an environment variable. */
export type ConfigValueKind = 'string' | 'url' | 'host:port' | 'integer' | 'number' | 'boolean' | 'enum' | 'list';

export interface ConfigKey {
  /** Dotted key as in YAML: `dns.upstreamTimeoutMs`. */
  readonly key: string;
  readonly section: string;
  readonly field: string;
  /** GHOSTDNS_<SECTION>_<KEY>. */
  readonly env: string;
  /** Standard alias accepted besides `env` (KAFKA_BROKERS, DATABASE_URL, ...). */
  readonly alias?: string;
  readonly kind: ConfigValueKind;
  /** For lists: the kind of each element. */
  readonly elementKind?: Exclude<ConfigValueKind, 'list'>;
  /** For enums: the allowed values. */
  readonly values?: readonly string[];
  /** Human-readable type: `host:port`, `list of host:port`, `integer 50..30000`, `one of info|debug`. */
  readonly type: string;
  /** Default as shown to humans (`~/.ghostdns`), or undefined when the key is unset by default. */
  readonly default: string | undefined;
  readonly description: string;
  /** True when the value may carry a secret (a URL with a password); masked by describeConfig. */
  readonly secret: boolean;
}

const ALIASES: Readonly<Record<string, string>> = {
  'kafka.brokers': 'KAFKA_BROKERS',
  'database.url': 'DATABASE_URL',
  'redis.url': 'REDIS_URL',
  'schemaRegistry.url': 'SCHEMA_REGISTRY_URL',
};

const DEFAULT_DISPLAY: Readonly<Record<string, string>> = {
  'data.dir': '~/.ghostdns',
};

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  'node.id': 'Identity of this node in events and metrics.',
  'node.pop': 'Point of presence (site) this node belongs to.',
  'dns.listen': 'UDP/TCP address the DNS resolver listens on.',
  'dns.upstreams': 'Upstream resolvers to forward to (empty: no forwarding).',
  'dns.tcp': 'Also serve DNS over TCP on dns.listen.',
  'dns.upstreamTimeoutMs': 'Timeout for one upstream query, in milliseconds.',
  'http.listen': 'HTTP address for the API, /healthz, /readyz and /metrics.',
  'data.dir': 'Directory for local state (the embedded PostgreSQL in standalone mode).',
  'api.corsOrigins': 'Origins allowed to call the REST API from a browser (CORS); empty: CORS off.',
  'api.bodyLimitBytes': 'Largest REST API request body, in bytes (larger: 413).',
  'api.rateLimitPerMinute': 'REST API requests per minute per token (or per client address without one); 0: no limit.',
  'api.resultCacheSeconds': 'Seconds a stats, top-N, audit or device-activity result is served from memory before it is read again in the background; 0: every request reads the rollups.',
  'api.healthCheckInterval': 'Seconds between HTTP probes of records with metadata.health_check (unhealthy values are withheld); 0: off.',
  'kafka.brokers': 'Kafka bootstrap brokers (required in distributed mode).',
  'kafka.clientId': 'Kafka client id prefix.',
  'database.url': 'PostgreSQL/TimescaleDB URL (standalone without it: embedded PostgreSQL).',
  'redis.url': 'Redis URL.',
  'schemaRegistry.url': 'Confluent Schema Registry URL (unset: the built-in schema table).',
  'presence.wireguardInterfaces': 'WireGuard interfaces to watch for peer handshakes.',
  'presence.suffix': 'DNS suffix for presence-aware names.',
  'presence.pollInterval': 'Seconds between WireGuard polls.',
  'presence.handshakeThreshold': 'Seconds since the last handshake after which a peer is offline.',
  'presence.interfaceThresholds': 'Per-interface handshake thresholds, as interface=seconds (overrides presence.handshakeThreshold).',
  'presence.wireguardConfigDir': 'Directory of the wg-quick configs (<interface>.conf) whose "# Name =" comments name peers.',
  'presence.includeOffline': 'Also answer <name>.offline.<suffix> for devices last reported offline.',
  'presence.tailscaleSource': 'Tailscale devices as presence: off, api (the API v2 devices endpoint) or cli (local `tailscale status --json`).',
  'presence.tailscaleTailnet': 'Tailnet whose devices the API lists ("-": the tailnet of the key or OAuth client).',
  'presence.tailscaleApiKey': 'Tailscale API access token (tskey-api-…) for presence.tailscaleSource=api.',
  'presence.tailscaleOAuthClientId': 'Tailscale OAuth client id (with its secret, instead of an API key; scope devices:core:read).',
  'presence.tailscaleOAuthClientSecret': 'Tailscale OAuth client secret (tskey-client-…).',
  'presence.tailscaleApiUrl': 'Base URL of the Tailscale API.',
  'log.level': 'Log level.',
  'dns.zoneFiles': 'Authoritative zones from BIND zone files, as zone:path.',
  'dns.secondaryZones': 'Secondary zones pulled by AXFR, as zone:host:port.',
  'dns.allowTransfer': 'CIDRs allowed to transfer our zones (AXFR); empty: none.',
  'dns.forwardZones': 'Conditional forwarding, as domain=host:port (e.g. the tailnet to 100.100.100.100:53).',
  'dns.tlsUpstreams': 'Upstreams reached over DNS-over-TLS, host:port or host:port#tls-name.',
  'dns.tcpIdleTimeoutMs': 'Idle timeout of a client TCP connection, in milliseconds.',
  'dns.tcpMaxConnections': 'Most concurrent client TCP connections.',
  'dns.tcpMaxQueriesPerConnection': 'Most queries answered on one TCP connection before it is closed.',
  'dns.workers': 'Worker processes sharing the UDP socket (1: answer in this process).',
  'dns.eventWire': 'Attach the raw wire query and response to every event.',
  'cache.maxBytes': 'Upper bound of the answer cache, in bytes (BIND max-cache-size).',
  'cache.minTtl': 'Lowest TTL an answer is cached for, in seconds (BIND min-cache-ttl).',
  'cache.maxTtl': 'Highest TTL an answer is cached for, in seconds (BIND max-cache-ttl).',
  'cache.negativeMaxTtl': 'Highest TTL of a cached NXDOMAIN/NODATA (RFC 2308), in seconds.',
  'cache.serveStale': 'Answer from expired entries when upstreams fail (RFC 8767).',
  'cache.staleTtl': 'How long past expiry an entry may still be served stale, in seconds.',
  'cache.prefetch': 'Refresh popular names shortly before they expire.',
  'cache.shared': 'Share cached answers with this PoP\'s replicas through Redis.',
  'acl.allowQuery': 'CIDRs that may query at all; others get REFUSED.',
  'acl.allowRecursion': 'CIDRs that may use recursion (forwarding and cache); others get REFUSED.',
  'rrl.responsesPerSecond': 'Response rate limit per client prefix (0: off), BIND RRL style.',
  'rrl.window': 'RRL accounting window, in seconds.',
  'rrl.slip': 'Every Nth rate-limited response goes out truncated instead of dropped (0: drop all).',
  'rrl.ipv4PrefixLength': 'IPv4 prefix length that RRL groups clients by.',
  'rrl.ipv6PrefixLength': 'IPv6 prefix length that RRL groups clients by.',
  'policy.blocklists': 'Blocklists: files or URLs in hosts, adblock or plain-domain format.',
  'policy.allowlists': 'Allowlists in the same formats; they override blocklists.',
  'policy.rpzFiles': 'Response Policy Zone files (QNAME triggers).',
  'policy.blockResponse': 'Answer to a blocked name: nxdomain, null (0.0.0.0 / ::) or refused.',
  'policy.reloadInterval': 'Seconds between blocklist reloads (0: only on SIGHUP).',
  'dot.listen': 'DNS-over-TLS listener (RFC 7858), unset: off.',
  'doh.listen': 'DNS-over-HTTPS listener (RFC 8484), unset: off.',
  'doh.path': 'DNS-over-HTTPS path.',
  'tls.cert': 'PEM certificate file for DoT and DoH.',
  'tls.key': 'PEM private key file for DoT and DoH.',
  'tls.upstreamCa': "PEM bundle of CA certificates trusted for DoT upstreams (dns.tlsUpstreams) besides the system's.",
  'tap.dnstap': 'Listen for dnstap Frame Streams from BIND9/Unbound/Knot/CoreDNS: `unix:/path/to.sock` or `tcp:host:port`.',
  'tap.bindQuerylog': 'Tail this BIND9 query log (queries.log) and emit its queries as events.',
  'tap.bindQueryErrorsLog': 'BIND9 query-errors log to tail with it (default: query-errors.log beside tap.bindQuerylog).',
  'tap.bindTimezone': "IANA time zone of the BIND logs' local timestamps (default: this process's zone).",
  'spool.dir': 'Disk spool for events while the bus is down (default: <data.dir>/spool).',
  'spool.maxBytes': 'Upper bound of the event spool, in bytes; beyond it events are counted and dropped.',
  'spool.fsyncIntervalMs': 'How often the spool is fsynced, in milliseconds.',
  'analytics.rawRetentionDays': 'Days dns_queries and the per-minute rollup are kept (TimescaleDB policy / PostgreSQL partition drop).',
  'analytics.hourlyRetentionDays': 'Days the hourly rollups (per domain, per client) are kept; dns_daily_stats is kept.',
  'analytics.compressAfterDays': 'TimescaleDB: compress raw dns_queries chunks older than this many days.',
  'analytics.rollupIntervalSeconds': 'PostgreSQL: seconds between rollup refreshes by the ingest worker.',
};

const SECRET_NAME = /password|passwd|token|secret|key/i;

/** camelCase -> UPPER_SNAKE (`upstreamTimeoutMs` -> `UPSTREAM_TIMEOUT_MS`). */
export function toUpperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function envNameFor(section: string, field: string): string {
  return `GHOSTDNS_${toUpperSnake(section)}_${toUpperSnake(field)}`;
}

interface Unwrapped {
  inner: z.ZodTypeAny;
  defaultValue: unknown;
  hasDefault: boolean;
}

function unwrap(schema: z.ZodTypeAny): Unwrapped {
  let current = schema;
  let defaultValue: unknown;
  let hasDefault = false;
  for (;;) {
    if (current instanceof z.ZodDefault) {
      if (!hasDefault) {
        hasDefault = true;
        defaultValue = (current._def as z.ZodDefaultDef).defaultValue();
      }
      current = (current._def as z.ZodDefaultDef).innerType;
    } else if (current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodTypeAny;
    } else if (current instanceof z.ZodEffects) {
      current = current.innerType() as z.ZodTypeAny;
    } else {
      return { inner: current, defaultValue, hasDefault };
    }
  }
}

interface ScalarInfo {
  kind: Exclude<ConfigValueKind, 'list'>;
  type: string;
  values?: readonly string[];
}

function describeScalar(schema: z.ZodTypeAny): ScalarInfo {
  const { inner } = unwrap(schema);
  if (inner instanceof z.ZodString) {
    const checks = inner._def.checks;
    if (checks.some((c) => c.kind === 'regex' && c.regex.source === HOST_PORT_PATTERN.source)) {
      return { kind: 'host:port', type: 'host:port' };
    }
    if (checks.some((c) => c.kind === 'url')) return { kind: 'url', type: 'url' };
    return { kind: 'string', type: 'string' };
  }
  if (inner instanceof z.ZodNumber) {
    const isInt = inner.isInt;
    const min = inner.minValue;
    const max = inner.maxValue;
    const range =
      min !== null && max !== null ? ` ${min}..${max}` : max !== null ? ` <= ${max}` : min !== null ? ` >= ${min}` : '';
    const positive = inner._def.checks.some((c) => c.kind === 'min' && c.value === 0 && !c.inclusive);
    const base = isInt ? 'integer' : 'number';
    return {
      kind: isInt ? 'integer' : 'number',
      type: positive && max !== null ? `${base} > 0, <= ${max}` : `${base}${range}`,
    };
  }
  if (inner instanceof z.ZodBoolean) return { kind: 'boolean', type: 'boolean' };
  if (inner instanceof z.ZodEnum) {
    const values = (inner.options as string[]).slice();
    return { kind: 'enum', type: `one of ${values.join('|')}`, values };
  }
  throw new Error(`config schema: unsupported field type ${inner.constructor.name}`);
}

function displayDefault(key: string, unwrapped: Unwrapped): string | undefined {
  const display = DEFAULT_DISPLAY[key];
  if (display !== undefined) return display;
  if (!unwrapped.hasDefault || unwrapped.defaultValue === undefined) return undefined;
  const value = unwrapped.defaultValue;
  if (Array.isArray(value)) return value.map((item) => JSON.stringify(item)).join(',');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function buildKeys(): readonly ConfigKey[] {
  const keys: ConfigKey[] = [];
  for (const [section, sectionSchema] of Object.entries(configSchema.shape)) {
    const { inner: sectionObject } = unwrap(sectionSchema as z.ZodTypeAny);
    if (!(sectionObject instanceof z.ZodObject)) throw new Error(`config schema: section ${section} is not an object`);
    for (const [field, fieldSchema] of Object.entries(sectionObject.shape as Record<string, z.ZodTypeAny>)) {
      const key = `${section}.${field}`;
      const unwrapped = unwrap(fieldSchema);
      let info: ConfigKey;
      const common = {
        key,
        section,
        field,
        env: envNameFor(section, field),
        ...(ALIASES[key] !== undefined ? { alias: ALIASES[key] } : {}),
        default: displayDefault(key, unwrapped),
        description: DESCRIPTIONS[key] ?? '',
      };
      if (unwrapped.inner instanceof z.ZodArray) {
        const element = describeScalar(unwrapped.inner.element as z.ZodTypeAny);
        info = {
          ...common,
          kind: 'list',
          elementKind: element.kind,
          type: `list of ${element.type} (comma-separated in env)`,
          secret: element.kind === 'url' || SECRET_NAME.test(field),
        };
      } else {
        const scalar = describeScalar(unwrapped.inner);
        info = {
          ...common,
          kind: scalar.kind,
          type: scalar.type,
          ...(scalar.values ? { values: scalar.values } : {}),
          secret: scalar.kind === 'url' || SECRET_NAME.test(field),
        };
      }
      keys.push(Object.freeze(info));
    }
  }
  return Object.freeze(keys);
}

let cachedKeys: readonly ConfigKey[] | undefined;

/** Every configuration key with its env name, alias, type, default and description. */
export function listConfigKeys(): readonly ConfigKey[] {
  cachedKeys ??= buildKeys();
  return cachedKeys;
}

export function isSecretKeyName(name: string): boolean {
  return SECRET_NAME.test(name);
}

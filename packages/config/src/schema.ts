import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** host:port, IPv6 hosts in brackets ([::1]:53). Exported so config tooling can recognise the type. */
export const HOST_PORT_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/;

const hostPort = z
  .string()
  .regex(HOST_PORT_PATTERN, 'expected host:port (IPv6 as [addr]:port)')
  .refine(
    (value) => !HOST_PORT_PATTERN.test(value) || Number(value.slice(value.lastIndexOf(':') + 1)) <= 65_535,
    'port must be 0-65535',
  );

/** Default data directory, resolved when the config is parsed (not when this module loads). */
export function defaultDataDir(): string {
  return join(homedir(), '.ghostdns');
}

/**
 * The one configuration schema. Sections map to YAML top-level keys and to
 * environment variables GHOSTDNS_<SECTION>_<KEY> (camelCase keys become
 * UPPER_SNAKE: dns.upstreamTimeoutMs <- GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS).
 * KAFKA_BROKERS, DATABASE_URL, REDIS_URL and SCHEMA_REGISTRY_URL are accepted
 * as the standard aliases of kafka.brokers, database.url, redis.url and
 * schemaRegistry.url.
 */
export const configSchema = z
  .object({
    node: z
      .object({
        id: z.string().min(1).default('ghostdns-1'),
        pop: z.string().min(1).default('default'),
      })
      .strict()
      .default({}),
    dns: z
      .object({
        listen: hostPort.default('127.0.0.1:5353'),
        upstreams: z.array(hostPort).default([]),
        tcp: z.boolean().default(true),
        upstreamTimeoutMs: z.number().int().min(50).max(30_000).default(2000),
        /** `zone:path` pairs: authoritative zones from BIND zone files. */
        zoneFiles: z.array(z.string().regex(/^[^:\s]+:.+$/, 'expected zone:path')).default([]),
        /** `zone:host:port` pairs: secondary zones pulled by AXFR from a primary. */
        secondaryZones: z.array(z.string().regex(/^[^:\s]+:.+:\d{1,5}$/, 'expected zone:host:port')).default([]),
        /** CIDRs allowed to AXFR our zones (RFC 5936); empty: none. */
        allowTransfer: z.array(z.string().min(1)).default([]),
        /** `domain=host:port` pairs: conditional forwarding per domain. */
        forwardZones: z.array(z.string().regex(/^[^=\s]+=.+:\d{1,5}$/, 'expected domain=host:port')).default([]),
        /** Upstreams reached over DNS-over-TLS (RFC 7858), `host:port` or `host:port#tls-name`. */
        tlsUpstreams: z.array(z.string().min(1)).default([]),
        tcpIdleTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
        tcpMaxConnections: z.number().int().min(1).max(1_000_000).default(1024),
        tcpMaxQueriesPerConnection: z.number().int().min(1).max(1_000_000).default(1000),
        /** Worker processes sharing the UDP socket (distributed mode); 1 = in-process. */
        workers: z.number().int().min(1).max(64).default(1),
        /** Attach raw wire query and response to every event. */
        eventWire: z.boolean().default(false),
      })
      .strict()
      .default({}),
    cache: z
      .object({
        maxBytes: z.number().int().min(0).default(256 * 1024 * 1024),
        minTtl: z.number().int().min(0).max(86_400).default(60),
        maxTtl: z.number().int().min(1).max(604_800).default(86_400),
        negativeMaxTtl: z.number().int().min(0).max(86_400).default(3_600),
        serveStale: z.boolean().default(true),
        staleTtl: z.number().int().min(0).max(604_800).default(86_400),
        prefetch: z.boolean().default(true),
        /** Share answers with the other replicas of this PoP through Redis (needs redis.url). */
        shared: z.boolean().default(false),
      })
      .strict()
      .default({}),
    acl: z
      .object({
        allowQuery: z.array(z.string().min(1)).default(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7']),
        allowRecursion: z.array(z.string().min(1)).default(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7']),
      })
      .strict()
      .default({}),
    rrl: z
      .object({
        /** Responses per second per client prefix; 0 disables response rate limiting. */
        responsesPerSecond: z.number().int().min(0).max(1_000_000).default(0),
        window: z.number().int().min(1).max(3_600).default(5),
        /** Every Nth limited response is sent truncated (TC) instead of dropped; 0 drops all. */
        slip: z.number().int().min(0).max(10).default(2),
        ipv4PrefixLength: z.number().int().min(8).max(32).default(24),
        ipv6PrefixLength: z.number().int().min(16).max(128).default(56),
      })
      .strict()
      .default({}),
    policy: z
      .object({
        /** Files or http(s) URLs in hosts, adblock (`||domain^`) or plain-domain format. */
        blocklists: z.array(z.string().min(1)).default([]),
        allowlists: z.array(z.string().min(1)).default([]),
        /** RPZ zone files (QNAME triggers: NXDOMAIN, NODATA, PASSTHRU, local data). */
        rpzFiles: z.array(z.string().min(1)).default([]),
        blockResponse: z.enum(['nxdomain', 'null', 'refused']).default('nxdomain'),
        /** Seconds between re-reads of blocklists; 0: only on SIGHUP. */
        reloadInterval: z.number().int().min(0).max(604_800).default(3_600),
      })
      .strict()
      .default({}),
    dot: z.object({ listen: hostPort.optional() }).strict().default({}),
    doh: z.object({ listen: hostPort.optional(), path: z.string().startsWith('/').default('/dns-query') }).strict().default({}),
    tls: z
      .object({
        cert: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
        /** PEM bundle of CAs trusted for DoT upstreams besides the system's (a private resolver's CA). */
        upstreamCa: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    spool: z
      .object({
        /** Where events wait while the bus is unreachable; default <data.dir>/spool. */
        dir: z.string().min(1).optional(),
        maxBytes: z.number().int().min(1024 * 1024).default(1024 * 1024 * 1024),
        fsyncIntervalMs: z.number().int().min(1).max(60_000).default(200),
      })
      .strict()
      .default({}),
    tap: z
      .object({
        /** dnstap Frame Streams listener: `unix:/path/to.sock` or `tcp:host:port`. */
        dnstap: z
          .string()
          .regex(/^(unix:\/.+|tcp:(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5})$/, 'expected unix:/absolute/path or tcp:host:port')
          .optional(),
        /** BIND9 query log (queries.log) to tail. */
        bindQuerylog: z.string().min(1).optional(),
        /** BIND9 query-errors log; default: query-errors.log beside bindQuerylog. */
        bindQueryErrorsLog: z.string().min(1).optional(),
        /** IANA zone the BIND logs' local timestamps are written in; default: this process's zone. */
        bindTimezone: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    http: z.object({ listen: hostPort.default('127.0.0.1:8080') }).strict().default({}),
    api: z
      .object({
        /** Origins allowed to call the REST API from a browser (CORS); empty: no CORS headers at all. */
        corsOrigins: z.array(z.string().url()).default([]),
        /** Largest request body the REST API accepts, in bytes; larger ones get 413. */
        bodyLimitBytes: z.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
        /** Requests per minute per API token (or per client address without one); 0: no limit. */
        rateLimitPerMinute: z.number().int().min(0).max(1_000_000).default(600),
        /** Seconds between probes of records registered with metadata.health_check; 0: no probes (every value answers). */
        healthCheckInterval: z.number().min(0).max(3600).default(10),
        /** Seconds a stats/top-N/audit/device-activity result is served before it is read again (stale-while-revalidate); 0: every request reads. */
        resultCacheSeconds: z.number().min(0).max(3600).default(5),
      })
      .strict()
      .default({}),
    data: z.object({ dir: z.string().min(1).default(defaultDataDir) }).strict().default({}),
    kafka: z
      .object({
        brokers: z.array(hostPort).default([]),
        clientId: z.string().min(1).default('ghostdns'),
      })
      .strict()
      .default({}),
    database: z.object({ url: z.string().url().optional() }).strict().default({}),
    analytics: z
      .object({
        /** dns_queries and the per-minute rollup are kept this many days. */
        rawRetentionDays: z.number().int().min(1).max(36_500).default(30),
        /** Hourly rollups are kept this many days; dns_daily_stats is kept. */
        hourlyRetentionDays: z.number().int().min(1).max(36_500).default(400),
        /** TimescaleDB: raw chunks older than this many days are compressed. */
        compressAfterDays: z.number().int().min(1).max(36_500).default(7),
        /** PostgreSQL: seconds between rollup refreshes by the ingest worker. */
        rollupIntervalSeconds: z.number().int().min(1).max(3_600).default(10),
      })
      .strict()
      .default({}),
    redis: z.object({ url: z.string().url().optional() }).strict().default({}),
    schemaRegistry: z.object({ url: z.string().url().optional() }).strict().default({}),
    presence: z
      .object({
        wireguardInterfaces: z.array(z.string().min(1)).default([]),
        suffix: z.string().min(1).default('vpn.local'),
        pollInterval: z.number().positive().max(3600).default(5),
        handshakeThreshold: z.number().positive().max(86_400).default(300),
        interfaceThresholds: z.array(z.string().min(1)).default([]),
        wireguardConfigDir: z.string().min(1).default('/etc/wireguard'),
        /** Also answer `<name>.offline.<suffix>` for devices last reported offline (the seed's "include offline peers"). */
        includeOffline: z.boolean().default(false),
        /** Tailscale devices as presence: off, the API v2 devices endpoint, or the local `tailscale status --json`. */
        tailscaleSource: z.enum(['off', 'api', 'cli']).default('off'),
        /** Tailnet name for the API ("-": the tailnet of the API key or OAuth client). */
        tailscaleTailnet: z.string().min(1).default('-'),
        tailscaleApiKey: z.string().min(1).optional(),
        tailscaleOAuthClientId: z.string().min(1).optional(),
        tailscaleOAuthClientSecret: z.string().min(1).optional(),
        tailscaleApiUrl: z.string().url().default('https://api.tailscale.com'),
      })
      .strict()
      .default({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .default({}),
  })
  .strict();

export type GhostConfigInput = z.input<typeof configSchema>;
export type GhostConfig = Readonly<z.output<typeof configSchema>>;

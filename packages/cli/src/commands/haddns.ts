import { writeFile } from 'node:fs/promises';
import type { EventPublisher } from '@ghostdns/bus';
import { ConfigError, maskUrl, type GhostConfig } from '@ghostdns/config';
import { createLogger, createMetricsRegistry, type Logger } from '@ghostdns/observability';
import type { PeerMappingStore, PeerObservation, PresencePlan, PresenceSettings, WgDumpReader } from '@ghostdns/presence-service';
import type { KeyValueStore } from '@ghostdns/runtime';
import { ExitCode, type Command, type CommandContext } from '../types.js';
import { openCommandDatabase } from './database.js';
import { loadConfigOrReport, stringOption } from './shared.js';

// The seed's HADDNS management commands (haddns_setup, haddns_update [--dry-run --verbose],
// generate_dnsmasq_config, and the admin's hostname mappings as `haddns map`) over the same
// sources, state machine and mappings table presence-service uses.

export interface HaddnsDependencies {
  /** Replaces `wg show all dump` (tests). */
  readonly dump?: WgDumpReader;
}

/** Warnings (malformed dump lines, Redis, Kafka) go to stderr: stdout is the command's output (a dnsmasq config, say). */
function haddnsLogger(ctx: CommandContext): Logger {
  return createLogger({ level: 'warn', name: 'ghostdns-haddns', destination: { write: (line: string) => ctx.io.stderr(line) } });
}

interface OpenedMappings {
  readonly mappings: PeerMappingStore;
  close(): Promise<void>;
}

/** The mappings table of database.url, or of the embedded PostgreSQL in data.dir (standalone's), migrated first when asked. */
async function openMappings(config: GhostConfig, migrateFirst: boolean, logger: Logger): Promise<OpenedMappings> {
  const { databasePeerMappings } = await import('@ghostdns/presence-service');
  const { db, close } = await openCommandDatabase(config, { poolSize: 2, migrate: migrateFirst, logger });
  return { mappings: databasePeerMappings(db), close };
}

/** A name under the peer's custom domain, else under the presence suffix. */
function underDomain(label: string, domain: string | null, suffix: string): string {
  return `${label}.${domain ?? suffix}`;
}

/** What one round decided, per source that could be polled, and why the others could not (their state is kept). */
export interface PresenceRound {
  readonly settings: PresenceSettings;
  readonly plans: readonly { readonly sourceId: string; readonly plan: PresencePlan }[];
  readonly failures: readonly { readonly sourceId: string; readonly error: unknown }[];
}

/** 'report' decides and changes nothing (--dry-run, export-dnsmasq); 'apply' publishes and writes the snapshot. */
type RoundMode = 'report' | 'apply';

/** How long a round waits for Redis: it refuses calls until connected (its connect timeout is 2 s, and it retries). */
const REDIS_READY_MS = 5_000;

/** The store presence-service keeps its snapshot in: Redis (redis.url), connected, else memory (no snapshot: from nothing). */
async function openStore(config: GhostConfig, logger: Logger): Promise<KeyValueStore> {
  const { createMemoryKeyValueStore, createRedisKeyValueStore } = await import('@ghostdns/runtime');
  if (config.redis.url === undefined) return createMemoryKeyValueStore({ maxEntries: 16 });
  const store = createRedisKeyValueStore({ url: config.redis.url, logger });
  const deadline = Date.now() + REDIS_READY_MS;
  while (!store.isHealthy()) {
    if (Date.now() >= deadline) {
      await store.close();
      throw new Error(`Redis at ${maskUrl(config.redis.url)} (redis.url) is not reachable: the snapshot cannot be read, nothing was decided`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return store;
}

/** Applying needs what presence-service publishes through: Kafka, and Redis for the snapshot it decides against. */
function requireApplyTargets(config: GhostConfig, settings: PresenceSettings): void {
  if (config.kafka.brokers.length === 0) {
    throw ConfigError.missing(
      'kafka.brokers',
      'KAFKA_BROKERS',
      'haddns update publishes on Kafka; standalone, the bus is inside the running `ghostdns start`, whose presence-service ' +
        `applies the changes itself every presence.pollInterval (${settings.pollIntervalMs / 1000} s): --dry-run reports them`,
    );
  }
  if (config.redis.url === undefined) {
    throw ConfigError.missing('redis.url', 'REDIS_URL', 'haddns update decides against the snapshot presence-service keeps in Redis and writes it back');
  }
}

/** Closes what a round opened, last first; a failing close is logged and does not hide the round's outcome. */
async function closeAll(closers: (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err }, 'haddns: closing failed'));
}

/**
 * One round of presence-service (its sources, poll loop and tracker) over every configured source,
 * decided against the stored snapshot. 'apply' also does what the running service does with it:
 * the transitions go out on Kafka and the snapshot (and the tailnet's device list) into Redis.
 */
async function presenceRound(config: GhostConfig, deps: HaddnsDependencies, logger: Logger, mode: RoundMode): Promise<PresenceRound> {
  const presence = await import('@ghostdns/presence-service');
  const settings = new presence.PresenceConfigValidator().validate(config.presence);
  if (!presence.presenceEnabled(settings)) {
    throw ConfigError.missing(
      'presence.wireguardInterfaces',
      'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES',
      'haddns reads the WireGuard interfaces, or the tailnet with GHOSTDNS_PRESENCE_TAILSCALE_SOURCE',
    );
  }
  if (mode === 'apply') requireApplyTargets(config, settings);
  const closers: (() => Promise<void>)[] = [];
  try {
    // presence-service names peers from the mappings of database.url: so does this round (read only, nothing migrated).
    let mappings: PeerMappingStore | undefined;
    if (config.database.url !== undefined) {
      const opened = await openMappings(config, false, logger);
      closers.push(() => opened.close());
      mappings = opened.mappings;
    }
    const store = await openStore(config, logger);
    closers.push(() => store.close());
    // A report only plans (tracker.plan): nothing is ever published on this one.
    let publisher: EventPublisher = { publish: async () => undefined };
    if (mode === 'apply') {
      const { createKafkaBusFromConfig } = await import('@ghostdns/runtime');
      // kafkajs warns at every producer start about the bus's deliberate idempotent-retry setting; what fails here throws.
      const busLogger = logger.child({}, { level: 'error' });
      const bus = await createKafkaBusFromConfig(config, { clientIdSuffix: 'haddns', logger: busLogger, metrics: createMetricsRegistry({ processMetrics: false }) });
      closers.push(() => bus.close());
      await bus.connect();
      publisher = bus;
    }
    const sources = presence.presenceSources(settings, logger, { mappings, dump: deps.dump, deviceList: mode === 'apply' ? { store, logger } : undefined });
    const instruments = presence.presenceInstruments(createMetricsRegistry({ processMetrics: false }));
    const tracker = presence.presenceTracker(settings, { publisher, store, nodeId: config.node.id, logger }, instruments);
    const plans = new Map<string, PresencePlan>();
    const sink = {
      observe: async (sourceId: string, peers: readonly PeerObservation[]) =>
        void plans.set(sourceId, mode === 'apply' ? await tracker.apply(sourceId, peers) : await tracker.plan(sourceId, peers)),
    };
    // Failed sources come back in the round's results and are reported from there, not logged.
    const quiet = { debug: () => undefined, warn: () => undefined };
    const results = await new presence.PresencePoller(sources, sink, settings.pollIntervalMs, quiet).pollOnce();
    return {
      settings,
      plans: results.flatMap(({ sourceId }) => {
        const plan = plans.get(sourceId);
        return plan === undefined ? [] : [{ sourceId, plan }];
      }),
      failures: results.flatMap((result) => (result.ok ? [] : [{ sourceId: result.sourceId, error: result.error }])),
    };
  } finally {
    await closeAll(closers, logger);
  }
}

function handshakeAge(peer: PeerObservation): string {
  const label = peer.source === 'TAILSCALE' ? 'last seen' : 'handshake';
  return `${label} ${peer.lastHandshakeUs === null ? 'never' : `${Math.max(0, Math.round((peer.observedAtUs - peer.lastHandshakeUs) / 1e6))}s`}`;
}

/**
 * `ghostdns haddns update [--dry-run] [--verbose]`: every peer of every source (its interface, or the source
 * for Tailscale), its name, its handshake age, its state and what was (or would be) published.
 */
export function formatUpdatePlan(round: PresenceRound, verbose: boolean, published: boolean): string {
  const verb = published ? 'published' : 'would publish';
  const lines: string[] = [];
  let peers = 0;
  let changes = 0;
  for (const { sourceId, plan } of round.plans) {
    const line = (observation: PeerObservation, state: string): void => {
      const change = plan.events.find((event) => event.device_id === observation.deviceId && event.interface === observation.interface);
      if (!verbose && change === undefined) return;
      const name = observation.name === null ? '(no name)' : underDomain(observation.name, observation.domain, round.settings.suffix);
      lines.push([observation.interface ?? sourceId, name, observation.deviceId, state, change === undefined ? 'no change' : `${verb} ${change.type}`].join('  '));
    };
    for (const { observation, online } of plan.next.values()) line(observation, `${handshakeAge(observation)}  ${online ? 'online' : 'offline'}`);
    for (const gone of plan.removed) line(gone.observation, 'removed');
    peers += plan.next.size;
    changes += plan.events.length;
  }
  lines.push(`${peers} peer(s), ${changes} change(s)${verbose ? '' : ' (--verbose lists unchanged peers too)'}`);
  return `${lines.join('\n')}\n`;
}

/** dnsmasq host-record lines (global and instance names, under the custom domain or the suffix) for the online peers with tunnel addresses. */
export function dnsmasqConfig(round: PresenceRound): string {
  const { suffix } = round.settings;
  const lines = [`# HADDNS: VPN peers online under ${suffix} (or their custom domain), written by ghostdns haddns export-dnsmasq`];
  for (const { plan } of round.plans) {
    for (const { observation, online } of plan.next.values()) {
      if (!online || observation.name === null || observation.addresses.length === 0) continue;
      const names = [underDomain(observation.name, observation.domain, suffix)];
      if (observation.interface !== null) names.push(underDomain(`${observation.name}.${observation.interface}`, observation.domain, suffix));
      lines.push(`host-record=${[...names, ...observation.addresses].join(',')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Says on stderr which sources could not be polled (their state is kept); the exit code of the round. */
function reportFailures(ctx: CommandContext, round: PresenceRound): number {
  for (const { sourceId, error } of round.failures) {
    ctx.io.stderr(`ghostdns haddns: ${sourceId}: ${error instanceof Error ? error.message : String(error)}; its previous state is kept\n`);
  }
  return round.failures.length === 0 ? ExitCode.ok : ExitCode.failure;
}

/** What `haddns setup` prints: the presence settings as environment variables and as the config file's section. */
export function setupConfigText(settings: PresenceSettings): string {
  return [
    '# HADDNS: presence-service configuration, as environment variables …',
    `GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES=${settings.interfaces.join(',')}`,
    `GHOSTDNS_PRESENCE_SUFFIX=${settings.suffix}`,
    `GHOSTDNS_PRESENCE_HANDSHAKE_THRESHOLD=${settings.handshakeThresholdMs / 1000}`,
    '# … or as the presence section of the config file (--config):',
    '# presence:',
    `#   wireguardInterfaces: [${settings.interfaces.join(', ')}]`,
    `#   suffix: ${settings.suffix}`,
    `#   handshakeThreshold: ${settings.handshakeThresholdMs / 1000}`,
    '',
  ].join('\n');
}

/** The config with `haddns setup`'s flags over its presence section. */
function withSetupFlags(config: GhostConfig, ctx: CommandContext): GhostConfig {
  const suffix = stringOption(ctx, 'suffix');
  const threshold = stringOption(ctx, 'threshold');
  const interfaces = stringOption(ctx, 'interfaces');
  return {
    ...config,
    presence: {
      ...config.presence,
      ...(suffix === undefined ? {} : { suffix }),
      ...(threshold === undefined ? {} : { handshakeThreshold: Number(threshold) }),
      ...(interfaces === undefined ? {} : { wireguardInterfaces: interfaces.split(',').map((name) => name.trim()).filter((name) => name !== '') }),
    },
  };
}

/** One poll of the WireGuard source alone, named without mappings (what `setup --create-mappings` stores). */
async function pollWireGuard(settings: PresenceSettings, deps: HaddnsDependencies, logger: Logger): Promise<{ sourceId: string; peers: PeerObservation[] }> {
  const { wireGuardSources } = await import('@ghostdns/presence-service');
  const [source] = wireGuardSources(settings, logger, deps.dump);
  if (source === undefined) {
    throw ConfigError.missing('presence.wireguardInterfaces', 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', 'haddns setup --create-mappings maps the WireGuard peers');
  }
  return { sourceId: source.id, peers: await source.poll() };
}

async function reportErrors(ctx: CommandContext, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ConfigError) {
      ctx.io.stderr(`${error.message}\n`);
      return ExitCode.config;
    }
    ctx.io.stderr(`ghostdns haddns: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failure;
  }
}

/** Runs one round (config loaded, errors reported) and hands it to `render`, which returns the exit code. */
async function withRound(ctx: CommandContext, deps: HaddnsDependencies, mode: RoundMode, render: (round: PresenceRound) => Promise<number>): Promise<number> {
  const config = loadConfigOrReport(ctx);
  if (typeof config === 'number') return config;
  const logger = haddnsLogger(ctx);
  return reportErrors(ctx, async () => render(await presenceRound(config, deps, logger, mode)));
}

const MAP_USAGE = '<public-key|node-id> <name> [--domain DOMAIN | --no-domain] [--disable] [--source wireguard|tailscale]';

/** The `ghostdns haddns …` commands; `deps` replaces their I/O in tests. */
export function haddnsCommands(deps: HaddnsDependencies = {}): Command[] {
  return [
    {
      path: ['haddns', 'setup'],
      summary: 'Print the presence configuration HADDNS needs; with --create-mappings, map every current WireGuard peer',
      usage: '[--suffix DOMAIN] [--threshold SECONDS] [--interfaces wg0,wg1] [--create-mappings] [--config FILE]',
      details:
        'The flags override the configuration (presence.suffix, presence.handshakeThreshold, presence.wireguardInterfaces);\n' +
        'the result is validated as presence-service would and printed as environment variables and as a config section.\n' +
        '--create-mappings polls `wg show all dump` once and stores a hostname mapping (the name it is published under\n' +
        'now) for every peer that has none, in database.url (or the embedded PostgreSQL of data.dir), migrating it first.',
      options: { suffix: { type: 'string' }, threshold: { type: 'string' }, interfaces: { type: 'string' }, 'create-mappings': { type: 'boolean' } },
      run: async (ctx) => {
        const loaded = loadConfigOrReport(ctx);
        if (typeof loaded === 'number') return loaded;
        return reportErrors(ctx, async () => {
          const config = withSetupFlags(loaded, ctx);
          const { PresenceConfigValidator } = await import('@ghostdns/presence-service');
          const settings = new PresenceConfigValidator().validate(config.presence);
          ctx.io.stdout(setupConfigText(settings));
          if (ctx.values['create-mappings'] !== true) return ExitCode.ok;
          const logger = haddnsLogger(ctx);
          const { sourceId, peers } = await pollWireGuard(settings, deps, logger);
          const opened = await openMappings(config, true, logger);
          try {
            const named = peers.flatMap((peer) => (peer.name === null ? [] : [{ source: sourceId, deviceId: peer.deviceId, name: peer.name, enabled: true }]));
            const created = await opened.mappings.insertMissing(named);
            ctx.io.stdout(`# ${created} hostname mapping(s) created, ${named.length - created} kept\n`);
          } finally {
            await opened.close();
          }
          return ExitCode.ok;
        });
      },
    },
    {
      path: ['haddns', 'map'],
      summary: 'Set the name a VPN peer is published under, its custom domain and whether it is published, kept in the database',
      usage: `${MAP_USAGE} [--config FILE]`,
      details:
        'Stores the mapping in database.url (or the embedded PostgreSQL of data.dir), migrating it first. presence-service\n' +
        'reads it every poll: the peer is published as <name>.<suffix>, or <name>.<DOMAIN> with --domain (and\n' +
        '<name>.<interface>.<DOMAIN>); --no-domain puts it back under the suffix; with neither, an existing mapping keeps\n' +
        'its domain. --disable keeps it unpublished, online or not. The name is sanitized into one DNS label; the domain\n' +
        'is lower-cased (a trailing dot dropped) and must be a DNS name. Prints the resulting name.',
      allowArgs: true,
      options: { disable: { type: 'boolean' }, source: { type: 'string' }, domain: { type: 'string' }, 'no-domain': { type: 'boolean' } },
      run: async (ctx) => {
        const [deviceId, rawName, ...extra] = ctx.args;
        const source = stringOption(ctx, 'source') ?? 'wireguard';
        const rawDomain = stringOption(ctx, 'domain');
        const noDomain = ctx.values['no-domain'] === true;
        if (
          deviceId === undefined ||
          rawName === undefined ||
          extra.length > 0 ||
          (source !== 'wireguard' && source !== 'tailscale') ||
          (rawDomain !== undefined && noDomain)
        ) {
          ctx.io.stderr(`usage: ghostdns haddns map ${MAP_USAGE}\n`);
          return ExitCode.usage;
        }
        const { mappingDomain, mappingName } = await import('@ghostdns/presence-service');
        let name: string;
        let customDomain: string | null | undefined;
        try {
          name = mappingName(rawName);
          customDomain = noDomain ? null : rawDomain === undefined ? undefined : mappingDomain(rawDomain);
        } catch (error) {
          ctx.io.stderr(`ghostdns haddns map: ${error instanceof Error ? error.message : String(error)}\n`);
          return ExitCode.usage;
        }
        const config = loadConfigOrReport(ctx);
        if (typeof config === 'number') return config;
        return reportErrors(ctx, async () => {
          const enabled = ctx.values.disable !== true;
          const opened = await openMappings(config, true, haddnsLogger(ctx));
          const stored = await opened.mappings.upsert({ source, deviceId, name, enabled, customDomain }).finally(() => opened.close());
          ctx.io.stdout(`${source} ${deviceId} -> ${underDomain(stored.name, stored.customDomain, config.presence.suffix)} (${enabled ? 'enabled' : 'disabled'})\n`);
          return ExitCode.ok;
        });
      },
    },
    {
      path: ['haddns', 'update'],
      summary: 'Poll every presence source once and publish the transitions, as presence-service does each poll (--dry-run: only show them)',
      usage: '[--dry-run] [--verbose] [--config FILE]',
      details:
        'Polls every configured source once (`wg show all dump` for GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES, the tailnet\n' +
        'with GHOSTDNS_PRESENCE_TAILSCALE_SOURCE) and decides every peer against the snapshot presence-service keeps in\n' +
        'Redis (redis.url), exactly as one round of presence-service: the transitions are published on presence.events.v1\n' +
        '(Kafka, kafka.brokers) and the snapshot is written back. Needs Kafka and Redis: standalone, the running\n' +
        '`ghostdns start` applies the changes itself every presence.pollInterval. --dry-run publishes and writes nothing.\n' +
        'Prints the peers that changed (every peer with --verbose); exit 1 when a source could not be polled.',
      options: { 'dry-run': { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } },
      run: (ctx) => {
        const apply = ctx.values['dry-run'] !== true;
        return withRound(ctx, deps, apply ? 'apply' : 'report', async (round) => {
          ctx.io.stdout(formatUpdatePlan(round, ctx.values.verbose === true, apply));
          return reportFailures(ctx, round);
        });
      },
    },
    {
      path: ['haddns', 'export-dnsmasq'],
      summary: 'Write a dnsmasq config with a host-record for every online VPN peer (WireGuard, Tailscale)',
      usage: '[--output FILE] [--config FILE]',
      details:
        'Global (<peer>.<suffix>) and instance (<peer>.<interface>.<suffix>) names, under the peer\'s custom domain\n' +
        'instead of the suffix when its mapping has one; stdout without --output. Nothing is written when a source\n' +
        'could not be polled (exit 1): the previous file stays.',
      options: { output: { type: 'string', short: 'o' } },
      run: (ctx) =>
        withRound(ctx, deps, 'report', async (round) => {
          if (round.failures.length > 0) return reportFailures(ctx, round);
          const text = dnsmasqConfig(round);
          const output = stringOption(ctx, 'output');
          if (output === undefined) ctx.io.stdout(text);
          else await writeFile(output, text);
          return ExitCode.ok;
        }),
    },
  ];
}

import { writeFile } from 'node:fs/promises';
import { ConfigError, type GhostConfig } from '@ghostdns/config';
import type { PresenceEvent } from '@ghostdns/contracts';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import type {
  PeerMappingReader, PeerMappingStore, PeerObservation, PresencePlan, PresenceSettings, WgDumpReader,
} from '@ghostdns/presence-service';
import { ExitCode, type Command, type CommandContext } from '../types.js';
import { openCommandDatabase } from './database.js';
import { loadConfigOrReport, stringOption } from './shared.js';

// The seed's HADDNS management commands (haddns_setup, haddns_update --dry-run --verbose,
// generate_dnsmasq_config, and the admin's hostname mappings as `haddns map`) over the same
// source, state machine and mappings table presence-service uses.

export interface HaddnsDependencies {
  /** Replaces `wg show all dump` (tests). */
  readonly dump?: WgDumpReader;
}

interface OpenedMappings {
  readonly mappings: PeerMappingStore;
  close(): Promise<void>;
}

/** The mappings table of database.url, or of the embedded PostgreSQL in data.dir (standalone's), migrated first when asked. */
async function openMappings(config: GhostConfig, migrateFirst: boolean): Promise<OpenedMappings> {
  const { databasePeerMappings } = await import('@ghostdns/presence-service');
  const logger = createLogger({ level: 'warn', name: 'ghostdns-haddns' });
  const { db, close } = await openCommandDatabase(config, { poolSize: 2, migrate: migrateFirst, logger });
  return { mappings: databasePeerMappings(db), close };
}

interface PolledPresence {
  readonly settings: PresenceSettings;
  readonly peers: readonly PeerObservation[];
  readonly plan: PresencePlan;
}

interface PolledPeers {
  readonly settings: PresenceSettings;
  readonly sourceId: string;
  readonly peers: readonly PeerObservation[];
}

/** One poll of the WireGuard source as presence-service would run it (names from `mappings` when given). */
async function pollPeers(config: GhostConfig, deps: HaddnsDependencies, mappings?: PeerMappingReader): Promise<PolledPeers> {
  const presence = await import('@ghostdns/presence-service');
  const logger = createLogger({ level: 'warn', name: 'ghostdns-haddns' });
  const settings = new presence.PresenceConfigValidator().validate(config.presence);
  if (settings.interfaces.length === 0) {
    throw ConfigError.missing('presence.wireguardInterfaces', 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', 'haddns reads the WireGuard interfaces');
  }
  const [source] = presence.wireGuardSources(settings, logger, deps.dump, mappings);
  if (source === undefined) throw new Error('no presence source');
  return { settings, sourceId: source.id, peers: await source.poll() };
}

/** One poll of every configured source, decided against the stored snapshot (Redis when redis.url is set). */
async function pollOnce(config: GhostConfig, deps: HaddnsDependencies): Promise<PolledPresence> {
  const presence = await import('@ghostdns/presence-service');
  const { createMemoryKeyValueStore, createRedisKeyValueStore } = await import('@ghostdns/runtime');
  const logger = createLogger({ level: 'warn', name: 'ghostdns-haddns' });
  // presence-service names peers from the mappings of database.url: so does this report (read only, nothing migrated).
  const opened = config.database.url === undefined ? null : await openMappings(config, false);
  let polled: PolledPeers;
  try {
    polled = await pollPeers(config, deps, opened?.mappings);
  } finally {
    await opened?.close();
  }
  const { settings, sourceId, peers } = polled;
  const store = config.redis.url === undefined ? createMemoryKeyValueStore({ maxEntries: 16 }) : createRedisKeyValueStore({ url: config.redis.url, logger });
  try {
    const tracker = new presence.PresenceTracker({
      publisher: { publish: async () => undefined },
      store,
      nodeId: config.node.id,
      thresholdMs: presence.thresholdFor(settings),
      snapshotTtlMs: settings.handshakeThresholdMs,
      instruments: presence.presenceInstruments(createMetricsRegistry({ processMetrics: false })),
      logger,
    });
    return { settings, peers, plan: await tracker.plan(sourceId, peers) };
  } finally {
    await store.close();
  }
}

function handshakeAge(peer: PeerObservation): string {
  return peer.lastHandshakeUs === null ? 'never' : `${Math.max(0, Math.round((peer.observedAtUs - peer.lastHandshakeUs) / 1e6))}s`;
}

/** `ghostdns haddns update --dry-run --verbose`: every peer, its handshake age, its state and what would change. */
export function formatUpdatePlan(polled: PolledPresence, verbose: boolean): string {
  const { settings, plan } = polled;
  const changes = new Map<string, PresenceEvent>();
  for (const event of plan.events) changes.set(`${event.interface ?? ''}\u0000${event.device_id}`, event);
  const lines: string[] = [];
  for (const [key, { observation, online }] of plan.next) {
    const change = changes.get(key);
    if (!verbose && change === undefined) continue;
    const name = observation.name === null ? '(no name)' : `${observation.name}.${settings.suffix}`;
    lines.push(
      [
        observation.interface ?? '-',
        name,
        observation.deviceId,
        `handshake ${handshakeAge(observation)}`,
        online ? 'online' : 'offline',
        change === undefined ? 'no change' : `would publish ${change.type}`,
      ].join('  '),
    );
  }
  for (const gone of plan.removed) {
    lines.push(`${gone.observation.interface ?? '-'}  ${gone.observation.name ?? '(no name)'}.${settings.suffix}  ${gone.observation.deviceId}  removed  would publish DEVICE_OFFLINE`);
  }
  lines.push(`${plan.next.size} peer(s), ${plan.events.length} change(s)${verbose ? '' : ' (--verbose lists unchanged peers too)'}`);
  return `${lines.join('\n')}\n`;
}

/** dnsmasq host-record lines (global and instance names) for the online peers with tunnel addresses. */
export function dnsmasqConfig(polled: PolledPresence): string {
  const { settings, plan } = polled;
  const lines = [`# HADDNS: WireGuard peers online under ${settings.suffix}, written by ghostdns haddns export-dnsmasq`];
  for (const { observation, online } of plan.next.values()) {
    if (!online || observation.name === null || observation.addresses.length === 0) continue;
    const names = [`${observation.name}.${settings.suffix}`];
    if (observation.interface !== null) names.push(`${observation.name}.${observation.interface}.${settings.suffix}`);
    lines.push(`host-record=${[...names, ...observation.addresses].join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

async function withPoll(ctx: CommandContext, deps: HaddnsDependencies, render: (polled: PolledPresence) => Promise<void>): Promise<number> {
  const config = loadConfigOrReport(ctx);
  if (typeof config === 'number') return config;
  return reportErrors(ctx, async () => render(await pollOnce(config, deps)));
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

async function reportErrors(ctx: CommandContext, run: () => Promise<void>): Promise<number> {
  try {
    await run();
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ConfigError) {
      ctx.io.stderr(`${error.message}\n`);
      return ExitCode.config;
    }
    ctx.io.stderr(`ghostdns haddns: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failure;
  }
}

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
          if (ctx.values['create-mappings'] !== true) return;
          const { sourceId, peers } = await pollPeers(config, deps);
          const opened = await openMappings(config, true);
          try {
            const named = peers.flatMap((peer) => (peer.name === null ? [] : [{ source: sourceId, deviceId: peer.deviceId, name: peer.name, enabled: true }]));
            const created = await opened.mappings.insertMissing(named);
            ctx.io.stdout(`# ${created} hostname mapping(s) created, ${named.length - created} kept\n`);
          } finally {
            await opened.close();
          }
        });
      },
    },
    {
      path: ['haddns', 'map'],
      summary: 'Set the name a VPN peer is published under (and whether it is published), kept in the database',
      usage: '<public-key> <name> [--disable] [--source wireguard|tailscale] [--config FILE]',
      details:
        'Stores the mapping in database.url (or the embedded PostgreSQL of data.dir), migrating it first. presence-service\n' +
        'reads it every poll: the peer is published as <name>.<suffix>; --disable keeps it unpublished, online or not.\n' +
        'The name is sanitized into one DNS label.',
      allowArgs: true,
      options: { disable: { type: 'boolean' }, source: { type: 'string' } },
      run: async (ctx) => {
        const [deviceId, rawName, ...extra] = ctx.args;
        const source = stringOption(ctx, 'source') ?? 'wireguard';
        if (deviceId === undefined || rawName === undefined || extra.length > 0 || (source !== 'wireguard' && source !== 'tailscale')) {
          ctx.io.stderr('usage: ghostdns haddns map <public-key> <name> [--disable] [--source wireguard|tailscale]\n');
          return ExitCode.usage;
        }
        const { mappingName } = await import('@ghostdns/presence-service');
        let name: string;
        try {
          name = mappingName(rawName);
        } catch (error) {
          ctx.io.stderr(`ghostdns haddns map: ${error instanceof Error ? error.message : String(error)}\n`);
          return ExitCode.usage;
        }
        const config = loadConfigOrReport(ctx);
        if (typeof config === 'number') return config;
        return reportErrors(ctx, async () => {
          const enabled = ctx.values.disable !== true;
          const opened = await openMappings(config, true);
          try {
            await opened.mappings.upsert({ source, deviceId, name, enabled });
          } finally {
            await opened.close();
          }
          ctx.io.stdout(`${source} ${deviceId} -> ${name}.${config.presence.suffix} (${enabled ? 'enabled' : 'disabled'})\n`);
        });
      },
    },
    {
      path: ['haddns', 'update'],
      summary: 'Show each WireGuard peer, its handshake age, its state and what presence-service would publish',
      usage: '--dry-run [--verbose] [--config FILE]',
      details:
        'Polls `wg show all dump` once for GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES and decides every peer against\n' +
        'the handshake threshold, compared with the snapshot presence-service keeps in Redis (redis.url).\n' +
        'presence-service applies changes itself every poll interval; this command only reports them (--dry-run).',
      options: { 'dry-run': { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } },
      run: async (ctx) => {
        if (ctx.values['dry-run'] !== true) {
          ctx.io.stderr('ghostdns haddns update: only --dry-run is supported; presence-service publishes the changes itself\n');
          return ExitCode.usage;
        }
        return withPoll(ctx, deps, async (polled) => ctx.io.stdout(formatUpdatePlan(polled, ctx.values.verbose === true)));
      },
    },
    {
      path: ['haddns', 'export-dnsmasq'],
      summary: 'Write a dnsmasq config with a host-record for every online WireGuard peer',
      usage: '[--output FILE] [--config FILE]',
      details: 'Global (<peer>.<suffix>) and instance (<peer>.<interface>.<suffix>) names; stdout without --output.',
      options: { output: { type: 'string', short: 'o' } },
      run: (ctx) =>
        withPoll(ctx, deps, async (polled) => {
          const text = dnsmasqConfig(polled);
          const output = stringOption(ctx, 'output');
          if (output === undefined) ctx.io.stdout(text);
          else await writeFile(output, text);
        }),
    },
  ];
}

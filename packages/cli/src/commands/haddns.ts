import { writeFile } from 'node:fs/promises';
import { ConfigError, type GhostConfig } from '@ghostdns/config';
import type { PresenceEvent } from '@ghostdns/contracts';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import type { PeerObservation, PresencePlan, PresenceSettings, WgDumpReader } from '@ghostdns/presence-service';
import { ExitCode, type Command, type CommandContext } from '../types.js';
import { loadConfigOrReport, stringOption } from './shared.js';

// The seed's HADDNS management commands (haddns_update --dry-run --verbose,
// generate_dnsmasq_config) over the same source and state machine presence-service runs.

export interface HaddnsDependencies {
  /** Replaces `wg show all dump` (tests). */
  readonly dump?: WgDumpReader;
}

interface PolledPresence {
  readonly settings: PresenceSettings;
  readonly peers: readonly PeerObservation[];
  readonly plan: PresencePlan;
}

/** One poll of every configured source, decided against the stored snapshot (Redis when redis.url is set). */
async function pollOnce(config: GhostConfig, deps: HaddnsDependencies): Promise<PolledPresence> {
  const presence = await import('@ghostdns/presence-service');
  const { createMemoryKeyValueStore, createRedisKeyValueStore } = await import('@ghostdns/runtime');
  const logger = createLogger({ level: 'warn', name: 'ghostdns-haddns' });
  const settings = new presence.PresenceConfigValidator().validate(config.presence);
  if (settings.interfaces.length === 0) {
    throw ConfigError.missing('presence.wireguardInterfaces', 'GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES', 'haddns reads the WireGuard interfaces');
  }
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
    const [source] = presence.wireGuardSources(settings, logger, deps.dump);
    if (source === undefined) throw new Error('no presence source');
    const peers = await source.poll();
    return { settings, peers, plan: await tracker.plan(source.id, peers) };
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
  try {
    await render(await pollOnce(config, deps));
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

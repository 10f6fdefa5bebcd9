import { Module } from '@nestjs/common';
import type { DynamicModule, Provider } from '@nestjs/common';
import { encodeTailscaleDevices, TAILSCALE_DEVICES_KEY } from '@ghostdns/contracts';
import { RUNTIME } from '@ghostdns/runtime';
import type { Logger } from '@ghostdns/observability';
import type { ServiceRuntime } from '@ghostdns/runtime';
import { PresenceConfigValidator, presenceEnabled } from './config-validator.js';
import type { PresenceSettings } from './config-validator.js';
import { presenceInstruments } from './metrics.js';
import type { PresenceInstruments } from './metrics.js';
import { databasePeerMappings } from './mappings.js';
import type { PeerMappingReader } from './mappings.js';
import { OBSERVATION_SINK, PRESENCE_SOURCES } from './presence-source.js';
import type { ObservationSink, PresenceSource } from './presence-source.js';
import { PRESENCE_INSTRUMENTS, PRESENCE_SETTINGS, PresenceService } from './presence.service.js';
import { tailscaleApiDevices, tailscaleStatusCommand } from './tailscale/readers.js';
import type { TailscaleDeviceReader } from './tailscale/readers.js';
import { tailscaleDeviceView, type TailscaleDevice } from './tailscale/devices.js';
import { TailscaleSource } from './tailscale/source.js';
import { PresenceTracker } from './tracker.js';
import type { PresenceTrackerOptions } from './tracker.js';
import { wgQuickConfigDir, wgShowAllDump } from './wireguard/command.js';
import type { WgDumpReader } from './wireguard/command.js';
import { WireGuardSource } from './wireguard/source.js';

export interface PresenceServiceModuleOptions {
  sources?: readonly PresenceSource[];
  sink?: ObservationSink;
}

/** The handshake threshold of a peer on `interfaceName`. */
export function thresholdFor(settings: PresenceSettings): (interfaceName: string | null) => number {
  return (interfaceName) => (interfaceName === null ? undefined : settings.interfaceThresholdsMs[interfaceName]) ?? settings.handshakeThresholdMs;
}

/** The WireGuard source the settings ask for (none when presence is off); `dump` replaces `wg show all dump` (tests). */
export function wireGuardSources(
  settings: PresenceSettings,
  logger: Pick<Logger, 'warn'>,
  dump: WgDumpReader = wgShowAllDump(),
  mappings?: PeerMappingReader,
): PresenceSource[] {
  if (settings.interfaces.length === 0) return [];
  return [
    new WireGuardSource({
      dump,
      configs: wgQuickConfigDir(settings.wireguardConfigDir),
      interfaces: settings.watchAll ? null : settings.interfaces,
      onMalformed: (lines) => logger.warn({ lines }, 'presence: malformed lines in wg show all dump were skipped'),
      ...(mappings === undefined ? {} : { mappings }),
    }),
  ];
}

/** The Tailscale source the settings ask for (none when off); `reader` replaces the API / CLI adapter (tests). */
export function tailscaleSources(
  settings: PresenceSettings,
  logger: Pick<Logger, 'warn'>,
  mappings?: PeerMappingReader,
  reader?: TailscaleDeviceReader,
  onDevices?: (devices: readonly TailscaleDevice[]) => void,
): PresenceSource[] {
  const tailscale = settings.tailscale;
  if (tailscale === null) return [];
  const devices =
    reader ??
    (tailscale.kind === 'cli'
      ? tailscaleStatusCommand()
      : tailscaleApiDevices({ apiUrl: tailscale.apiUrl, tailnet: tailscale.tailnet, credentials: tailscale.credentials }));
  return [
    new TailscaleSource({
      reader: devices,
      onSkipped: (count) => logger.warn({ count }, 'presence: Tailscale devices without a node id were skipped'),
      ...(onDevices === undefined ? {} : { onDevices }),
      ...(mappings === undefined ? {} : { mappings }),
    }),
  ];
}

/**
 * Keeps the tailnet's device list in the runtime store for records-api
 * (GET /api/v1/tailscale/devices), expiring with the handshake threshold like
 * the presence snapshot: a dead presence-service stops vouching for devices.
 */
export function tailscaleDeviceListWriter(runtime: Pick<ServiceRuntime, 'store' | 'logger'>, ttlMs: number): (devices: readonly TailscaleDevice[]) => void {
  return (devices) => {
    runtime.store
      .set(TAILSCALE_DEVICES_KEY, encodeTailscaleDevices(devices.map(tailscaleDeviceView), new Date()), ttlMs)
      .catch((err: unknown) => runtime.logger.warn({ err }, 'presence: Tailscale device list not stored'));
  };
}

export interface PresenceSourcesOptions {
  /** Hostname mappings (the database); without them names come from comments, addresses and MagicDNS. */
  readonly mappings?: PeerMappingReader;
  /** Replaces `wg show all dump` (tests). */
  readonly dump?: WgDumpReader;
  /** Where the tailnet's device list is kept for records-api; without it, nowhere (a dry run). */
  readonly deviceList?: Pick<ServiceRuntime, 'store' | 'logger'>;
}

/** Every source the settings ask for (WireGuard, Tailscale), as presence-service polls them. */
export function presenceSources(settings: PresenceSettings, logger: Pick<Logger, 'warn'>, options: PresenceSourcesOptions = {}): PresenceSource[] {
  const { mappings, dump, deviceList } = options;
  return [
    ...wireGuardSources(settings, logger, dump, mappings),
    ...tailscaleSources(settings, logger, mappings, undefined, deviceList === undefined ? undefined : tailscaleDeviceListWriter(deviceList, settings.handshakeThresholdMs)),
  ];
}

/** The hostname mappings of the runtime's database (standalone: always there; distributed: with database.url), else none. */
export function runtimeMappings(runtime: ServiceRuntime): PeerMappingReader | undefined {
  return runtime.mode === 'standalone' || runtime.config.database.url !== undefined ? databasePeerMappings(runtime.requireDatabase()) : undefined;
}

/** The tracker the settings ask for, publishing on `parts.publisher` and keeping the snapshot in `parts.store`. */
export function presenceTracker(
  settings: PresenceSettings,
  parts: Pick<PresenceTrackerOptions, 'publisher' | 'store' | 'nodeId' | 'logger'>,
  instruments: PresenceInstruments,
): PresenceTracker {
  return new PresenceTracker({
    ...parts,
    thresholdMs: thresholdFor(settings),
    snapshotTtlMs: Math.max(settings.handshakeThresholdMs, ...Object.values(settings.interfaceThresholdsMs)),
    instruments,
  });
}

function providers(options: PresenceServiceModuleOptions): Provider[] {
  return [
    PresenceConfigValidator,
    {
      provide: PRESENCE_SETTINGS,
      inject: [RUNTIME, PresenceConfigValidator],
      useFactory: (runtime: ServiceRuntime, validator: PresenceConfigValidator): PresenceSettings =>
        validator.validate(runtime.config.presence),
    },
    {
      provide: PRESENCE_INSTRUMENTS,
      inject: [RUNTIME],
      useFactory: (runtime: ServiceRuntime): PresenceInstruments => presenceInstruments(runtime.metrics),
    },
    {
      provide: PRESENCE_SOURCES,
      inject: [RUNTIME, PRESENCE_SETTINGS],
      useFactory: (runtime: ServiceRuntime, settings: PresenceSettings): readonly PresenceSource[] => {
        if (options.sources !== undefined) return options.sources;
        // Presence off needs no database.
        if (!presenceEnabled(settings)) return [];
        return presenceSources(settings, runtime.logger, { mappings: runtimeMappings(runtime), deviceList: runtime });
      },
    },
    {
      provide: OBSERVATION_SINK,
      inject: [RUNTIME, PRESENCE_SETTINGS, PRESENCE_INSTRUMENTS],
      useFactory: (runtime: ServiceRuntime, settings: PresenceSettings, instruments: PresenceInstruments): ObservationSink =>
        options.sink ??
        presenceTracker(settings, { publisher: runtime.bus, store: runtime.store, nodeId: runtime.config.node.id, logger: runtime.logger }, instruments),
    },
    PresenceService,
  ];
}

/**
 * presence-service: validates config.presence at boot (a bad value stops the
 * process with a ConfigError naming GHOSTDNS_PRESENCE_...), registers the
 * 'presence-service' readiness probe and runs the poll loop: the WireGuard
 * source (`wg show all dump`) into the PresenceTracker, which publishes
 * presence.events.v1. Needs RUNTIME from RuntimeModule.forRoot(runtime).
 */
@Module({ providers: providers({}), exports: [PresenceService, PRESENCE_SETTINGS] })
export class PresenceServiceModule {
  /** The module with explicit sources and/or sink (tests, other sources). */
  static withSources(options: PresenceServiceModuleOptions): DynamicModule {
    return {
      module: PresenceServiceModule,
      providers: providers(options),
      exports: [PresenceService, PRESENCE_SETTINGS],
    };
  }
}

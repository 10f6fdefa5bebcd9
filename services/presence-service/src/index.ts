export {
  PresenceServiceModule,
  presenceSources,
  presenceTracker,
  runtimeMappings,
  tailscaleSources,
  thresholdFor,
  wireGuardSources,
  type PresenceServiceModuleOptions,
  type PresenceSourcesOptions,
} from './presence-service.module.js';
export {
  databasePeerMappings,
  mappingDomain,
  mappingName,
  type PeerMapping,
  type PeerMappingInput,
  type PeerMappingReader,
  type PeerMappingStore,
} from './mappings.js';
export { PresenceService, PRESENCE_INSTRUMENTS, PRESENCE_PROBE, PRESENCE_SETTINGS, type PresenceState } from './presence.service.js';
export {
  PresenceConfigValidator,
  presenceConfigIssues,
  presenceEnabled,
  type TailscaleSettings,
  type PresenceConfig,
  type PresenceSettings,
} from './config-validator.js';
export {
  OBSERVATION_SINK,
  PRESENCE_SOURCES,
  type ObservationSink,
  type PeerObservation,
  type PresenceSource,
} from './presence-source.js';
export { PresencePoller, noopPollerMetrics, type PollerLogger, type PollerMetrics, type PollRoundResult } from './poller.js';
export { PresenceError, type PresenceErrorCode } from './errors.js';
export { presenceInstruments, pollerMetricsOf, HANDSHAKE_AGE_BUCKETS, type PresenceInstruments } from './metrics.js';
export { assignLabels, defaultPeerLabel, hostAddresses, sanitizeLabel, type NameCandidate } from './names.js';
export {
  isPeerOnline,
  PresenceTracker,
  readPresenceSnapshot,
  type PresencePlan,
  type PresenceTrackerOptions,
  type TrackedPeer,
} from './tracker.js';
export { parseWgDump, type MalformedDumpLine, type WgDump, type WgInterfaceDump, type WgPeerDump } from './wireguard/dump.js';
export { wgQuickConfigDir, wgShowAllDump, type WgCommandOptions, type WgDumpReader, type WgQuickConfigReader } from './wireguard/command.js';
export { peerNamesFromWgQuick } from './wireguard/wg-quick.js';
export { WireGuardSource, type WireGuardSourceOptions } from './wireguard/source.js';
export { parseApiDevices, parseStatusJson, FUNNEL_CAPABILITY, type ParsedDevices, type TailscaleDevice } from './tailscale/devices.js';
export {
  retryAfterMs,
  tailscaleApiDevices,
  tailscaleStatusCommand,
  TailscaleRateLimited,
  type TailscaleApiOptions,
  type TailscaleCliOptions,
  type TailscaleCredentials,
  type TailscaleDeviceReader,
} from './tailscale/readers.js';
export { magicDnsShortName, TailscaleSource, type TailscaleSourceOptions } from './tailscale/source.js';

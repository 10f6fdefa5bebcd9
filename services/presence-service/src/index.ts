export { PresenceServiceModule, noopObservationSink, type PresenceServiceModuleOptions } from './presence-service.module.js';
export { PresenceService, PRESENCE_PROBE, PRESENCE_SETTINGS, type PresenceState } from './presence.service.js';
export {
  PresenceConfigValidator,
  presenceConfigIssues,
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

import { Module } from '@nestjs/common';
import type { DynamicModule, Provider } from '@nestjs/common';
import { RUNTIME } from '@ghostdns/runtime';
import type { ServiceRuntime } from '@ghostdns/runtime';
import { PresenceConfigValidator } from './config-validator.js';
import type { PresenceSettings } from './config-validator.js';
import { OBSERVATION_SINK, PRESENCE_SOURCES } from './presence-source.js';
import type { ObservationSink, PeerObservation, PresenceSource } from './presence-source.js';
import { PRESENCE_SETTINGS, PresenceService } from './presence.service.js';

/** Until the transition tracker exists (issue 6), observations go nowhere. */
export const noopObservationSink: ObservationSink = {
  observe: async (_sourceId: string, _peers: readonly PeerObservation[]) => undefined,
};

export interface PresenceServiceModuleOptions {
  sources?: readonly PresenceSource[];
  sink?: ObservationSink;
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
    { provide: PRESENCE_SOURCES, useValue: options.sources ?? [] },
    { provide: OBSERVATION_SINK, useValue: options.sink ?? noopObservationSink },
    PresenceService,
  ];
}

/**
 * presence-service: validates config.presence at boot (a bad value stops the
 * process with a ConfigError naming GHOSTDNS_PRESENCE_...), registers the
 * 'presence-service' readiness probe and runs the poll loop over the injected
 * PresenceSources. Needs RUNTIME from RuntimeModule.forRoot(runtime).
 */
@Module({ providers: providers({}), exports: [PresenceService, PRESENCE_SETTINGS] })
export class PresenceServiceModule {
  /** The module with explicit sources and sink (tests; issue 6's pollers). */
  static withSources(options: PresenceServiceModuleOptions): DynamicModule {
    return {
      module: PresenceServiceModule,
      providers: providers(options),
      exports: [PresenceService, PRESENCE_SETTINGS],
    };
  }
}

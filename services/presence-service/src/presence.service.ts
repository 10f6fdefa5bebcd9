import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { RUNTIME } from '@ghostdns/runtime';
import type { ServiceRuntime } from '@ghostdns/runtime';
import { presenceEnabled } from './config-validator.js';
import type { PresenceSettings } from './config-validator.js';
import { pollerMetricsOf } from './metrics.js';
import type { PresenceInstruments } from './metrics.js';
import { PresencePoller } from './poller.js';
import { OBSERVATION_SINK, PRESENCE_SOURCES } from './presence-source.js';
import type { ObservationSink, PresenceSource } from './presence-source.js';

/** Nest token for the validated PresenceSettings (validated when the module is instantiated). */
export const PRESENCE_SETTINGS = Symbol.for('ghostdns.presence.settings');

/** Nest token for the PresenceInstruments on the runtime's registry. */
export const PRESENCE_INSTRUMENTS = Symbol.for('ghostdns.presence.instruments');

/** Readiness probe name registered with the runtime. */
export const PRESENCE_PROBE = 'presence-service';

export type PresenceState = 'off' | 'no-source' | 'polling';

/**
 * Owns the presence poll loop. It runs only when a source is configured (WireGuard interfaces or Tailscale)
 * and a PresenceSource is available; otherwise presence is off and says so.
 */
@Injectable()
export class PresenceService implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly poller: PresencePoller;
  private started = false;
  private stateValue: PresenceState = 'off';

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(PRESENCE_SETTINGS) private readonly settings: PresenceSettings,
    @Inject(PRESENCE_SOURCES) private readonly sources: readonly PresenceSource[],
    @Inject(OBSERVATION_SINK) sink: ObservationSink,
    @Inject(PRESENCE_INSTRUMENTS) instruments: PresenceInstruments,
  ) {
    this.poller = new PresencePoller(sources, sink, settings.pollIntervalMs, runtime.logger, pollerMetricsOf(instruments));
  }

  get state(): PresenceState {
    return this.stateValue;
  }

  onModuleInit(): void {
    // Ready once booted; while polling, publishing needs the bus.
    this.runtime.readiness.register(
      PRESENCE_PROBE,
      () => this.started && (this.stateValue !== 'polling' || this.runtime.bus.isHealthy()),
    );
  }

  onApplicationBootstrap(): void {
    const { interfaces, suffix, pollIntervalMs, handshakeThresholdMs } = this.settings;
    if (!presenceEnabled(this.settings)) {
      this.stateValue = 'off';
      this.runtime.logger.info('presence is off: GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES is empty and GHOSTDNS_PRESENCE_TAILSCALE_SOURCE is off');
    } else if (this.sources.length === 0) {
      this.stateValue = 'no-source';
      this.runtime.logger.warn(
        { interfaces },
        'presence is off: interfaces are configured but no presence source was given; no presence names are published',
      );
    } else {
      this.stateValue = 'polling';
      this.poller.start();
      this.runtime.logger.info(
        { interfaces, suffix, pollIntervalMs, handshakeThresholdMs, sources: this.sources.map((s) => s.id) },
        'presence: polling',
      );
    }
    this.started = true;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.started = false;
    await this.poller.stop();
  }
}

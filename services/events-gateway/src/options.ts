import { DEFAULT_FANOUT_OPTIONS } from './fanout.js';
import type { FanoutOptions } from './fanout.js';

/** The WebSocket path served; any other upgrade path is left to other listeners. */
export const EVENTS_PATH = '/ws/events';

export interface EventsGatewayOptions extends FanoutOptions {
  /** Largest frame a client may send us (clients have nothing to say; keep it small). */
  maxIncomingPayloadBytes: number;
}

export const DEFAULT_EVENTS_GATEWAY_OPTIONS: Readonly<EventsGatewayOptions> = Object.freeze({
  ...DEFAULT_FANOUT_OPTIONS,
  maxIncomingPayloadBytes: 4096,
});

/** Nest injection token for EventsGatewayOptions. */
export const EVENTS_GATEWAY_OPTIONS = Symbol.for('ghostdns.events-gateway.options');

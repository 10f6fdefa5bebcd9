export { EventsGatewayModule } from './events-gateway.module.js';
export { EventsGatewayService, EVENTS_GATEWAY_PROBE } from './events-gateway.service.js';
export {
  DEFAULT_EVENTS_GATEWAY_OPTIONS,
  EVENTS_GATEWAY_OPTIONS,
  EVENTS_PATH,
  type EventsGatewayOptions,
} from './options.js';
export { LiveEventMapper } from './mapper.js';
export {
  CloseCodes,
  DEFAULT_FANOUT_OPTIONS,
  LiveEventFanout,
  noopFanoutMetrics,
  type AcceptResult,
  type DropReason,
  type FanoutMetrics,
  type FanoutOptions,
  type LiveSocket,
  type ServerCloseReason,
} from './fanout.js';
export { matchesFilter, parseLiveFilter, type FilterParseResult, type LiveFilter } from './filter.js';
export { isTailnetAddress, isTailnetDomain } from './tailnet.js';
export {
  LIVE_EVENT_TYPES,
  type LiveEvent,
  type LiveEventType,
  type LivePresenceEvent,
  type LiveQueryEvent,
  type LiveSecurityEvent,
} from './live-event.js';
export { createGatewayMetrics } from './metrics.js';
export { EventsGatewayError, type EventsGatewayErrorCode } from './errors.js';

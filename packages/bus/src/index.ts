export type {
  BatchHandler,
  DecodedBatch,
  EventBus,
  EventPublisher,
  MessagePosition,
  SubscribeOptions,
  Subscription,
} from './types.js';
export type { BusLogger, BusMetrics, DeadLetterTopic, MessageCodec, RawMessage } from './ports.js';
export { silentLogger } from './ports.js';
export { BusError, BusErrorCode, isBusError, describeError } from './errors.js';
export type { BackoffOptions } from './backoff.js';
export { createInProcessBus, InProcessBus, type InProcessBusOptions } from './in-process-bus.js';
export { createKafkaBus, KafkaBus, type KafkaBusOptions, type UndecodableHandler } from './kafka-bus.js';
export { BusTransport, BusContext, type BusTransportOptions } from './nest-transport.js';

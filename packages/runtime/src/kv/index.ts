export type { KeyValueStore } from './types.js';
export { createMemoryKeyValueStore, type MemoryKeyValueStoreOptions } from './memory.js';
export { createRedisKeyValueStore, reconnectDelay, type RedisKeyValueStoreOptions } from './redis.js';
export { createRateLimitedReporter, type RateLimitedReporterOptions } from './rate-limit.js';

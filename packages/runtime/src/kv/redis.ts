import { maskUrl } from '@ghostdns/config';
import type { Logger } from '@ghostdns/observability';
import { Redis } from 'ioredis';
import { errorMessage, RuntimeError } from '../errors.js';
import { createRateLimitedReporter } from './rate-limit.js';
import type { KeyValueStore } from './types.js';
import { checkValue, closedError, ttlMillis } from './validate.js';

export interface RedisKeyValueStoreOptions {
  /** redis:// or rediss:// URL (credentials and db index allowed). */
  url: string;
  logger: Logger;
  /** Prepended to every key. Default 'ghostdns:'. */
  keyPrefix?: string;
  /** A command not answered within this long rejects (half-open connections). Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Give up on one connection attempt after this long. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect backoff doubles from 100 ms up to this cap; reconnection never stops. Default 5000 ms. */
  maxBackoffMs?: number;
  /** At most one error log line per this many ms (the others are counted). Default 10 000 ms. */
  errorLogIntervalMs?: number;
}

const BASE_BACKOFF_MS = 100;

/** Capped exponential backoff: 100, 200, 400, ... maxBackoffMs. */
export function reconnectDelay(attempt: number, maxBackoffMs: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(BASE_BACKOFF_MS * 2 ** exponent, maxBackoffMs);
}

/**
 * A KeyValueStore on Redis (ioredis). It connects in the background and
 * reconnects forever with capped backoff; boot never waits for it. The offline
 * queue is off and commands time out, so a call on a dead or unready Redis
 * rejects at once (GHOSTDNS_RUNTIME_KV_UNAVAILABLE) instead of queueing;
 * callers treat that as a miss. Errors are logged (rate limited), never thrown
 * out of an event handler. Values are stored with PX expiry and read as Buffers.
 */
export function createRedisKeyValueStore(options: RedisKeyValueStoreOptions): KeyValueStore {
  const { logger } = options;
  const where = maskUrl(options.url);
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const report = createRateLimitedReporter({
    intervalMs: options.errorLogIntervalMs ?? 10_000,
    emit: (error, context, suppressed) =>
      logger.warn({ redis: where, err: error, suppressed }, `redis ${context}: ${errorMessage(error)}`),
  });

  const client = new Redis(options.url, {
    keyPrefix: options.keyPrefix ?? 'ghostdns:',
    enableOfflineQueue: false,
    // Fail in-flight commands when the connection drops instead of replaying them later.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    retryStrategy: (attempt) => reconnectDelay(attempt, maxBackoffMs),
  });

  let closed = false;
  let closing: Promise<void> | undefined;
  let wasReady = false;
  client.on('error', (error: unknown) => report(error, 'connection error'));
  client.on('ready', () => {
    wasReady = true;
    logger.info({ redis: where }, 'redis ready');
  });
  client.on('reconnecting', (delayMs: number) => logger.debug({ redis: where, delayMs }, 'redis reconnecting'));
  client.on('close', () => {
    if (wasReady && !closed) logger.warn({ redis: where }, 'redis connection lost: reconnecting; store calls fail until it is back');
    wasReady = false;
  });

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (closed) throw closedError('redis');
    try {
      return await run();
    } catch (error) {
      if (closed) throw closedError('redis');
      report(error, `${operation} failed`);
      throw new RuntimeError('GHOSTDNS_RUNTIME_KV_UNAVAILABLE', `redis ${operation} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async function shutdown(): Promise<void> {
    try {
      if (client.status === 'ready') await client.quit();
    } catch (error) {
      logger.debug({ redis: where, err: error }, 'redis quit failed; disconnecting');
    } finally {
      // Stops reconnect timers and drops the socket whatever the state.
      client.disconnect(false);
    }
  }

  return {
    kind: 'redis',
    get(key) {
      return call('get', () => client.getBuffer(key));
    },
    getMany(keys) {
      if (keys.length === 0) return call('mget', async () => []);
      return call('mget', () => client.mgetBuffer(...keys));
    },
    async set(key, value, ttlMs) {
      checkValue(value);
      const px = ttlMillis(ttlMs);
      return call('set', async () => {
        await client.set(key, value, 'PX', px);
      });
    },
    delete(key) {
      return call('delete', async () => {
        await client.del(key);
      });
    },
    isHealthy() {
      return !closed && client.status === 'ready';
    },
    close() {
      closed = true;
      closing ??= shutdown();
      return closing;
    },
  };
}

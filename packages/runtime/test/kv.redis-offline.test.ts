import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@ghostdns/observability';
import { freePort, waitFor } from '@ghostdns/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisKeyValueStore } from '../src/kv/redis.js';
import type { KeyValueStore } from '../src/kv/types.js';
import { rejectsWithCode } from './kv-contract.js';

interface LogLine {
  level: number;
  msg: string;
  suppressed?: number;
}

function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: 'debug',
    name: 'kv-test',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as LogLine);
        done();
      },
    }),
  });
  return { logger, lines };
}

const WARN = 40;
const opened: KeyValueStore[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

describe('createRedisKeyValueStore without a reachable Redis', () => {
  it('rejects at once on a closed port (no queueing), stays unhealthy, logs rate limited', async () => {
    const port = await freePort();
    const { logger, lines } = capturingLogger();
    const store = createRedisKeyValueStore({
      url: `redis://127.0.0.1:${port}`,
      logger,
      // Far beyond the test timeout: a rejection can only come from the disabled offline queue.
      commandTimeoutMs: 600_000,
      maxBackoffMs: 20,
      errorLogIntervalMs: 600_000,
    });
    opened.push(store);

    // Before the first connection attempt has even failed.
    await rejectsWithCode(store.get('k'), 'GHOSTDNS_RUNTIME_KV_UNAVAILABLE');

    // After the connection was refused and is being retried.
    await waitFor(() => lines.filter((line) => line.msg === 'redis reconnecting').length >= 2, { description: 'two reconnect attempts' });
    expect(store.isHealthy()).toBe(false);
    await rejectsWithCode(store.get('k'), 'GHOSTDNS_RUNTIME_KV_UNAVAILABLE');
    await rejectsWithCode(store.getMany(['a', 'b']), 'GHOSTDNS_RUNTIME_KV_UNAVAILABLE');
    await rejectsWithCode(store.set('k', Buffer.from('v'), 1000), 'GHOSTDNS_RUNTIME_KV_UNAVAILABLE');
    await rejectsWithCode(store.delete('k'), 'GHOSTDNS_RUNTIME_KV_UNAVAILABLE');
    for (let i = 0; i < 50; i++) await store.get(`k${i}`).catch(() => undefined);

    // Many failures and reconnect attempts, one warning (the interval has not passed).
    expect(lines.filter((line) => line.level === WARN)).toHaveLength(1);

    await store.close();
    await rejectsWithCode(store.get('k'), 'GHOSTDNS_RUNTIME_KV_CLOSED');
  });

  it('a command that is never answered times out instead of hanging', async () => {
    // Answers the ready check (INFO) like a Redis, then never answers anything else.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('data', (chunk) => {
        if (/info/i.test(chunk.toString())) {
          const info = '# Server\r\nredis_version:7.0.0\r\nloading:0\r\n';
          socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
        }
      });
    });
    server.on('close', () => sockets.forEach((socket) => socket.destroy()));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;

    const { logger } = capturingLogger();
    const store = createRedisKeyValueStore({ url: `redis://127.0.0.1:${port}`, logger, commandTimeoutMs: 50 });
    opened.push(store);
    await waitFor(() => store.isHealthy(), { description: 'the stand-in Redis to be ready' });

    const attempt = store.get('k');
    await rejectsWithCode(attempt, 'GHOSTDNS_RUNTIME_KV_UNAVAILABLE');
    await expect(attempt).rejects.toThrow(/timed out/);
    sockets.forEach((socket) => socket.destroy());
  });
});

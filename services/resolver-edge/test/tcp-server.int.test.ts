// The TCP listener on loopback with a scripted resolver: pipelining with
// out-of-order answers, idle timeout, per-connection query cap, connection
// limit (RFC 7766 §6.2).
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { QueryHandler } from '../src/dns/handler.js';
import { silentLogger, type EdgeLogger } from '../src/metrics.js';
import type { Resolution, Resolver, ResolveRequest } from '../src/dns/resolver.js';
import { DnsTcpServer, type StreamLimits } from '../src/server/tcp-server.js';
import { frame, TcpFramer } from '../src/server/tcp-framing.js';
import { buildAnswer, buildQuery, waitFor } from './support.js';

/** Answers at once, except names starting with "slow" which wait for release(). */
class ScriptedResolver implements Resolver {
  private releases: (() => void)[] = [];
  slowWaiting = 0;
  async resolve(request: ResolveRequest): Promise<Resolution> {
    if (request.question.name.startsWith('slow')) {
      this.slowWaiting++;
      await new Promise<void>((r) => this.releases.push(r));
    }
    return { response: buildAnswer(request.query), cacheStatus: 'MISS', policyAction: 'PASS', upstream: null, upstreamLatencyUs: null };
  }
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

const servers: DnsTcpServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.stop(1000);
});

async function start(limits: StreamLimits = {}, resolver: Resolver = new ScriptedResolver(), logger: EdgeLogger = silentLogger): Promise<DnsTcpServer> {
  const handler = new QueryHandler({ resolver, server: 'dns://test' });
  const server = new DnsTcpServer({ listen: { host: '127.0.0.1', port: 0, family: 'IPv4' }, handler, logger, ...limits });
  await server.start();
  servers.push(server);
  return server;
}

function client(server: DnsTcpServer): { socket: Socket; answers: number[]; closed: Promise<unknown> } {
  const socket = connect({ host: '127.0.0.1', port: server.address().port });
  sockets.push(socket);
  const framer = new TcpFramer();
  const answers: number[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const m of framer.push(chunk)) answers.push(m.readUInt16BE(0));
  });
  socket.on('error', () => undefined);
  return { socket, answers, closed: once(socket, 'close') };
}

describe('DnsTcpServer', () => {
  it('answers three pipelined queries in one write out of order: the slow first one last', async () => {
    const resolver = new ScriptedResolver();
    const server = await start({}, resolver);
    const c = client(server);
    c.socket.write(Buffer.concat([
      frame(buildQuery('slow.test', { id: 1 })),
      frame(buildQuery('b.test', { id: 2 })),
      frame(buildQuery('c.test', { id: 3 })),
    ]));
    await waitFor(() => c.answers.length === 2 && resolver.slowWaiting === 1, 5000, 'the fast answers');
    expect(c.answers.sort()).toEqual([2, 3]);
    resolver.release();
    await waitFor(() => c.answers.length === 3, 5000, 'the slow answer');
    expect(c.answers[2]).toBe(1);
  });

  it('closes an idle connection after dns.tcpIdleTimeoutMs', async () => {
    const server = await start({ idleTimeoutMs: 150 });
    const c = client(server);
    c.socket.write(frame(buildQuery('a.test', { id: 9 })));
    await c.closed; // the server ends it; no client action
    expect(c.answers).toEqual([9]);
  });

  it('does not close while an answer is pending, even when idle', async () => {
    const resolver = new ScriptedResolver();
    let idleWhileAnswering = 0;
    const logger = { ...silentLogger, debug: (_o: object, msg?: string) => void (msg === 'stream idle while answering' && idleWhileAnswering++) };
    const server = await start({ idleTimeoutMs: 100 }, resolver, logger);
    const c = client(server);
    c.socket.write(frame(buildQuery('slow.test', { id: 4 })));
    await waitFor(() => resolver.slowWaiting === 1, 5000, 'slow query');
    // Two idle periods pass with the answer pending: the connection stays.
    await waitFor(() => idleWhileAnswering >= 2, 5000, 'two idle periods');
    expect(c.socket.destroyed).toBe(false);
    resolver.release();
    await c.closed;
    expect(c.answers).toEqual([4]);
  });

  it('answers dns.tcpMaxQueriesPerConnection queries, then closes', async () => {
    const server = await start({ maxQueriesPerConnection: 2 });
    const c = client(server);
    c.socket.write(Buffer.concat([1, 2, 3].map((id) => frame(buildQuery('a.test', { id })))));
    await c.closed;
    expect(c.answers.sort()).toEqual([1, 2]);
  });

  it('closes connections over dns.tcpMaxConnections at once', async () => {
    const server = await start({ maxConnections: 1 });
    const first = client(server);
    first.socket.write(frame(buildQuery('a.test', { id: 1 })));
    await waitFor(() => first.answers.length === 1, 5000, 'first connection answered');
    const second = client(server);
    second.socket.write(frame(buildQuery('a.test', { id: 2 })));
    await second.closed;
    expect(second.answers).toEqual([]);
    expect(server.openConnections).toBe(1);
    // Once the first goes, a new one is served.
    first.socket.destroy();
    await waitFor(() => server.openConnections === 0, 5000, 'first connection gone');
    const third = client(server);
    third.socket.write(frame(buildQuery('a.test', { id: 3 })));
    await waitFor(() => third.answers.length === 1, 5000, 'third connection answered');
  });

  it('a malformed message ends the connection after pending answers', async () => {
    const server = await start();
    const c = client(server);
    c.socket.write(Buffer.concat([frame(buildQuery('a.test', { id: 5 })), frame(Buffer.from([1, 2, 3]))]));
    await c.closed;
    expect(c.answers).toEqual([5]);
  });
});

import { describe, expect, it, vi } from 'vitest';
import { CloseCodes, LiveEventFanout } from '../src/fanout.js';
import type { DropReason, FanoutMetrics, ServerCloseReason } from '../src/fanout.js';
import { LiveEventMapper } from '../src/mapper.js';
import { presenceEvent, queryEvent } from './fixtures.js';
import { StubSocket } from './stub-socket.js';

class RecordingMetrics implements FanoutMetrics {
  clientCount = 0;
  sentTotal = 0;
  readonly drops = new Map<DropReason, number>();
  readonly closes = new Map<ServerCloseReason, number>();
  clients(count: number): void {
    this.clientCount = count;
  }
  sent(count: number): void {
    this.sentTotal += count;
  }
  dropped(reason: DropReason, count: number): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + count);
  }
  serverClosed(reason: ServerCloseReason): void {
    this.closes.set(reason, (this.closes.get(reason) ?? 0) + 1);
  }
}

const mapper = new LiveEventMapper();
const dns = mapper.query(queryEvent({ client_ip: '192.0.2.10' }));
const tailnet = mapper.query(queryEvent({ client_ip: '100.64.0.5', event_id: 'e-2' }));
const online = mapper.presence(presenceEvent());

function setup(options: ConstructorParameters<typeof LiveEventFanout>[0] = {}) {
  const metrics = new RecordingMetrics();
  const fanout = new LiveEventFanout(options, metrics);
  return { metrics, fanout };
}

describe('LiveEventFanout', () => {
  it('serialises each event once and sends the same string to every client', () => {
    const { fanout, metrics } = setup();
    const a = new StubSocket();
    const b = new StubSocket();
    expect(fanout.accept(a, '/ws/events')).toEqual({ accepted: true });
    expect(fanout.accept(b, '/ws/events')).toEqual({ accepted: true });
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      fanout.broadcast([dns, online]);
      expect(stringify).toHaveBeenCalledTimes(2);
    } finally {
      stringify.mockRestore();
    }
    expect(a.sent).toHaveLength(2);
    expect(a.sent[0]).toBe(b.sent[0]);
    expect(a.messages()).toEqual([dns, online]);
    expect(metrics.sentTotal).toBe(4);
    expect(metrics.clientCount).toBe(2);
  });

  it('does no work without clients', () => {
    const { fanout, metrics } = setup();
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      fanout.broadcast([dns]);
      expect(stringify).not.toHaveBeenCalled();
    } finally {
      stringify.mockRestore();
    }
    expect(metrics.sentTotal).toBe(0);
  });

  it('drops for a slow client only, and counts it', () => {
    const { fanout, metrics } = setup({ maxBufferedBytes: 1000 });
    const slow = new StubSocket();
    const fast = new StubSocket();
    fanout.accept(slow, '/ws/events');
    fanout.accept(fast, '/ws/events');
    slow.bufferedAmount = 1001;
    fanout.broadcast([dns, tailnet, online]);
    expect(slow.sent).toHaveLength(0);
    expect(fast.sent).toHaveLength(3);
    expect(metrics.drops.get('backpressure')).toBe(3);
    expect(metrics.sentTotal).toBe(3);

    // Once it drains, it gets messages again.
    slow.bufferedAmount = 1000;
    fanout.broadcast([dns]);
    expect(slow.sent).toHaveLength(1);
  });

  it('counts sends to sockets that are not open and send errors as drops', () => {
    const { fanout, metrics } = setup();
    const closing = new StubSocket();
    const broken = new StubSocket();
    const ok = new StubSocket();
    fanout.accept(closing, '/ws/events');
    fanout.accept(broken, '/ws/events');
    fanout.accept(ok, '/ws/events');
    closing.readyState = 2;
    broken.throwOnSend = true;
    fanout.broadcast([dns]);
    expect(metrics.drops.get('not_open')).toBe(1);
    expect(metrics.drops.get('send_error')).toBe(1);
    expect(ok.sent).toHaveLength(1);
  });

  it('applies per-connection filters', () => {
    const { fanout } = setup();
    const onlyTailnet = new StubSocket();
    const onlyClient = new StubSocket();
    const all = new StubSocket();
    fanout.accept(onlyTailnet, '/ws/events?types=tailscale_query,device_online');
    fanout.accept(onlyClient, '/ws/events?client=192.0.2.10');
    fanout.accept(all, '/ws/events');
    fanout.broadcast([dns, tailnet, online]);
    expect(onlyTailnet.messages()).toEqual([tailnet, online]);
    expect(onlyClient.messages()).toEqual([dns]);
    expect(all.messages()).toEqual([dns, tailnet, online]);
  });

  it.each([
    ['/ws/events?types=bogus', /^bad filter: unknown type "bogus"$/],
    ['/ws/events?client=not-an-ip', /^bad filter: client "not-an-ip" is not an IP address$/],
  ])('closes %s with 1008 and a reason', (url, reason) => {
    const { fanout, metrics } = setup();
    const socket = new StubSocket();
    const result = fanout.accept(socket, url);
    expect(result.accepted).toBe(false);
    expect(socket.closedWith?.code).toBe(CloseCodes.policyViolation);
    expect(socket.closedWith?.reason).toMatch(reason);
    expect(fanout.size).toBe(0);
    expect(metrics.closes.get('bad_filter')).toBe(1);
  });

  it('keeps close reasons within 123 printable ASCII bytes', () => {
    const { fanout } = setup();
    const socket = new StubSocket();
    fanout.accept(socket, `/ws/events?client=${encodeURIComponent('é'.repeat(200))}`);
    const reason = socket.closedWith?.reason ?? '';
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toMatch(/^[\x20-\x7e]+$/);
  });

  it('enforces the connection limit with 1013', () => {
    const { fanout, metrics } = setup({ maxClients: 2 });
    fanout.accept(new StubSocket(), '/ws/events');
    fanout.accept(new StubSocket(), '/ws/events');
    const third = new StubSocket();
    expect(fanout.accept(third, '/ws/events')).toMatchObject({ accepted: false, reason: 'connection_limit' });
    expect(third.closedWith?.code).toBe(CloseCodes.tryAgainLater);
    expect(fanout.size).toBe(2);
    expect(metrics.closes.get('connection_limit')).toBe(1);
  });

  it('forgets a client when its socket closes', () => {
    const { fanout, metrics } = setup({ maxClients: 1 });
    const a = new StubSocket();
    fanout.accept(a, '/ws/events');
    a.finishClose();
    expect(fanout.size).toBe(0);
    expect(metrics.clientCount).toBe(0);
    expect(fanout.accept(new StubSocket(), '/ws/events')).toEqual({ accepted: true });
  });

  it('always listens for socket errors (an unhandled error event would crash the process)', () => {
    const { fanout } = setup();
    const ok = new StubSocket();
    const rejected = new StubSocket();
    fanout.accept(ok, '/ws/events');
    fanout.accept(rejected, '/ws/events?types=nope');
    expect(ok.listenerCount('error')).toBe(1);
    expect(rejected.listenerCount('error')).toBe(1);
  });

  it('heartbeat: pings live clients and terminates the ones that missed a pong', () => {
    const { fanout, metrics } = setup();
    const responsive = new StubSocket();
    const dead = new StubSocket();
    fanout.accept(responsive, '/ws/events');
    fanout.accept(dead, '/ws/events');

    fanout.heartbeatTick();
    expect(responsive.pings).toBe(1);
    expect(dead.pings).toBe(1);
    responsive.emit('pong');

    fanout.heartbeatTick();
    expect(dead.terminated).toBe(true);
    expect(responsive.terminated).toBe(false);
    expect(responsive.pings).toBe(2);
    expect(fanout.size).toBe(1);
    expect(metrics.closes.get('heartbeat_timeout')).toBe(1);
    expect(metrics.clientCount).toBe(1);
  });

  it('closeAll closes every client with 1001 and resolves when they are gone', async () => {
    const { fanout, metrics } = setup();
    const a = new StubSocket();
    const b = new StubSocket();
    fanout.accept(a, '/ws/events');
    fanout.accept(b, '/ws/events');
    const done = fanout.closeAll();
    expect(a.closedWith).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(b.closedWith?.code).toBe(1001);
    a.finishClose();
    b.finishClose();
    await done;
    expect(fanout.size).toBe(0);
    expect(metrics.clientCount).toBe(0);
    expect(a.terminated).toBe(false);
  });

  it('closeAll terminates clients that never finish the close handshake', async () => {
    vi.useFakeTimers();
    try {
      const { fanout } = setup({ closeGraceMs: 500 });
      const stuck = new StubSocket();
      fanout.accept(stuck, '/ws/events');
      const done = fanout.closeAll();
      await vi.advanceTimersByTimeAsync(500);
      await done;
      expect(stuck.terminated).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('startHeartbeat runs heartbeatTick on its interval until stopped', async () => {
    vi.useFakeTimers();
    try {
      const { fanout } = setup({ heartbeatIntervalMs: 1000 });
      const s = new StubSocket();
      fanout.accept(s, '/ws/events');
      fanout.startHeartbeat();
      await vi.advanceTimersByTimeAsync(1000);
      expect(s.pings).toBe(1);
      fanout.stopHeartbeat();
      await vi.advanceTimersByTimeAsync(5000);
      expect(s.pings).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

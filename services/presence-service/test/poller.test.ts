import { describe, expect, it, vi } from 'vitest';
import { PresencePoller } from '../src/poller.js';
import type { PollerLogger, PollerMetrics } from '../src/poller.js';
import type { ObservationSink, PeerObservation, PresenceSource } from '../src/presence-source.js';

const peer: PeerObservation = {
  source: 'WIREGUARD',
  deviceId: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  name: 'laptop',
  domain: null,
  interface: 'wg0',
  addresses: ['10.8.0.2/32'],
  lastHandshakeUs: 1_700_000_000_000_000,
  observedAtUs: 1_700_000_001_000_000,
  rxBytes: 1200,
  persistentKeepaliveSec: null,
};

const quietLogger = (): PollerLogger & { warnings: unknown[] } => {
  const warnings: unknown[] = [];
  return { warnings, debug: () => undefined, warn: (obj) => warnings.push(obj) };
};

class RecordingSink implements ObservationSink {
  readonly seen: { sourceId: string; peers: readonly PeerObservation[] }[] = [];
  async observe(sourceId: string, peers: readonly PeerObservation[]): Promise<void> {
    this.seen.push({ sourceId, peers });
  }
}

describe('PresencePoller', () => {
  it('hands each successful poll to the sink and isolates a failing source', async () => {
    const sink = new RecordingSink();
    const logger = quietLogger();
    const polled: [string, string, number][] = [];
    const metrics: PollerMetrics = { polled: (id, outcome, n) => polled.push([id, outcome, n]) };
    const good: PresenceSource = { id: 'wireguard:wg0', poll: async () => [peer] };
    const bad: PresenceSource = { id: 'wireguard:wg1', poll: async () => Promise.reject(new Error('wg: permission denied')) };
    const poller = new PresencePoller([good, bad], sink, 1000, logger, metrics, () => 42);

    const results = await poller.pollOnce();

    expect(results).toEqual([
      { sourceId: 'wireguard:wg0', ok: true, peers: 1 },
      { sourceId: 'wireguard:wg1', ok: false, peers: 0, error: new Error('wg: permission denied') },
    ]);
    expect(sink.seen).toEqual([{ sourceId: 'wireguard:wg0', peers: [peer] }]);
    expect(polled).toEqual([
      ['wireguard:wg0', 'ok', 1],
      ['wireguard:wg1', 'error', 0],
    ]);
    expect(logger.warnings).toHaveLength(1);
    expect(poller.lastRoundFinishedAt).toBe(42);
  });

  it('does not start without sources', () => {
    const poller = new PresencePoller([], new RecordingSink(), 1000, quietLogger());
    poller.start();
    expect(poller.isRunning).toBe(false);
  });

  it('polls immediately, then every interval, never overlapping, until stopped', async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      let concurrent = 0;
      let maxConcurrent = 0;
      const slow: PresenceSource = {
        id: 'slow',
        poll: async () => {
          calls++;
          concurrent++;
          maxConcurrent = Math.max(maxConcurrent, concurrent);
          await new Promise((r) => setTimeout(r, 2500));
          concurrent--;
          return [];
        },
      };
      const poller = new PresencePoller([slow], new RecordingSink(), 1000, quietLogger());
      poller.start();
      expect(poller.isRunning).toBe(true);
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toBe(1);
      // Round 1 ends at 2500, round 2 starts at 3500 and ends at 6000, round 3 starts at 7000.
      await vi.advanceTimersByTimeAsync(7000);
      expect(calls).toBe(3);
      expect(maxConcurrent).toBe(1);
      const stopped = poller.stop();
      await vi.advanceTimersByTimeAsync(2500);
      await stopped;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(calls).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});

import { describe, expect, it, vi } from 'vitest';
import { Topics } from '@ghostdns/contracts';
import { BusErrorCode, createInProcessBus, isBusError } from '../src/index.js';
import { runEventBusContract } from './contract.js';
import { makeQueryEvent, memoryLogger, uniqueId, waitFor } from './helpers.js';

runEventBusContract('InProcessBus', () =>
  createInProcessBus({ logger: memoryLogger(), retry: { initialMs: 5, maxMs: 20 } }),
);

describe('InProcessBus specifics', () => {
  it('bounds retention per topic and tells a lagging group it lost messages', async () => {
    const logger = memoryLogger();
    const bus = createInProcessBus({ logger, maxRetainedPerTopic: 4, partitions: 1 });
    await bus.connect();
    const events = Array.from({ length: 10 }, () => makeQueryEvent());
    await bus.publish(Topics.queries, events);
    const seen: string[] = [];
    const sub = await bus.subscribe(
      Topics.queries,
      async (b) => {
        seen.push(...b.values.map((v) => v.event_id));
      },
      { groupId: 'late', fromBeginning: true },
    );
    await waitFor(() => seen.length >= 4, 'retained events');
    expect(seen).toEqual(events.slice(6).map((e) => e.event_id));
    await sub.close();
    await bus.close();
  });

  it('a group subscribing without fromBeginning starts at the end', async () => {
    const bus = createInProcessBus({ logger: memoryLogger() });
    await bus.connect();
    const old = makeQueryEvent();
    await bus.publish(Topics.queries, [old]);
    const seen: string[] = [];
    await bus.subscribe(
      Topics.queries,
      async (b) => {
        seen.push(...b.values.map((v) => v.event_id));
      },
      { groupId: 'tail' },
    );
    const fresh = makeQueryEvent();
    await bus.publish(Topics.queries, [fresh]);
    await waitFor(() => seen.length >= 1, 'fresh event');
    expect(seen).toEqual([fresh.event_id]);
    await bus.close();
  });

  it('refuses use before connect() and a second member of the same group', async () => {
    const bus = createInProcessBus({ logger: memoryLogger() });
    await expect(bus.publish(Topics.queries, [makeQueryEvent()])).rejects.toSatisfy((e: unknown) =>
      isBusError(e, BusErrorCode.NotConnected),
    );
    await bus.connect();
    const groupId = uniqueId('g');
    await bus.subscribe(Topics.queries, async () => undefined, { groupId });
    await expect(bus.subscribe(Topics.queries, async () => undefined, { groupId })).rejects.toSatisfy((e: unknown) =>
      isBusError(e, BusErrorCode.DuplicateSubscription),
    );
    await bus.close();
  });

  it('close() cuts a backoff short, leaves the batch uncommitted and no timer behind', async () => {
    // Track the bus's own timers: counting every live Timeout in the process is
    // at the mercy of whatever else the worker is doing.
    const setSpy = vi.spyOn(globalThis, 'setTimeout');
    const clearSpy = vi.spyOn(globalThis, 'clearTimeout');
    // backoffDelay jitters within the upper half: 30 s to 60 s here.
    const backoffTimers = (): unknown[] =>
      setSpy.mock.calls.flatMap((call, i) => ((call[1] ?? 0) >= 30_000 ? [setSpy.mock.results[i]?.value as unknown] : []));
    try {
      const bus = createInProcessBus({ logger: memoryLogger(), retry: { initialMs: 60_000, maxMs: 60_000 } });
      await bus.connect();
      let calls = 0;
      await bus.subscribe(
        Topics.queries,
        async () => {
          calls++;
          throw new Error('down');
        },
        { groupId: 'slow', fromBeginning: true },
      );
      await bus.publish(Topics.queries, [makeQueryEvent()]);
      await waitFor(() => calls === 1 && backoffTimers().length === 1, 'first attempt and its backoff timer');
      // Would hang for a minute if the backoff timer were not cancelled.
      await bus.close();
      expect(calls).toBe(1);
      const cleared = new Set(clearSpy.mock.calls.map((call) => call[0]));
      expect(backoffTimers().every((timer) => cleared.has(timer as NodeJS.Timeout))).toBe(true);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    }
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { Topics, type QueryEvent } from '@ghostdns/contracts';
import { BusError, BusErrorCode, type DecodedBatch, type EventBus, type Subscription } from '../src/index.js';
import { makeQueryEvent, uniqueId, waitFor } from './helpers.js';

export interface ContractOptions {
  /** Deadline for each wait; Kafka group joins take seconds. */
  timeoutMs?: number;
}

/**
 * The semantics every EventBus must have, run against InProcessBus and KafkaBus.
 * Topics are the real contracts topics (shared across tests and runs), so each
 * test uses fresh group ids and only looks at the event_ids it published.
 */
export function runEventBusContract(
  name: string,
  makeBus: () => EventBus | Promise<EventBus>,
  options: ContractOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const topic = Topics.queries;

  describe(`EventBus contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      while (cleanups.length > 0) await cleanups.pop()!();
    });

    async function openBus(): Promise<EventBus> {
      const bus = await makeBus();
      await bus.connect();
      cleanups.push(() => bus.close());
      return bus;
    }

    /** Subscribes a group and records, in order, the events among `ids` from batches the handler resolved. */
    async function collect(
      bus: EventBus,
      groupId: string,
      ids: ReadonlySet<string>,
      onBatch?: (mine: QueryEvent[], batch: DecodedBatch<typeof topic>) => void,
    ): Promise<{ seen: QueryEvent[]; sub: Subscription }> {
      const seen: QueryEvent[] = [];
      const sub = await bus.subscribe(
        topic,
        async (batch) => {
          const mine = batch.values.filter((v) => ids.has(v.event_id));
          onBatch?.(mine, batch); // may throw: the batch is then not committed
          seen.push(...mine);
        },
        { groupId, fromBeginning: true },
      );
      return { seen, sub };
    }

    it('round-trips every field of an event and reports healthy while connected', async () => {
      const bus = await openBus();
      expect(bus.isHealthy()).toBe(true);
      const full = makeQueryEvent({ client_ip: uniqueId('rt') });
      const nulls = makeQueryEvent({
        client_ip: full.client_ip,
        response_time_us: null,
        rcode: null,
        upstream: null,
        upstream_latency_us: null,
        query_wire: null,
        response_wire: null,
        source: 'BIND_QUERYLOG',
        transport: 'DOH',
        cache_status: 'UNKNOWN',
        policy_action: 'BLOCKED',
      });
      const ids = new Set([full.event_id, nulls.event_id]);
      const { seen } = await collect(bus, uniqueId('g-rt'), ids);
      await bus.publish(topic, [full, nulls]);
      await waitFor(() => seen.length >= 2, 'both events', timeoutMs);
      expect(seen).toEqual([full, nulls]);
      expect(Buffer.isBuffer(seen[0].query_wire)).toBe(true);
    });

    it('preserves publish order per key', async () => {
      const bus = await openBus();
      const keys = [uniqueId('ka'), uniqueId('kb'), uniqueId('kc')];
      const published: QueryEvent[] = [];
      for (let round = 0; round < 4; round++) {
        const chunk = keys.flatMap((k) => [makeQueryEvent({ client_ip: k }), makeQueryEvent({ client_ip: k })]);
        published.push(...chunk);
      }
      const ids = new Set(published.map((e) => e.event_id));
      const { seen } = await collect(bus, uniqueId('g-order'), ids);
      for (let i = 0; i < published.length; i += 6) await bus.publish(topic, published.slice(i, i + 6));
      await waitFor(() => seen.length >= published.length, 'all ordered events', timeoutMs);
      for (const k of keys) {
        const want = published.filter((e) => e.client_ip === k).map((e) => e.event_id);
        const got = seen.filter((e) => e.client_ip === k).map((e) => e.event_id);
        expect(got).toEqual(want);
      }
    });

    it('delivers every message to each of two consumer groups', async () => {
      const bus = await openBus();
      const events = Array.from({ length: 8 }, (_, i) => makeQueryEvent({ client_ip: `${uniqueId('two')}-${i}` }));
      const ids = new Set(events.map((e) => e.event_id));
      const a = await collect(bus, uniqueId('g-a'), ids);
      const b = await collect(bus, uniqueId('g-b'), ids);
      await bus.publish(topic, events);
      await waitFor(() => a.seen.length >= 8 && b.seen.length >= 8, 'both groups to see all events', timeoutMs);
      expect(new Set(a.seen.map((e) => e.event_id))).toEqual(ids);
      expect(new Set(b.seen.map((e) => e.event_id))).toEqual(ids);
    });

    it('redelivers a rejected batch until it succeeds, then never again (no loss, no duplicate)', async () => {
      const bus = await openBus();
      const key = uniqueId('retry');
      const events = Array.from({ length: 5 }, () => makeQueryEvent({ client_ip: key }));
      const ids = new Set(events.map((e) => e.event_id));
      const failedAttempts: string[][] = [];
      const { seen } = await collect(bus, uniqueId('g-retry'), ids, (mine) => {
        if (mine.length > 0 && failedAttempts.length < 2) {
          failedAttempts.push(mine.map((e) => e.event_id));
          throw new Error(`transient sink failure #${failedAttempts.length}`);
        }
      });
      await bus.publish(topic, events);
      await waitFor(() => seen.length >= events.length, 'all events after two failures', timeoutMs);
      expect(failedAttempts).toHaveLength(2);
      // The second attempt is the same batch again, and the success starts with it.
      expect(failedAttempts[1]).toEqual(failedAttempts[0]);
      const seenIds = seen.map((e) => e.event_id);
      expect(seenIds.slice(0, failedAttempts[0].length)).toEqual(failedAttempts[0]);
      expect(seenIds).toEqual(events.map((e) => e.event_id));
    });

    it('commits offsets only after the handler resolves', async () => {
      const bus = await openBus();
      const groupId = uniqueId('g-commit');
      const key = uniqueId('commit');
      const first = Array.from({ length: 3 }, () => makeQueryEvent({ client_ip: key }));
      const second = Array.from({ length: 3 }, () => makeQueryEvent({ client_ip: key }));
      const firstIds = new Set(first.map((e) => e.event_id));
      const secondIds = new Set(second.map((e) => e.event_id));
      const all = new Set([...firstIds, ...secondIds]);

      // 1) First subscription handles `first` successfully: committed.
      const s1 = await collect(bus, groupId, all);
      await bus.publish(topic, first);
      await waitFor(() => s1.seen.length >= first.length, 'first events', timeoutMs);
      await s1.sub.close();

      // 2) Second subscription of the same group always rejects: `second` stays uncommitted.
      const rejected: string[] = [];
      const s2 = await collect(bus, groupId, all, (mine) => {
        // Only batches holding our events fail: a batch of another test's events
        // (other partitions, read from the beginning) failing forever would hold
        // the consumer in backoff and starve the partition with `second`.
        if (mine.length === 0) return;
        rejected.push(...mine.map((e) => e.event_id));
        throw new Error('sink down');
      });
      await bus.publish(topic, second);
      await waitFor(() => second.every((e) => rejected.includes(e.event_id)), 'second events offered', timeoutMs);
      await s2.sub.close();
      expect(rejected.some((id) => firstIds.has(id))).toBe(false);
      expect(s2.seen).toEqual([]);

      // 3) Third subscription gets exactly the uncommitted events again.
      const s3 = await collect(bus, groupId, all);
      await waitFor(() => s3.seen.length >= second.length, 'uncommitted events redelivered', timeoutMs);
      expect(s3.seen.map((e) => e.event_id)).toEqual(second.map((e) => e.event_id));
      await s3.sub.close();
    });

    it('close() is idempotent and a closed bus refuses to publish', async () => {
      const bus = await openBus();
      const sub = await bus.subscribe(topic, async () => undefined, { groupId: uniqueId('g-close') });
      await Promise.all([sub.close(), sub.close()]);
      await sub.close();
      await bus.close();
      await bus.close();
      expect(bus.isHealthy()).toBe(false);
      await expect(bus.publish(topic, [makeQueryEvent()])).rejects.toSatisfy(
        (err: unknown) => err instanceof BusError && err.code === BusErrorCode.Closed,
      );
    });
  });
}

import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Subscription } from '@ghostdns/bus';
import { Topics, type DeadLetter, type QueryEvent, type SecurityEvent } from '@ghostdns/contracts';
import { migrate, openDatabase, type Database } from '@ghostdns/db';
import { createHttpApp } from '@ghostdns/runtime';
import { createScratchDatabase, requireComponent, type ScratchDatabase } from '@ghostdns/testkit';
import { TUNNEL_MIN_UNIQUE_NAMES } from '../src/detection/detectors.js';
import { IngestWorkerModule } from '../src/module.js';
import { tunnelName } from './detection-support.js';
import { device, QUERY_TIME_US, queryEvent, securityEvent } from './fixtures.js';
import { openTestDatabase, silentDbLogger, type Engine } from './support/database.js';
import { testRuntime, waitFor } from './support/runtime.js';

// The detectors end to end on the in-process bus: a tunnelling stream becomes exactly one
// SecurityEvent on security.events.v1 and one security_events row. PostgreSQL in a scratch
// database; the TimescaleDB stand-in is one shared session, so rows there are the test's own
// client's and are removed afterwards.

interface Store {
  db: Database;
  close(): Promise<void>;
}

async function openStore(engine: Engine): Promise<Store> {
  if (engine === 'timescaledb') {
    const db = await openTestDatabase(engine);
    return { db, close: () => db.close() };
  }
  const scratch: ScratchDatabase = await createScratchDatabase(requireComponent('postgres'));
  const db = await openDatabase(scratch.url, { logger: silentDbLogger, poolSize: 4 });
  await migrate(db, { logger: silentDbLogger });
  return {
    db,
    close: async () => {
      await db.close();
      await scratch.drop();
    },
  };
}

describe.each(['postgres', 'timescaledb'] as const)('security detections on %s', (engine) => {
  let store: Store;
  let runtime: ReturnType<typeof testRuntime>;
  let app: NestFastifyApplication | undefined;
  const watchers: Subscription[] = [];
  const seen: SecurityEvent[] = [];
  const letters: DeadLetter[] = [];
  const client = `10.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
  const queryIds: string[] = [];

  beforeAll(async () => {
    store = await openStore(engine);
    runtime = testRuntime(store.db);
    await runtime.bus.connect();
    watchers.push(
      await runtime.bus.subscribe(Topics.security, async (batch) => void seen.push(...batch.values), { groupId: 'security-watcher' }),
      await runtime.bus.subscribe(Topics.queriesDeadLetter, async (batch) => void letters.push(...batch.values), { groupId: 'dlq-watcher' }),
    );
    app = await createHttpApp(runtime, [IngestWorkerModule]);
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all(watchers.map((w) => w.close()));
    await runtime?.bus.close();
    if (store !== undefined) {
      await store.db.pool.query('DELETE FROM security_events WHERE client_ip = $1::inet', [client]);
      await store.db.pool.query('DELETE FROM dns_queries WHERE event_id = ANY($1::uuid[])', [queryIds]);
      await store.close();
    }
  });

  function tunnelStream(count: number, fromSecond: number): QueryEvent[] {
    return Array.from({ length: count }, (_, i) => {
      const at = QUERY_TIME_US + (fromSecond + i) * 1_000_000;
      const event = queryEvent({
        qname: tunnelName(fromSecond + i),
        qtype: 16,
        client_ip: client,
        device: device(),
        query_time_us: at,
        response_time_us: at + 700,
      });
      queryIds.push(event.event_id);
      return event;
    });
  }

  async function rows(): Promise<Record<string, unknown>[]> {
    const result = await store.db.pool.query<Record<string, unknown>>(
      `SELECT event_id::text, detected_at, node_id, kind, severity, host(client_ip) AS client, qname, details
       FROM security_events WHERE client_ip = $1::inet ORDER BY detected_at, event_id`,
      [client],
    );
    return result.rows;
  }

  /** Publishes a marker event for the client and waits until it is stored: everything published before it was handled. */
  async function settle(): Promise<void> {
    const marker = securityEvent({ client_ip: client, kind: 'test-marker', severity: 'LOW', qname: null, details: {} });
    await runtime.bus.publish(Topics.security, [marker]);
    await waitFor(async () => (await rows()).some((r) => r.event_id === marker.event_id), 'the marker security event stored');
  }

  it('a tunnelling stream yields exactly one tunneling row and one message on security.events.v1', async () => {
    // In three batches, with more names than the threshold: the detection fires once, then cools down.
    await runtime.bus.publish(Topics.queries, tunnelStream(20, 0));
    await runtime.bus.publish(Topics.queries, tunnelStream(20, 20));
    await runtime.bus.publish(Topics.queries, tunnelStream(20, 40));
    await waitFor(async () => (await rows()).some((r) => r.kind === 'tunneling'), 'a tunneling row');
    await waitFor(async () => {
      const stored = await store.db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM dns_queries WHERE event_id = ANY($1::uuid[])', [queryIds]);
      return stored.rows[0]?.n === String(queryIds.length);
    }, 'every query stored');
    await settle();

    const tunneling = (await rows()).filter((r) => r.kind === 'tunneling');
    expect(tunneling).toHaveLength(1);
    const [row] = tunneling;
    const [message] = seen.filter((e) => e.kind === 'tunneling');
    expect(seen.filter((e) => e.kind === 'tunneling')).toHaveLength(1);
    expect(row).toMatchObject({
      event_id: message?.event_id,
      node_id: runtime.config.node.id,
      severity: 'HIGH',
      client,
      qname: tunnelName(TUNNEL_MIN_UNIQUE_NAMES - 1),
    });
    expect(row?.details).toMatchObject({
      apex: 'example.net',
      unique_names: String(TUNNEL_MIN_UNIQUE_NAMES),
      threshold: String(TUNNEL_MIN_UNIQUE_NAMES),
      window_seconds: '60',
      device_source: 'wireguard',
      device_id: device().device_id,
      device_name: 'laptop',
    });
    expect((row?.detected_at as Date).getTime()).toBe(Math.floor((message?.detected_at_us ?? 0) / 1000));
    expect(await runtime.metrics.metrics()).toMatch(/^ghostdns_ingest_detections_total\{kind="tunneling"\} 1$/m);
  });

  it('stores a redelivered security event once, and dead-letters a refused one with its reason', async () => {
    const event = securityEvent({ client_ip: client, kind: 'external-detector', severity: 'CRITICAL' });
    const refused = securityEvent({ client_ip: client, details: { count: 3 } as unknown as Record<string, string> });
    await runtime.bus.publish(Topics.security, [event, refused]);
    await runtime.bus.publish(Topics.security, [event]);
    await settle();
    expect((await rows()).filter((r) => r.event_id === event.event_id)).toHaveLength(1);
    await waitFor(async () => letters.some((l) => l.source_topic === Topics.security), 'the refused event dead-lettered');
    const [letter] = letters.filter((l) => l.source_topic === Topics.security);
    expect(letter?.reason).toMatch(/^invalid_details: details\.count=3$/);
    expect(JSON.parse(letter?.payload.toString() ?? '{}')).toMatchObject({ event_id: refused.event_id });
  });

  it('reports all three consumers attached', async () => {
    expect((await runtime.readiness.check()).probes['ingest-worker.subscription']).toEqual({ ok: true });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Topics, type DeadLetter } from '@ghostdns/contracts';
import type { Database } from '@ghostdns/db';
import { createHttpApp } from '@ghostdns/runtime';
import { IngestWorkerModule } from '../src/module.js';
import { ENGINES, openTestDatabase } from './support/database.js';
import { testRuntime, waitFor } from './support/runtime.js';
import { device, presenceEvent, queryEvent } from './fixtures.js';

describe.each(ENGINES)('IngestWorkerModule on %s', (engine) => {
  let db: Database;
  let runtime: ReturnType<typeof testRuntime>;
  let app: NestFastifyApplication | undefined;
  const ids: string[] = [];
  const presenceIds: string[] = [];

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    runtime = testRuntime(db);
    await runtime.bus.connect();
    app = await createHttpApp(runtime, [IngestWorkerModule]);
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await runtime?.bus.close();
    if (db !== undefined) {
      await db.pool.query('DELETE FROM dns_queries WHERE event_id = ANY($1::uuid[])', [ids]);
      await db.pool.query('DELETE FROM presence_history WHERE event_id = ANY($1::uuid[])', [presenceIds]);
      await db.close();
    }
  });

  async function stored(): Promise<number> {
    const result = await db.pool.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM dns_queries WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    return Number(result.rows[0]?.n ?? '0');
  }

  it('consumes dns.queries.v1 into dns_queries, counting rejects', async () => {
    const good = [queryEvent(), queryEvent({ qname: 'foo.github.io' }), queryEvent({ client_ip: '2001:db8::53' })];
    const bad = queryEvent({ qname: '' });
    ids.push(...good.map((e) => e.event_id), bad.event_id);

    await runtime.bus.publish(Topics.queries, [...good, bad]);
    await waitFor(async () => (await stored()) === 3, 'three rows in dns_queries');

    const metrics = await runtime.metrics.metrics();
    expect(metrics).toContain('ghostdns_ingest_rejected_total{reason="empty_qname"} 1');
    expect(metrics).toMatch(/^ghostdns_ingest_rows_total 3$/m);
    expect(metrics).toMatch(/^ghostdns_ingest_batch_size_count \d+$/m);
    expect(metrics).toMatch(/^ghostdns_ingest_db_seconds_count \d+$/m);

    const apex = await db.pool.query<{ apex_domain: string }>(
      'SELECT apex_domain FROM dns_queries WHERE event_id = $1::uuid',
      [good[1]?.event_id],
    );
    expect(apex.rows).toEqual([{ apex_domain: 'foo.github.io' }]);
  });

  it('reports the subscription as ready', async () => {
    const report = await runtime.readiness.check();
    expect(report.probes['ingest-worker.subscription']).toEqual({ ok: true });
    expect(report.ready).toBe(true);
  });

  it('stores a replayed event once', async () => {
    const batches = async (): Promise<number> =>
      Number(/^ghostdns_ingest_batches_total (\d+)$/m.exec(await runtime.metrics.metrics())?.[1] ?? '0');
    const event = queryEvent();
    ids.push(event.event_id);
    for (let i = 0; i < 2; i++) {
      const before = await batches();
      await runtime.bus.publish(Topics.queries, [event]);
      await waitFor(async () => (await batches()) > before, `batch ${i + 1} committed`);
    }
    expect(await stored()).toBe(4);
    expect(await runtime.metrics.metrics()).toMatch(/^ghostdns_ingest_rows_total 4$/m);
  });

  async function metric(pattern: RegExp): Promise<number> {
    return Number(pattern.exec(await runtime.metrics.metrics())?.[1] ?? '0');
  }

  it('stores the device behind the client of a query event', async () => {
    const withDevice = queryEvent({ device: device() });
    const without = queryEvent();
    ids.push(withDevice.event_id, without.event_id);
    await runtime.bus.publish(Topics.queries, [withDevice, without]);
    const read = () =>
      db.pool.query<{ event_id: string; device_source: string | null; device_id: string | null; device_name: string | null }>(
        'SELECT event_id::text, device_source, device_id, device_name FROM dns_queries WHERE event_id = ANY($1::uuid[]) ORDER BY device_id NULLS LAST',
        [[withDevice.event_id, without.event_id]],
      );
    await waitFor(async () => (await read()).rows.length === 2, 'the two query rows');
    const rows = await read();
    expect(rows.rows).toEqual([
      { event_id: withDevice.event_id, device_source: 'wireguard', device_id: device().device_id, device_name: 'laptop' },
      { event_id: without.event_id, device_source: null, device_id: null, device_name: null },
    ]);
  });

  async function presenceStored(): Promise<number> {
    const result = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM presence_history WHERE event_id = ANY($1::uuid[])', [
      presenceIds,
    ]);
    return Number(result.rows[0]?.n ?? '0');
  }

  it('consumes presence.events.v1 into presence_history; a redelivered event adds no row', async () => {
    const online = presenceEvent({ addresses: ['10.8.0.2/32', 'not-an-address'] });
    const offline = presenceEvent({ type: 'DEVICE_OFFLINE', observed_at_us: online.observed_at_us + 60_000_000 });
    presenceIds.push(online.event_id, offline.event_id);
    await runtime.bus.publish(Topics.presence, [online, offline]);
    await waitFor(async () => (await presenceStored()) === 2, 'two rows in presence_history');

    const batches = /^ghostdns_ingest_presence_batches_total (\d+)$/m;
    const before = await metric(batches);
    await runtime.bus.publish(Topics.presence, [online]);
    await waitFor(async () => (await metric(batches)) > before, 'the redelivered batch committed');
    expect(await presenceStored()).toBe(2);

    const history = await db.pool.query<{ online: boolean; addresses: string[] }>(
      'SELECT online, ARRAY(SELECT host(a) FROM unnest(addresses) WITH ORDINALITY AS u(a, n) ORDER BY n) AS addresses FROM presence_history WHERE event_id = ANY($1::uuid[]) ORDER BY observed_at',
      [presenceIds],
    );
    expect(history.rows).toEqual([
      { online: true, addresses: ['10.8.0.2'] },
      { online: false, addresses: ['10.8.0.2', 'fd00:8::2'] },
    ]);
    expect(await metric(/^ghostdns_ingest_presence_rows_total (\d+)$/m)).toBe(2);
    // Once per mapping: the redelivered event's invalid address is counted again.
    expect(await metric(/^ghostdns_ingest_presence_addresses_dropped_total (\d+)$/m)).toBe(2);
  });

  it('dead-letters a refused presence event with its reason, and counts it', async () => {
    const letters: DeadLetter[] = [];
    const subscription = await runtime.bus.subscribe(
      Topics.queriesDeadLetter,
      async (batch) => {
        letters.push(...batch.values);
      },
      { groupId: `dlq-reader-${engine}`, fromBeginning: false },
    );
    try {
      const bad = presenceEvent({ device_id: '' });
      await runtime.bus.publish(Topics.presence, [bad]);
      await waitFor(async () => letters.some((l) => l.source_topic === Topics.presence), 'the dead letter');
      const letter = letters.find((l) => l.source_topic === Topics.presence);
      expect(letter?.reason).toBe('invalid_device: device_id=""');
      expect(JSON.parse(letter?.payload.toString() ?? '{}')).toMatchObject({ event_id: bad.event_id });
      expect(await metric(/^ghostdns_ingest_presence_dead_lettered_total\{reason="invalid_device"\} (\d+)$/m)).toBe(1);
    } finally {
      await subscription.close();
    }
  });
});

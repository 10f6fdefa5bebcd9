import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Topics } from '@ghostdns/contracts';
import type { Database } from '@ghostdns/db';
import { createHttpApp } from '@ghostdns/runtime';
import { IngestWorkerModule } from '../src/module.js';
import { ENGINES, openTestDatabase } from './support/database.js';
import { testRuntime, waitFor } from './support/runtime.js';
import { queryEvent } from './fixtures.js';

describe.each(ENGINES)('IngestWorkerModule on %s', (engine) => {
  let db: Database;
  let runtime: ReturnType<typeof testRuntime>;
  let app: NestFastifyApplication | undefined;
  const ids: string[] = [];

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
});

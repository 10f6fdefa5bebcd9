import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topics, type RecordChangeEvent } from '@ghostdns/contracts';
import { waitFor } from '@ghostdns/testkit';
import { startApiOnScratchDatabase, type ApiFixture } from './support/api-fixture.js';
import { type TestServer } from './support/http.js';
import { testRuntime } from './support/runtime.js';

// The seed's service auto-discovery with real probes: a record registered with
// metadata.health_check is probed over HTTP at each value; a value whose service does not
// answer healthy is withheld from the change events resolver-edge applies, and comes back
// when it answers again. The "service" is a real HTTP server on 127.0.0.1; 127.0.0.2 has none.

const NAME = 'grafana.company.ts.net';

describe('health checks of registered services (records-api on PostgreSQL)', () => {
  let fixture: ApiFixture;
  let runtime: ReturnType<typeof testRuntime>;
  let api: TestServer;
  let service: Server;
  let status = 200;
  let admin: string;
  const events: RecordChangeEvent[] = [];

  beforeAll(async () => {
    service = createServer((req, res) => {
      res.writeHead(req.url === '/api/health' ? status : 404).end();
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    fixture = await startApiOnScratchDatabase({ api: { rateLimitPerMinute: 0, healthCheckInterval: 0.2 } });
    ({ runtime, server: api, admin } = fixture);
    await runtime.bus.subscribe(Topics.recordChanges, async (batch) => void events.push(...batch.values), { groupId: 'test', fromBeginning: true });
  });

  afterAll(async () => {
    await fixture?.close();
    await new Promise<void>((resolve) => (service ? service.close(() => resolve()) : resolve()));
  });

  const latest = (): RecordChangeEvent | undefined => events.filter((e) => e.name === NAME).at(-1);
  const record = async (): Promise<{ values: string[]; unhealthy_values: string[] }> => {
    const res = await fetch(`${api.url}/api/v1/records?name=${NAME}`, { headers: { authorization: `Bearer ${admin}` } });
    const body = (await res.json()) as { values: string[]; unhealthy_values: string[] }[];
    const found = body[0];
    if (found === undefined) throw new Error(`no record ${NAME}`);
    return found;
  };

  it('withholds the value whose service does not answer and answers it again when it does', async () => {
    const port = (service.address() as AddressInfo).port;
    const res = await fetch(`${api.url}/api/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'register', domain: NAME, type: 'A', values: ['127.0.0.1', '127.0.0.2'], ttl: 60, metadata: { service: 'grafana', health_check: '/api/health', port } }),
    });
    expect(res.status).toBe(201);
    expect(latest()?.values).toEqual(['127.0.0.1', '127.0.0.2']);

    await waitFor(() => latest()?.values.join() === '127.0.0.1', { timeoutMs: 20_000, intervalMs: 50, description: '127.0.0.2 to be withheld' });
    expect(latest()).toMatchObject({ op: 'UPSERT', actor: 'system:health-check' });
    expect(await record()).toMatchObject({ values: ['127.0.0.1', '127.0.0.2'], unhealthy_values: ['127.0.0.2'] });

    status = 503;
    await waitFor(() => latest()?.op === 'DELETE', { timeoutMs: 20_000, intervalMs: 50, description: 'the RRset to be withdrawn while no value is healthy' });
    status = 200;
    await waitFor(() => latest()?.op === 'UPSERT' && latest()?.values.join() === '127.0.0.1', {
      timeoutMs: 20_000, intervalMs: 50, description: '127.0.0.1 to answer again',
    });

    const metrics = await runtime.metrics.metrics();
    expect(metrics).toMatch(/ghostdns_records_health_probes_total\{[^}]*outcome="unhealthy"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/ghostdns_records_unhealthy_values(\{[^}]*\})? 1\n/);
  });
});

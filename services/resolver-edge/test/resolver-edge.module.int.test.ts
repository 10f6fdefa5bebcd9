// The Nest wiring: boot ResolverEdgeModule with a RUNTIME like the host's,
// answer a query on loopback, check readiness, metrics and the event, shut down.
import 'reflect-metadata';
import { Global, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createInProcessBus, silentLogger as silentBusLogger } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { Topics, type QueryEvent } from '@ghostdns/contracts';
import { createLogger, createMetricsRegistry } from '@ghostdns/observability';
import { createMemoryKeyValueStore, createMetricsSources, RUNTIME, type ReadinessProbe, type ServiceRuntime } from '@ghostdns/runtime';
import { describe, expect, it } from 'vitest';
import { ResolverEdgeModule, ResolverEdgeService } from '../src/index.js';
import { udpQuery } from './int-support.js';
import { buildQuery, rcodeOf, waitFor } from './support.js';

describe('ResolverEdgeModule', () => {
  it('listens on bootstrap, reports ready, counts, emits, and drains on shutdown', async () => {
    const probes = new Map<string, ReadinessProbe>();
    const bus = createInProcessBus({ logger: silentBusLogger });
    await bus.connect();
    const events: QueryEvent[] = [];
    const sub = await bus.subscribe(Topics.queries, async (b) => void events.push(...b.values), { groupId: 'module-test', fromBeginning: true });
    const metrics = createMetricsRegistry({ processMetrics: false });
    const runtime: ServiceRuntime = {
      mode: 'distributed',
      config: parseConfig({
        node: { id: 'edge-nest', pop: 'test' },
        dns: { listen: '127.0.0.1:0', upstreams: [], tcp: true, upstreamTimeoutMs: 500 },
      }),
      logger: createLogger({ name: 'resolver-edge-test', level: 'fatal' }),
      metrics,
      metricsSources: createMetricsSources(),
      bus,
      store: createMemoryKeyValueStore({ maxEntries: 100 }),
      readiness: { register: (name, probe) => void probes.set(name, probe) },
      requireDatabase: () => {
        throw new Error('resolver-edge needs no database');
      },
    };

    @Global()
    @Module({ providers: [{ provide: RUNTIME, useValue: runtime }], exports: [RUNTIME] })
    class FakeRuntimeModule {}

    @Module({ imports: [FakeRuntimeModule, ResolverEdgeModule] })
    class HostModule {}

    let app: INestApplicationContext | null = await NestFactory.createApplicationContext(HostModule, { logger: false });
    try {
      await app.init();
      const service = app.get(ResolverEdgeService);
      const { udp, tcp } = service.addresses();
      expect(udp.port).toBeGreaterThan(0);
      expect(tcp?.port).toBe(udp.port);
      expect(await probes.get('resolver-edge')?.()).toBe(true);

      // No upstream configured: recursion is refused.
      const answer = await udpQuery(udp.port, buildQuery('nope.test', { id: 0x7777 }));
      expect(answer.readUInt16BE(0)).toBe(0x7777);
      expect(rcodeOf(answer)).toBe('REFUSED');

      await waitFor(() => events.length === 1, 5000, 'event');
      expect(events[0]).toMatchObject({ node_id: 'edge-nest', pop: 'test', qname: 'nope.test', rcode: 5, policy_action: 'REFUSED', cache_status: 'NONE', upstream: null });

      const text = await metrics.metrics();
      expect(text).toMatch(/coredns_dns_requests_total\{server="dns:\/\/127\.0\.0\.1:0",zone=".",proto="udp",family="1",type="A"\} 1/);
      expect(text).toMatch(/coredns_dns_responses_total\{server="[^"]+",zone=".",rcode="REFUSED"\} 1/);
      expect(text).toContain('coredns_dns_request_duration_seconds_bucket');
      expect(text).toContain('ghostdns_events_dropped_total 0');
      expect(text).toContain('# TYPE ghostdns_event_queue_depth gauge');

      await app.close();
      app = null;
      expect(await probes.get('resolver-edge')?.()).toBe(false);
    } finally {
      await app?.close();
      await sub.close();
      await bus.close();
    }
  });
});

import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { counter, gauge } from '@ghostdns/observability';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { RecordsService } from '../records/records.service.js';
import type { RecordsStore } from '../records/records.repository.js';
import { RECORDS_STORE } from '../tokens.js';
import { fetchHealthProbe } from './http-probe.js';
import { RecordHealthProber } from './record-health-prober.js';

/** A probe that outlives half the interval would overlap the next round's verdicts. */
const MAX_TIMEOUT_MS = 5_000;

/** Runs the health checks of registered services (api.healthCheckInterval; 0: none) while the app runs. */
@Injectable()
export class RecordHealthLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private prober: RecordHealthProber | null = null;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(RECORDS_STORE) private readonly store: RecordsStore,
    @Inject(RecordsService) private readonly records: RecordsService,
  ) {}

  onApplicationBootstrap(): void {
    const intervalMs = this.runtime.config.api.healthCheckInterval * 1000;
    if (intervalMs === 0) return;
    const probes = counter(this.runtime.metrics, {
      name: 'ghostdns_records_health_probes_total',
      help: 'Health probes of registered service values (metadata.health_check), by outcome.',
      labelNames: ['outcome'] as const,
    });
    const unhealthy = gauge(this.runtime.metrics, {
      name: 'ghostdns_records_unhealthy_values',
      help: 'Record values withheld from answers because their health check fails.',
    });
    this.prober = new RecordHealthProber({
      store: this.store,
      health: this.records.health,
      probe: fetchHealthProbe,
      republish: (names) => this.records.publishHealth(names),
      intervalMs,
      timeoutMs: Math.min(MAX_TIMEOUT_MS, Math.max(100, intervalMs / 2)),
      logger: this.runtime.logger,
      instruments: { probe: (ok) => probes.inc({ outcome: ok ? 'healthy' : 'unhealthy' }), unhealthy: (n) => unhealthy.set(n) },
    });
    this.prober.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.prober?.stop();
  }
}

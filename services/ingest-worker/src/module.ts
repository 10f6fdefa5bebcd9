import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Subscription } from '@ghostdns/bus';
import { Topics } from '@ghostdns/contracts';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { IngestError } from './errors.js';
import { QueryIngestor } from './ingestor.js';
import { QueryEventMapper } from './mapper.js';
import { AnalyticsMaintainer } from './maintainer.js';
import { createIngestMetrics } from './metrics.js';
import { ANALYTICS_MAINTAINER, INGEST_GROUP_ID, QUERY_INGESTOR } from './tokens.js';
import type { IngestMetrics } from './ports.js';
import { QueryEventWriter } from './writer.js';

/** Module-private token: one set of ingest instruments shared by the ingestor and the maintainer. */
const INGEST_METRICS = Symbol('ghostdns.ingest-worker.metrics');

/**
 * Subscribes the ingestor to dns.queries.v1 once the application has
 * bootstrapped and starts the analytics maintenance; on shutdown closes the
 * subscription first (a batch in flight finishes and commits, one in backoff
 * is abandoned uncommitted) and then stops the maintenance.
 */
@Injectable()
export class IngestSubscriber implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription: Subscription | null = null;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(QUERY_INGESTOR) private readonly ingestor: QueryIngestor,
    @Inject(ANALYTICS_MAINTAINER) private readonly maintainer: AnalyticsMaintainer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus, logger, readiness } = this.runtime;
    const db = this.runtime.requireDatabase();
    // The runtime already probes `bus` and `database`; this one says the consumer is attached.
    readiness.register('ingest-worker.subscription', () => this.subscription !== null);
    try {
      // fromBeginning: a group without committed offsets (first start, or killed before its first
      // commit on a partition) must read what is retained, not skip to the end: losing events is
      // worse than re-reading them, and the unique key absorbs the re-read.
      this.subscription = await bus.subscribe(Topics.queries, this.ingestor.handle, {
        groupId: INGEST_GROUP_ID,
        fromBeginning: true,
      });
    } catch (error) {
      throw new IngestError('GHOSTDNS_INGEST_SUBSCRIBE_FAILED', `subscribing to ${Topics.queries} failed`, { cause: error });
    }
    logger.info({ topic: Topics.queries, groupId: INGEST_GROUP_ID, engine: db.engine }, 'ingest worker subscribed');
    await this.maintainer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    if (subscription !== null) await subscription.close();
    await this.maintainer.stop();
  }
}

/**
 * Consumes dns.queries.v1 (group 'ingest-worker') into dns_queries. Expects
 * RUNTIME (ServiceRuntime) to be provided globally by the host
 * (packages/runtime's RuntimeModule).
 */
@Module({
  providers: [
    {
      provide: INGEST_METRICS,
      inject: [RUNTIME],
      useFactory: (runtime: ServiceRuntime): IngestMetrics => createIngestMetrics(runtime.metrics),
    },
    {
      provide: QUERY_INGESTOR,
      inject: [RUNTIME, INGEST_METRICS],
      useFactory: (runtime: ServiceRuntime, metrics: IngestMetrics): QueryIngestor =>
        new QueryIngestor(
          new QueryEventMapper(),
          new QueryEventWriter(runtime.requireDatabase().pool),
          metrics,
          runtime.logger,
          { publish: (letters) => runtime.bus.publish(Topics.queriesDeadLetter, letters) },
        ),
    },
    {
      provide: ANALYTICS_MAINTAINER,
      inject: [RUNTIME, INGEST_METRICS],
      useFactory: (runtime: ServiceRuntime, metrics: IngestMetrics): AnalyticsMaintainer => {
        const { rollupIntervalSeconds, ...settings } = runtime.config.analytics;
        return new AnalyticsMaintainer(runtime.requireDatabase(), { settings, rollupIntervalSeconds }, metrics, runtime.logger);
      },
    },
    IngestSubscriber,
  ],
  exports: [QUERY_INGESTOR],
})
export class IngestWorkerModule {}

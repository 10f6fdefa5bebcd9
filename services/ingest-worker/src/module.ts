import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Subscription } from '@ghostdns/bus';
import { Topics } from '@ghostdns/contracts';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { IngestError } from './errors.js';
import { QueryIngestor } from './ingestor.js';
import { QueryEventMapper } from './mapper.js';
import { createIngestMetrics } from './metrics.js';
import { INGEST_GROUP_ID, QUERY_INGESTOR } from './tokens.js';
import { QueryEventWriter } from './writer.js';

/**
 * Subscribes the ingestor to dns.queries.v1 once the application has
 * bootstrapped and closes the subscription on shutdown.
 */
@Injectable()
export class IngestSubscriber implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription: Subscription | null = null;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(QUERY_INGESTOR) private readonly ingestor: QueryIngestor,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus, logger, readiness } = this.runtime;
    const db = this.runtime.requireDatabase();
    // The runtime already probes `bus` and `database`; this one says the consumer is attached.
    readiness.register('ingest-worker.subscription', () => this.subscription !== null);
    try {
      this.subscription = await bus.subscribe(Topics.queries, this.ingestor.handle, { groupId: INGEST_GROUP_ID });
    } catch (error) {
      throw new IngestError('GHOSTDNS_INGEST_SUBSCRIBE_FAILED', `subscribing to ${Topics.queries} failed`, { cause: error });
    }
    logger.info({ topic: Topics.queries, groupId: INGEST_GROUP_ID, engine: db.engine }, 'ingest worker subscribed');
  }

  async onApplicationShutdown(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    if (subscription !== null) await subscription.close();
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
      provide: QUERY_INGESTOR,
      inject: [RUNTIME],
      useFactory: (runtime: ServiceRuntime): QueryIngestor =>
        new QueryIngestor(
          new QueryEventMapper(),
          new QueryEventWriter(runtime.requireDatabase().pool),
          createIngestMetrics(runtime.metrics),
          runtime.logger,
        ),
    },
    IngestSubscriber,
  ],
  exports: [QUERY_INGESTOR],
})
export class IngestWorkerModule {}

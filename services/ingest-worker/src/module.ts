import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { BatchHandler, Subscription } from '@ghostdns/bus';
import { Topics, type TopicName } from '@ghostdns/contracts';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { IngestError } from './errors.js';
import { PresenceIngestor, QueryIngestor } from './ingestor.js';
import { QueryEventMapper } from './mapper.js';
import { AnalyticsMaintainer } from './maintainer.js';
import { createIngestMetrics, createPresenceMetrics } from './metrics.js';
import { ANALYTICS_MAINTAINER, INGEST_GROUP_ID, PRESENCE_GROUP_ID, PRESENCE_INGESTOR, QUERY_INGESTOR } from './tokens.js';
import type { DeadLetterPublisher, IngestMetrics } from './ports.js';
import { PresenceHistoryWriter, QueryEventWriter } from './writer.js';

/** Module-private token: one set of ingest instruments shared by the ingestor and the maintainer. */
const INGEST_METRICS = Symbol('ghostdns.ingest-worker.metrics');
/** Module-private token: where both ingestors dead-letter refused events. */
const DEAD_LETTERS = Symbol('ghostdns.ingest-worker.dead-letters');

/**
 * Subscribes the ingestors to dns.queries.v1 and presence.events.v1 once the
 * application has bootstrapped and starts the analytics maintenance; on
 * shutdown closes the subscriptions first (a batch in flight finishes and
 * commits, one in backoff is abandoned uncommitted) and then stops the maintenance.
 */
@Injectable()
export class IngestSubscriber implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscriptions: Subscription[] = [];
  private attached = false;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(QUERY_INGESTOR) private readonly queries: QueryIngestor,
    @Inject(PRESENCE_INGESTOR) private readonly presence: PresenceIngestor,
    @Inject(ANALYTICS_MAINTAINER) private readonly maintainer: AnalyticsMaintainer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The runtime already probes `bus` and `database`; this one says every consumer is attached.
    this.runtime.readiness.register('ingest-worker.subscription', () => this.attached);
    // In parallel: after a crash each group waits out its dead member's session before the join
    // completes, and the two waits need not add up.
    await Promise.all([this.attach(this.queries, INGEST_GROUP_ID), this.attach(this.presence, PRESENCE_GROUP_ID)]);
    this.attached = true;
    await this.maintainer.start();
  }

  private async attach<K extends TopicName>(ingestor: { readonly topic: K; readonly handle: BatchHandler<K> }, groupId: string): Promise<void> {
    const { topic } = ingestor;
    try {
      // fromBeginning: a group without committed offsets (first start, or killed before its first
      // commit on a partition) must read what is retained, not skip to the end: losing events is
      // worse than re-reading them, and the unique key absorbs the re-read.
      this.subscriptions.push(await this.runtime.bus.subscribe(topic, ingestor.handle, { groupId, fromBeginning: true }));
    } catch (error) {
      throw new IngestError('GHOSTDNS_INGEST_SUBSCRIBE_FAILED', `subscribing to ${topic} failed`, { cause: error });
    }
    this.runtime.logger.info({ topic, groupId, engine: this.runtime.requireDatabase().engine }, 'ingest worker subscribed');
  }

  async onApplicationShutdown(): Promise<void> {
    const subscriptions = this.subscriptions;
    this.subscriptions = [];
    this.attached = false;
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await this.maintainer.stop();
  }
}

/**
 * Consumes dns.queries.v1 (group 'ingest-worker') into dns_queries and
 * presence.events.v1 (group 'ingest-worker-presence') into presence_history. Expects
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
      provide: DEAD_LETTERS,
      inject: [RUNTIME],
      useFactory: (runtime: ServiceRuntime): DeadLetterPublisher => ({
        publish: (letters) => runtime.bus.publish(Topics.queriesDeadLetter, letters),
      }),
    },
    {
      provide: QUERY_INGESTOR,
      inject: [RUNTIME, INGEST_METRICS, DEAD_LETTERS],
      useFactory: (runtime: ServiceRuntime, metrics: IngestMetrics, deadLetters: DeadLetterPublisher): QueryIngestor =>
        new QueryIngestor(new QueryEventMapper(), new QueryEventWriter(runtime.requireDatabase().pool), metrics, runtime.logger, deadLetters),
    },
    {
      provide: PRESENCE_INGESTOR,
      inject: [RUNTIME, DEAD_LETTERS],
      useFactory: (runtime: ServiceRuntime, deadLetters: DeadLetterPublisher): PresenceIngestor =>
        new PresenceIngestor(
          new PresenceHistoryWriter(runtime.requireDatabase().pool),
          createPresenceMetrics(runtime.metrics),
          runtime.logger,
          deadLetters,
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
  exports: [QUERY_INGESTOR, PRESENCE_INGESTOR],
})
export class IngestWorkerModule {}

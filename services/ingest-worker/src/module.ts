import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { BatchHandler, Subscription } from '@ghostdns/bus';
import { Topics, type TopicName } from '@ghostdns/contracts';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { createDetectors } from './detection/detectors.js';
import { SecurityMonitor } from './detection/monitor.js';
import { IngestError } from './errors.js';
import { PresenceIngestor, QueryIngestor, SecurityIngestor } from './ingestor.js';
import { QueryEventMapper } from './mapper.js';
import { AnalyticsMaintainer } from './maintainer.js';
import { createDetectionMetrics, createIngestMetrics, createPresenceMetrics, createSecurityMetrics } from './metrics.js';
import {
  ANALYTICS_MAINTAINER,
  INGEST_GROUP_ID,
  PRESENCE_GROUP_ID,
  PRESENCE_INGESTOR,
  QUERY_INGESTOR,
  SECURITY_GROUP_ID,
  SECURITY_INGESTOR,
  SECURITY_MONITOR,
} from './tokens.js';
import type { DeadLetterPublisher, IngestMetrics } from './ports.js';
import { PresenceHistoryWriter, QueryEventWriter, SecurityEventWriter } from './writer.js';

/** Module-private token: one set of ingest instruments shared by the ingestor and the maintainer. */
const INGEST_METRICS = Symbol('ghostdns.ingest-worker.metrics');
/** Module-private token: where every ingestor dead-letters refused events. */
const DEAD_LETTERS = Symbol('ghostdns.ingest-worker.dead-letters');

/**
 * Subscribes the ingestors to dns.queries.v1, presence.events.v1 and
 * security.events.v1 once the application has bootstrapped and starts the
 * analytics maintenance; on shutdown closes the subscriptions first (a batch in
 * flight finishes and commits, one in backoff is abandoned uncommitted), waits
 * for the detections still being published, and then stops the maintenance.
 */
@Injectable()
export class IngestSubscriber implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscriptions: Subscription[] = [];
  private attached = false;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(QUERY_INGESTOR) private readonly queries: QueryIngestor,
    @Inject(PRESENCE_INGESTOR) private readonly presence: PresenceIngestor,
    @Inject(SECURITY_INGESTOR) private readonly security: SecurityIngestor,
    @Inject(SECURITY_MONITOR) private readonly monitor: SecurityMonitor,
    @Inject(ANALYTICS_MAINTAINER) private readonly maintainer: AnalyticsMaintainer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The runtime already probes `bus` and `database`; this one says every consumer is attached.
    this.runtime.readiness.register('ingest-worker.subscription', () => this.attached);
    // In parallel: after a crash each group waits out its dead member's session before the join
    // completes, and the waits need not add up.
    await Promise.all([
      this.attach(this.queries, INGEST_GROUP_ID),
      this.attach(this.presence, PRESENCE_GROUP_ID),
      this.attach(this.security, SECURITY_GROUP_ID),
    ]);
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
    await this.monitor.flush();
    await this.maintainer.stop();
  }
}

/**
 * Consumes dns.queries.v1 (group 'ingest-worker') into dns_queries, running the
 * security detectors over each stored batch and publishing what they detect on
 * security.events.v1; presence.events.v1 (group 'ingest-worker-presence') into
 * presence_history; security.events.v1 (group 'ingest-worker-security') into
 * security_events. Expects
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
      provide: SECURITY_MONITOR,
      inject: [RUNTIME],
      useFactory: (runtime: ServiceRuntime): SecurityMonitor =>
        new SecurityMonitor({
          detectors: createDetectors(),
          publisher: { publish: (events) => runtime.bus.publish(Topics.security, events) },
          metrics: createDetectionMetrics(runtime.metrics),
          logger: runtime.logger,
          nodeId: runtime.config.node.id,
        }),
    },
    {
      provide: QUERY_INGESTOR,
      inject: [RUNTIME, INGEST_METRICS, DEAD_LETTERS, SECURITY_MONITOR],
      useFactory: (runtime: ServiceRuntime, metrics: IngestMetrics, deadLetters: DeadLetterPublisher, monitor: SecurityMonitor): QueryIngestor =>
        new QueryIngestor(
          new QueryEventMapper(),
          new QueryEventWriter(runtime.requireDatabase().pool),
          metrics,
          runtime.logger,
          deadLetters,
          monitor,
        ),
    },
    {
      provide: SECURITY_INGESTOR,
      inject: [RUNTIME, DEAD_LETTERS],
      useFactory: (runtime: ServiceRuntime, deadLetters: DeadLetterPublisher): SecurityIngestor =>
        new SecurityIngestor(
          new SecurityEventWriter(runtime.requireDatabase().pool),
          createSecurityMetrics(runtime.metrics),
          runtime.logger,
          deadLetters,
        ),
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
  exports: [QUERY_INGESTOR, PRESENCE_INGESTOR, SECURITY_INGESTOR],
})
export class IngestWorkerModule {}

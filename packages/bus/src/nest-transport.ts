import { BaseRpcContext, Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { Topics, type TopicName } from '@ghostdns/contracts';
import { BusError, BusErrorCode, describeError } from './errors.js';
import type { DecodedBatch, EventBus, Subscription } from './types.js';

export interface BusTransportOptions {
  bus: EventBus;
  /** Consumer group of every @EventPattern subscription of this microservice. */
  groupId: string;
  fromBeginning?: boolean;
}

/** What `@Ctx()` receives: [topic, partition, lastOffset]. */
export class BusContext extends BaseRpcContext<[TopicName, number, string]> {
  getTopic(): TopicName {
    return this.args[0];
  }
  getPartition(): number {
    return this.args[1];
  }
  getLastOffset(): string {
    return this.args[2];
  }
}

const KNOWN_TOPICS = new Set<string>(Object.values(Topics));
function isTopicName(pattern: string): pattern is TopicName {
  return KNOWN_TOPICS.has(pattern);
}

async function settle(result: unknown): Promise<void> {
  // Nest turns a throwing handler into an erroring Observable (RpcExceptionsHandler),
  // so awaiting completion is what makes "resolved" mean "durable".
  const awaited: unknown = await result;
  if (isObservable(awaited)) await lastValueFrom(awaited, { defaultValue: undefined });
}

/**
 * Nest custom transport: every `@EventPattern(topic)` handler becomes a bus
 * subscription that receives a DecodedBatch. The batch is committed only after
 * the handler (and any handler chained on the same pattern) completes.
 */
export class BusTransport extends Server implements CustomTransportStrategy {
  private subscriptions: Subscription[] = [];

  constructor(private readonly options: BusTransportOptions) {
    super();
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      for (const [pattern, head] of this.messageHandlers) {
        if (!head.isEventHandler) {
          // Request/response has no meaning on a log: there is nobody to reply to.
          this.logger.warn(`@MessagePattern(${pattern}) is not supported by BusTransport; use @EventPattern`);
          continue;
        }
        if (!isTopicName(pattern)) {
          throw new BusError(BusErrorCode.UnknownTopic, `@EventPattern(${pattern}) is not a contracts topic`);
        }
        const sub = await this.options.bus.subscribe(
          pattern,
          async (batch: DecodedBatch<TopicName>) => {
            const ctx = new BusContext([batch.topic, batch.partition, batch.lastOffset]);
            for (let h: MessageHandler | undefined = head; h; h = h.next) await settle(h(batch, ctx));
          },
          { groupId: this.options.groupId, fromBeginning: this.options.fromBeginning ?? false },
        );
        this.subscriptions.push(sub);
      }
      callback();
    } catch (err) {
      await this.close();
      this.logger.error(`BusTransport failed to listen: ${describeError(err)}`);
      callback(err);
    }
  }

  async close(): Promise<void> {
    const subs = this.subscriptions;
    this.subscriptions = [];
    await Promise.all(subs.map((s) => s.close()));
  }

  /** The bus has no transport-level events beyond isHealthy(); listeners are accepted and never called. */
  on(): void {}

  unwrap<T>(): T {
    return this.options.bus as T;
  }
}

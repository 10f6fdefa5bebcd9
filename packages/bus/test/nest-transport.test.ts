import { describe, expect, it } from 'vitest';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Topics } from '@ghostdns/contracts';
import { BusContext, BusTransport, createInProcessBus, type DecodedBatch } from '../src/index.js';
import { makeQueryEvent, memoryLogger, waitFor } from './helpers.js';

type QueriesBatch = DecodedBatch<typeof Topics.queries>;
const received: { batch: QueriesBatch; topic: string; partition: number }[] = [];
let failuresLeft = 0;

@Controller()
class QueriesController {
  @EventPattern(Topics.queries)
  async onQueries(@Payload() batch: QueriesBatch, @Ctx() ctx: BusContext): Promise<void> {
    if (failuresLeft > 0) {
      failuresLeft--;
      throw new Error('sink unavailable');
    }
    received.push({ batch, topic: ctx.getTopic(), partition: ctx.getPartition() });
  }
}

@Module({ controllers: [QueriesController] })
class TestModule {}

describe('BusTransport (Nest custom transport)', () => {
  it('delivers batches to an @EventPattern handler and redelivers when it throws', async () => {
    const bus = createInProcessBus({ logger: memoryLogger(), retry: { initialMs: 5, maxMs: 20 } });
    await bus.connect();
    const app = await NestFactory.createMicroservice(TestModule, {
      strategy: new BusTransport({ bus, groupId: 'nest-test', fromBeginning: true }),
      logger: false,
    });
    await app.listen();
    try {
      const first = makeQueryEvent();
      await bus.publish(Topics.queries, [first]);
      await waitFor(() => received.length === 1, 'the @EventPattern handler to receive a batch');
      expect(received[0].batch.values).toEqual([first]);
      expect(received[0].topic).toBe(Topics.queries);
      expect(received[0].batch.partition).toBe(received[0].partition);

      // A throwing handler (turned into an erroring Observable by Nest) must not commit.
      failuresLeft = 2;
      const second = makeQueryEvent();
      await bus.publish(Topics.queries, [second]);
      await waitFor(() => received.length === 2, 'redelivery after two handler failures');
      expect(failuresLeft).toBe(0);
      expect(received[1].batch.values).toEqual([second]);
    } finally {
      await app.close();
      await bus.close();
    }
  });
});

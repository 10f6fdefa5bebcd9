import { Module } from '@nestjs/common';
import { ConfigError, parseConfig } from '@ghostdns/config';
import { describe, expect, it } from 'vitest';
import { runDistributedService } from '../src/distributed.js';

@Module({})
class EmptyModule {}

describe('runDistributedService', () => {
  it('refuses to start without Kafka brokers, naming KAFKA_BROKERS', async () => {
    const attempt = runDistributedService({
      name: 'records-api',
      module: EmptyModule,
      config: parseConfig({ log: { level: 'fatal' } }),
      handleSignals: false,
      exitOnFailure: false,
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/kafka\.brokers .*KAFKA_BROKERS/);
  });
});

import { Module } from '@nestjs/common';
import type pg from 'pg';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { StatsController } from './stats/stats.controller.js';
import { StatsRepository } from './stats/stats.repository.js';
import { StatsService } from './stats/stats.service.js';
import { RECORDS_API_DB_POOL } from './tokens.js';

/**
 * The REST API GhostScale calls (today: GET /api/v1/stats). Expects RUNTIME
 * (ServiceRuntime) from the host's global RuntimeModule. Needs the database:
 * without one the boot fails with the runtime's ConfigError naming
 * DATABASE_URL. The runtime's own `database` probe covers /readyz.
 */
@Module({
  controllers: [StatsController],
  providers: [
    {
      provide: RECORDS_API_DB_POOL,
      inject: [RUNTIME],
      useFactory: (runtime: ServiceRuntime): pg.Pool => runtime.requireDatabase().pool,
    },
    { provide: StatsRepository, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool) => new StatsRepository(pool) },
    { provide: StatsService, inject: [StatsRepository], useFactory: (repo: StatsRepository) => new StatsService(repo) },
  ],
})
export class RecordsApiModule {}

import { Module } from '@nestjs/common';
import type pg from 'pg';
import { formatHostPort, parseHostPort } from '@ghostdns/config';
import { counter } from '@ghostdns/observability';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { PgTokenStore, type TokenStore } from './auth/token.repository.js';
import { TokenService } from './auth/token.service.js';
import { ApiSetup } from './http/api-setup.js';
import { RecordsController } from './records/records.controller.js';
import { TailscaleDevicesController } from './tailscale/tailscale-devices.controller.js';
import { TailscaleDevicesService } from './tailscale/tailscale-devices.service.js';
import { PgRecordsStore, type RecordsStore } from './records/records.repository.js';
import { RecordsService, type RecordsInstruments } from './records/records.service.js';
import { AnalyticsController } from './analytics/analytics.controller.js';
import { AnalyticsRepository } from './analytics/analytics.repository.js';
import { AnalyticsService } from './analytics/analytics.service.js';
import { LogsRepository } from './analytics/logs.repository.js';
import { LogsService } from './analytics/logs.service.js';
import { DocsController } from './docs/docs.controller.js';
import { RecordHealthLifecycle } from './health/record-health.lifecycle.js';
import { PresenceController } from './presence/presence.controller.js';
import { PgPresenceStore, type PresenceStore } from './presence/presence.repository.js';
import { PresenceService } from './presence/presence.service.js';
import { targetOf, udpExchange } from './resolve/dns-exchange.js';
import { ResolveController } from './resolve/resolve.controller.js';
import { ResolveService } from './resolve/resolve.service.js';
import { StatsController } from './stats/stats.controller.js';
import { StatsRepository } from './stats/stats.repository.js';
import { StatsService } from './stats/stats.service.js';
import { PRESENCE_STORE, RECORDS_API_DB_POOL, RECORDS_STORE, TOKEN_STORE } from './tokens.js';

function instruments(runtime: ServiceRuntime): RecordsInstruments {
  const changes = counter(runtime.metrics, {
    name: 'ghostdns_records_changes_total',
    help: 'Record set changes published to records.changes.v1, by op and type.',
    labelNames: ['op', 'type'] as const,
  });
  const failed = counter(runtime.metrics, {
    name: 'ghostdns_records_publish_failures_total',
    help: 'Record writes rolled back because their change event could not be published.',
  });
  return { change: (op, type) => changes.inc({ op, type }), publishFailed: () => failed.inc() };
}

/** How long GET /api/v1/resolve waits for resolver-edge. */
export const RESOLVE_TIMEOUT_MS = 2_000;

function resolveService(runtime: ServiceRuntime, store: RecordsStore): ResolveService {
  const target = targetOf(parseHostPort(runtime.config.dns.listen));
  return new ResolveService(
    udpExchange(target, RESOLVE_TIMEOUT_MS),
    (name) => store.list({ name, type: undefined, zone: undefined, limit: 100, offset: 0 }),
    formatHostPort(target.host, target.port),
    runtime.config.presence.suffix,
  );
}

/**
 * The REST API GhostScale calls: GET /api/v1/stats, records CRUD
 * (/api/v1/records), API tokens and the write audit trail; logs, audit,
 * top-N, device activity, nodes, resolve, presence peers and their mappings
 * (/api/v1/presence) and the OpenAPI document (/api/docs). Expects RUNTIME
 * (ServiceRuntime) from the host's global RuntimeModule. Needs the database:
 * without one the boot fails with the runtime's ConfigError naming
 * DATABASE_URL. The runtime's own `database` probe covers /readyz.
 */
@Module({
  controllers: [
    StatsController, RecordsController, AnalyticsController, ResolveController, DocsController, TailscaleDevicesController, PresenceController,
  ],
  providers: [
    {
      provide: RECORDS_API_DB_POOL,
      inject: [RUNTIME],
      useFactory: (runtime: ServiceRuntime): pg.Pool => runtime.requireDatabase().pool,
    },
    { provide: StatsRepository, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool) => new StatsRepository(pool) },
    { provide: StatsService, inject: [StatsRepository], useFactory: (repo: StatsRepository) => new StatsService(repo) },
    { provide: RECORDS_STORE, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool): RecordsStore => new PgRecordsStore(pool) },
    { provide: TOKEN_STORE, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool): TokenStore => new PgTokenStore(pool) },
    { provide: TokenService, inject: [TOKEN_STORE], useFactory: (store: TokenStore) => new TokenService(store) },
    {
      provide: RecordsService,
      inject: [RECORDS_STORE, RUNTIME],
      useFactory: (store: RecordsStore, runtime: ServiceRuntime) => new RecordsService(store, runtime.bus, instruments(runtime)),
    },
    { provide: LogsService, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool) => new LogsService(new LogsRepository(pool)) },
    { provide: AnalyticsService, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool) => new AnalyticsService(new AnalyticsRepository(pool)) },
    { provide: ResolveService, inject: [RUNTIME, RECORDS_STORE], useFactory: resolveService },
    { provide: PRESENCE_STORE, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool): PresenceStore => new PgPresenceStore(pool) },
    {
      provide: PresenceService,
      inject: [PRESENCE_STORE, RUNTIME],
      useFactory: (store: PresenceStore, runtime: ServiceRuntime) => new PresenceService(store, runtime.config.presence.suffix),
    },
    { provide: TailscaleDevicesService, inject: [RUNTIME], useFactory: (runtime: ServiceRuntime) => new TailscaleDevicesService(runtime.store) },
    ApiSetup,
    RecordHealthLifecycle,
  ],
})
export class RecordsApiModule {}

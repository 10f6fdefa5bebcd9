import { Module } from '@nestjs/common';
import type pg from 'pg';
import { formatHostPort, parseHostPort } from '@ghostdns/config';
import { counter } from '@ghostdns/observability';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { PgTokenStore, type TokenStore } from './auth/token.repository.js';
import { TokenService } from './auth/token.service.js';
import { ApiSetup } from './http/api-setup.js';
import { BlocklistsController } from './blocklists/blocklists.controller.js';
import { BLOCKLISTS_PROVIDERS } from './blocklists/blocklists.providers.js';
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
import { CachedAnalyticsSource } from './analytics/cached-analytics-source.js';
import { ResultCache } from './cache/result-cache.js';
import { DocsController } from './docs/docs.controller.js';
import { RecordHealthLifecycle } from './health/record-health.lifecycle.js';
import { PresenceController } from './presence/presence.controller.js';
import { PgPresenceStore, type PresenceStore } from './presence/presence.repository.js';
import { PresenceService } from './presence/presence.service.js';
import { targetOf, udpExchange } from './resolve/dns-exchange.js';
import { ResolveController } from './resolve/resolve.controller.js';
import { ResolveService } from './resolve/resolve.service.js';
import { SecurityEventsController } from './security/security-events.controller.js';
import { SecurityEventsRepository } from './security/security-events.repository.js';
import { SecurityEventsService } from './security/security-events.service.js';
import { StatsController } from './stats/stats.controller.js';
import { StatsRepository } from './stats/stats.repository.js';
import { StatsService } from './stats/stats.service.js';
import { PRESENCE_STORE, RECORDS_API_DB_POOL, RECORDS_STORE, RESULT_CACHE, TOKEN_STORE } from './tokens.js';

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

/** Stale results are served while a newer one is read, up to this age; older ones are read while the request waits. */
const RESULT_MAX_STALE_MS = 300_000;

/** One cache for the dashboard reads (api.resultCacheSeconds; 0: none). */
function resultCache(runtime: ServiceRuntime): ResultCache | null {
  const freshMs = runtime.config.api.resultCacheSeconds * 1000;
  if (freshMs === 0) return null;
  return new ResultCache({
    freshMs,
    maxStaleMs: Math.max(freshMs, RESULT_MAX_STALE_MS),
    maxEntries: 512,
    onRefreshError: (key, err) => runtime.logger.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'background read of a cached result failed; the older result is served'),
  });
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
 * (/api/v1/presence), blocklists and custom domains (/api/v1/blocklists) and
 * the OpenAPI document (/api/docs). Expects RUNTIME
 * (ServiceRuntime) from the host's global RuntimeModule. Needs the database:
 * without one the boot fails with the runtime's ConfigError naming
 * DATABASE_URL. The runtime's own `database` probe covers /readyz.
 */
@Module({
  controllers: [
    StatsController, RecordsController, AnalyticsController, ResolveController, DocsController, TailscaleDevicesController, PresenceController,
    BlocklistsController,
    SecurityEventsController,
  ],
  providers: [
    {
      provide: RECORDS_API_DB_POOL,
      inject: [RUNTIME],
      useFactory: (runtime: ServiceRuntime): pg.Pool => runtime.requireDatabase().pool,
    },
    { provide: StatsRepository, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool) => new StatsRepository(pool) },
    { provide: RESULT_CACHE, inject: [RUNTIME], useFactory: resultCache },
    {
      provide: StatsService,
      inject: [StatsRepository, RESULT_CACHE],
      useFactory: (repo: StatsRepository, cache: ResultCache | null) => new StatsService(repo, undefined, cache),
    },
    { provide: RECORDS_STORE, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool): RecordsStore => new PgRecordsStore(pool) },
    { provide: TOKEN_STORE, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool): TokenStore => new PgTokenStore(pool) },
    { provide: TokenService, inject: [TOKEN_STORE], useFactory: (store: TokenStore) => new TokenService(store) },
    {
      provide: RecordsService,
      inject: [RECORDS_STORE, RUNTIME],
      useFactory: (store: RecordsStore, runtime: ServiceRuntime) => new RecordsService(store, runtime.bus, instruments(runtime)),
    },
    { provide: LogsService, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool) => new LogsService(new LogsRepository(pool)) },
    {
      provide: SecurityEventsService,
      inject: [RECORDS_API_DB_POOL],
      useFactory: (pool: pg.Pool) => new SecurityEventsService(new SecurityEventsRepository(pool)),
    },
    {
      provide: AnalyticsService,
      inject: [RECORDS_API_DB_POOL, RESULT_CACHE],
      useFactory: (pool: pg.Pool, cache: ResultCache | null) =>
        new AnalyticsService(cache === null ? new AnalyticsRepository(pool) : new CachedAnalyticsSource(new AnalyticsRepository(pool), cache)),
    },
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
    ...BLOCKLISTS_PROVIDERS,
  ],
})
export class RecordsApiModule {}

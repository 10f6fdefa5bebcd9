import { Inject, Injectable, type OnApplicationBootstrap, type Provider } from '@nestjs/common';
import type pg from 'pg';
import { counter } from '@ghostdns/observability';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { BLOCKLISTS_STORE, RECORDS_API_DB_POOL } from '../tokens.js';
import { PgBlocklistsStore, type BlocklistsStore } from './blocklists.repository.js';
import { BlocklistsService, type BlocklistsInstruments } from './blocklists.service.js';

function instruments(runtime: ServiceRuntime): BlocklistsInstruments {
  const changes = counter(runtime.metrics, {
    name: 'ghostdns_blocklist_changes_total',
    help: 'Blocklist and custom domain changes published to policy.changes.v1, by entity and op.',
    labelNames: ['entity', 'op'] as const,
  });
  const failed = counter(runtime.metrics, {
    name: 'ghostdns_blocklist_publish_failures_total',
    help: 'Blocklist writes rolled back because their change event could not be published.',
  });
  return { change: (entity, op) => changes.inc({ entity, op }), publishFailed: () => failed.inc() };
}

/**
 * On the in-process bus (standalone), which starts empty, every list and entry
 * is published at boot for resolver-edge to replay. Runs before the HTTP server
 * listens, so no write races the snapshot.
 */
@Injectable()
export class BlocklistsSnapshot implements OnApplicationBootstrap {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(BlocklistsService) private readonly blocklists: BlocklistsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.runtime.bus.kind !== 'in-process') return;
    const count = await this.blocklists.publishSnapshot();
    this.runtime.logger.info({ changes: count }, 'published every blocklist and custom domain to policy.changes.v1 (in-process bus starts empty)');
  }
}

/** What RecordsApiModule registers for /api/v1/blocklists (besides BlocklistsController). */
export const BLOCKLISTS_PROVIDERS: Provider[] = [
  { provide: BLOCKLISTS_STORE, inject: [RECORDS_API_DB_POOL], useFactory: (pool: pg.Pool): BlocklistsStore => new PgBlocklistsStore(pool) },
  {
    provide: BlocklistsService,
    inject: [BLOCKLISTS_STORE, RUNTIME],
    useFactory: (store: BlocklistsStore, runtime: ServiceRuntime) => new BlocklistsService(store, runtime.bus, instruments(runtime)),
  },
  BlocklistsSnapshot,
];

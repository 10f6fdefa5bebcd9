import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { RUNTIME, type ServiceRuntime } from '@ghostdns/runtime';
import { TokenService } from '../auth/token.service.js';
import { RecordsService } from '../records/records.service.js';
import { installApiHooks } from './hooks.js';

/**
 * Boot work of records-api: the /api/* hooks (CORS, body bound, rate limit)
 * before routes serve; then the first-start admin token and, on the
 * in-process bus (standalone), the snapshot of every RRset for resolver-edge.
 * Both run before the HTTP server listens, so no write races the snapshot.
 */
@Injectable()
export class ApiSetup implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(TokenService) private readonly tokens: TokenService,
    @Inject(RecordsService) private readonly records: RecordsService,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter as { getInstance?: () => unknown } | undefined;
    const instance = adapter?.getInstance?.() as FastifyInstance | undefined;
    if (instance === undefined || typeof instance.addHook !== 'function') return;
    installApiHooks(instance, this.runtime.config.api);
  }

  async onApplicationBootstrap(): Promise<void> {
    const { logger } = this.runtime;
    const file = await this.tokens.bootstrapAdmin(this.runtime.config.data.dir);
    if (file !== null) {
      logger.warn({ path: file }, `no API token existed: created an admin token and wrote it to ${file} (mode 600); read it from there`);
    }
    if (this.runtime.bus.kind === 'in-process') {
      const count = await this.records.publishSnapshot();
      logger.info({ records: count }, 'published every record set to records.changes.v1 (in-process bus starts empty)');
    }
  }
}

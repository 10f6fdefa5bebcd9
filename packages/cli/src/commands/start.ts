import type { DynamicModule, Type } from '@nestjs/common';
import { createLogger } from '@ghostdns/observability';
import { ExitCode, type Command, type CommandContext } from '../types.js';
import { loadConfigOrReport } from './shared.js';

/** The five services, loaded only when `start` runs (so `config check` never imports them). */
async function loadServiceModules(): Promise<(Type | DynamicModule)[]> {
  const [edge, ingest, presence, records, gateway] = await Promise.all([
    import('@ghostdns/resolver-edge'),
    import('@ghostdns/ingest-worker'),
    import('@ghostdns/presence-service'),
    import('@ghostdns/records-api'),
    import('@ghostdns/events-gateway'),
  ]);
  return [
    edge.ResolverEdgeModule,
    ingest.IngestWorkerModule,
    presence.PresenceServiceModule,
    records.RecordsApiModule,
    gateway.EventsGatewayModule,
  ];
}

/** Resolves with the first SIGINT/SIGTERM; a second one force-exits. */
function firstSignal(ctx: CommandContext): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let firstAt = 0;
    const handler = (signal: NodeJS.Signals): void => {
      const now = Date.now();
      if (firstAt !== 0) {
        // One Ctrl-C reaches this process twice under `pnpm start`: from the
        // terminal (process group) and relayed by tsx. Only a later press forces.
        if (now - firstAt < REPEAT_WINDOW_MS) return;
        ctx.io.stderr(`\n${signal} again: exiting without a clean shutdown\n`);
        process.exit(ExitCode.failure);
      }
      firstAt = now;
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

const SHUTDOWN_TIMEOUT_MS = 30_000;
/** Signals this close to the first are the same keypress delivered twice. */
const REPEAT_WINDOW_MS = 1_000;

export const startCommand: Command = {
  path: ['start'],
  summary: 'Run all five services in one process (in-process bus, embedded PostgreSQL unless DATABASE_URL)',
  usage: '[--config FILE]',
  details:
    'Standalone mode: resolver-edge, ingest-worker, presence-service, records-api and events-gateway in one\n' +
    'process on one HTTP port. Without DATABASE_URL an embedded PostgreSQL keeps its data under data.dir\n' +
    '(default ~/.ghostdns). Ctrl-C (SIGINT) or SIGTERM shuts down cleanly; a second Ctrl-C exits at once.',
  async run(ctx) {
    const config = loadConfigOrReport(ctx);
    if (typeof config === 'number') return config;
    const logger = createLogger({ level: config.log.level, name: 'ghostdns' });
    const signal = firstSignal(ctx);
    const [{ startStandalone }, modules] = await Promise.all([import('@ghostdns/runtime'), loadServiceModules()]);

    let handle: Awaited<ReturnType<typeof startStandalone>>;
    try {
      handle = await startStandalone({ modules, config, logger });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      ctx.io.stderr(`ghostdns: start failed: ${error instanceof Error ? error.message : String(error)}\n`);
      return code === 'GHOSTDNS_CONFIG_INVALID' ? ExitCode.config : ExitCode.failure;
    }

    const data =
      handle.database.kind === 'embedded'
        ? `embedded PostgreSQL, data in ${handle.database.dataDir}`
        : `PostgreSQL at ${handle.database.where}`;
    ctx.io.stdout(
      [
        'GhostDNS standalone is up',
        `  DNS   ${config.dns.listen} (udp${config.dns.tcp ? '+tcp' : ''})`,
        `  HTTP  ${handle.httpUrl}  (/healthz /readyz /metrics)`,
        `  Data  ${data}`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );

    const received = await signal;
    ctx.io.stdout(`\n${received}: shutting down...\n`);
    const timer = setTimeout(() => {
      ctx.io.stderr(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS / 1000}s: exiting\n`);
      process.exit(ExitCode.failure);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    try {
      await handle.close();
    } finally {
      clearTimeout(timer);
    }
    ctx.io.stdout('stopped\n');
    return ExitCode.ok;
  },
};

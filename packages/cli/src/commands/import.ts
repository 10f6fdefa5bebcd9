import cliProgress from 'cli-progress';
import type { GhostConfig } from '@ghostdns/config';
import type { QueryEvent } from '@ghostdns/contracts';
import { createLogger, type Logger } from '@ghostdns/observability';
import { ExitCode, type CliIo, type Command, type CommandContext } from '../types.js';
import { openCommandDatabase } from './database.js';
import { importSources, type ImportSkip, type ImportSource } from './import-sources.js';
import { loadConfigOrReport } from './shared.js';

/** Where imported events go: the bus (ingest-worker stores them) or straight into dns_queries. */
interface ImportDestination {
  readonly description: string;
  /** Resolves with how many events were stored as new rows (null when the bus took them) and the reasons of events the table refused. */
  write(events: QueryEvent[]): Promise<{ stored: number | null; refused: string[] }>;
  close(): Promise<void>;
}

/** Parallel database writes: one batch is parsed while up to this many are being inserted. */
const WRITES_IN_FLIGHT = 2;

async function openDestination(config: GhostConfig, logger: Logger): Promise<ImportDestination> {
  if (config.kafka.brokers.length > 0) {
    const [{ createKafkaBus }, { BuiltinSchemaTable, ConfluentSchemaRegistryResolver, createEventCodec, Topics }] = await Promise.all([
      import('@ghostdns/bus'),
      import('@ghostdns/contracts'),
    ]);
    const registry = config.schemaRegistry.url;
    const codec = createEventCodec(registry === undefined ? new BuiltinSchemaTable() : new ConfluentSchemaRegistryResolver({ url: registry }));
    await codec.init();
    const bus = createKafkaBus({ brokers: [...config.kafka.brokers], clientId: `${config.kafka.clientId}-import`, codec, logger: logger.child({ component: 'bus' }) });
    await bus.connect();
    return {
      description: `Kafka topic ${Topics.queries} (${config.kafka.brokers.join(',')}); ingest-worker stores the rows`,
      async write(events) {
        await bus.publish(Topics.queries, events);
        return { stored: null, refused: [] };
      },
      close: () => bus.close(),
    };
  }

  const { QueryEventMapper, QueryEventWriter } = await import('@ghostdns/ingest-worker');
  // Migrations and pool chatter would garble the progress bar: only trouble is shown (no info).
  const { db, description, close } = await openCommandDatabase(config, { poolSize: WRITES_IN_FLIGHT + 1, migrate: true, logger });
  const mapper = new QueryEventMapper();
  const writer = new QueryEventWriter(db.pool);
  return {
    description: `dns_queries at ${description}`,
    async write(events) {
      // ingest-worker's mapper refuses what the table cannot hold, exactly as it would from the bus.
      const { rows, rejected } = mapper.mapBatch(events);
      return { stored: await writer.write(rows), refused: rejected.map((r) => r.reason) };
    },
    close,
  };
}

interface Progress {
  update(lines: number, bytes: number): void;
  stop(): void;
}

/** cli-progress on a terminal; a plain line every few seconds otherwise (logs, pipes, tests). */
function startProgress(io: CliIo, totalBytes: number): Progress {
  const started = Date.now();
  const rate = (lines: number): number => Math.round(lines / Math.max(0.001, (Date.now() - started) / 1000));
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'import |{bar}| {percentage}% | {lines} lines | {rate} lines/s | ETA {eta_formatted}', stream: process.stderr, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, totalBytes), 0, { lines: 0, rate: 0 });
    return {
      update: (lines, bytes) => bar.update(Math.min(bytes, Math.max(1, totalBytes)), { lines: lines.toLocaleString('en-US'), rate: rate(lines).toLocaleString('en-US') }),
      stop: () => bar.stop(),
    };
  }
  let lastPrint = started;
  return {
    update(lines, bytes) {
      const now = Date.now();
      if (now - lastPrint < 5000) return;
      lastPrint = now;
      const done = totalBytes > 0 ? bytes / totalBytes : 1;
      const eta = done > 0 ? ((now - started) / 1000) * (1 / done - 1) : 0;
      io.stderr(`import: ${Math.round(done * 100)}% ${lines} lines ${rate(lines)} lines/s ETA ${Math.round(eta)}s\n`);
    },
    stop: () => undefined,
  };
}

interface SkipSummary {
  count: number;
  example: ImportSkip;
}

async function runImport(source: ImportSource, ctx: CommandContext): Promise<number> {
  if (ctx.args.length === 0) {
    ctx.io.stderr(`ghostdns import ${source.name}: name at least one FILE\n`);
    return ExitCode.usage;
  }
  const config = loadConfigOrReport(ctx);
  if (typeof config === 'number') return config;
  const logger = createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level, name: 'ghostdns-import' });

  let files: string[];
  let totalBytes: number;
  try {
    files = await source.order(ctx.args);
    totalBytes = await source.totalBytes(files);
  } catch (error) {
    ctx.io.stderr(`ghostdns import ${source.name}: ${describeError(error)}\n`);
    return ExitCode.failure;
  }

  let destination: ImportDestination;
  try {
    destination = await openDestination(config, logger);
  } catch (error) {
    ctx.io.stderr(`ghostdns import ${source.name}: cannot open the destination: ${describeError(error)}\n`);
    return ExitCode.failure;
  }

  const started = Date.now();
  const progress = startProgress(ctx.io, totalBytes);
  const skipped = new Map<string, SkipSummary>();
  let lines = 0;
  let bytes = 0;
  let events = 0;
  let stored = 0;
  let storedKnown = true;
  const refused = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  try {
    for await (const step of source.read(files, config)) {
      lines += step.lines;
      bytes += step.bytes;
      for (const skip of step.skipped) {
        const summary = skipped.get(skip.reason);
        if (summary === undefined) skipped.set(skip.reason, { count: 1, example: skip });
        else summary.count++;
      }
      if (step.events.length > 0) {
        events += step.events.length;
        const write = destination.write(step.events).then(
          (result) => {
            if (result.stored === null) storedKnown = false;
            else stored += result.stored;
            for (const reason of result.refused) refused.set(reason, (refused.get(reason) ?? 0) + 1);
          },
          (error: unknown) => {
            failure ??= error;
          },
        );
        const tracked = write.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(inFlight);
      }
      if (failure !== null) break;
      progress.update(lines, bytes);
    }
    await Promise.all(inFlight);
  } catch (error) {
    failure ??= error;
  } finally {
    progress.stop();
    await Promise.all(inFlight);
    await destination.close().catch((error: unknown) => logger.warn({ err: error }, 'import: closing the destination failed'));
  }

  const seconds = (Date.now() - started) / 1000;
  const out: string[] = [
    `${source.name}: ${files.length} file(s), ${lines} lines in ${seconds.toFixed(1)} s (${Math.round(lines / Math.max(seconds, 0.001))} lines/s) -> ${destination.description}`,
    `  events: ${events}${storedKnown ? `, new rows: ${stored} (already stored: ${events - stored - sum(refused.values())})` : ', published'}`,
    `  skipped: ${sum([...skipped.values()].map((s) => s.count))}`,
  ];
  if (refused.size > 0) {
    out.push(`  refused by ingest-worker's dns_queries mapper: ${[...refused].map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  }
  for (const [reason, summary] of [...skipped.entries()].sort((a, b) => b[1].count - a[1].count)) {
    out.push(`    ${reason}: ${summary.count} (e.g. ${summary.example.file}:${summary.example.line})`);
  }
  ctx.io.stdout(`${out.join('\n')}\n`);
  if (failure !== null) {
    ctx.io.stderr(`ghostdns import ${source.name}: ${describeError(failure)}\n`);
    return ExitCode.failure;
  }
  return ExitCode.ok;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function importCommand(source: ImportSource): Command {
  return {
    path: ['import', source.name],
    summary: source.summary,
    usage: 'FILE… [--config FILE]',
    details:
      'Reads the files at full speed (rotated sets oldest first, gzip or plain) and stores every query as an\n' +
      'event: published to Kafka when kafka.brokers is set (ingest-worker stores them), otherwise written to\n' +
      'dns_queries directly (database.url, or the embedded PostgreSQL under data.dir). Event ids are derived from\n' +
      'the lines, so running it twice, or over files the live tap already read, adds no rows. Progress on stderr;\n' +
      'a summary with lines skipped by reason (and an example line each) on stdout.',
    allowArgs: true,
    run: (ctx) => runImport(source, ctx),
  };
}

export const importCommands: readonly Command[] = importSources.map(importCommand);

import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createKafkaBus, silentLogger, type EventBus } from '@ghostdns/bus';
import { BuiltinSchemaTable, createEventCodec, Topics, type QueryEvent } from '@ghostdns/contracts';
import {
  createScratchDatabase, freePort, requireComponent, startKafkaMock, startTsx, waitFor, waitForHttp, type KafkaMock, type ManagedProcess,
} from '@ghostdns/testkit';
import type { Benchmark, BenchmarkResult } from './report.js';

// Sustained events/s from Kafka into each engine (issue 5, 6(a)): ingest-worker as a real
// process (main.ts, distributed mode) consumes dns.queries.v1 from a private Kafka mock into
// dns_queries. The worker starts on a backlog and is kept on one until the last event, so it
// never waits for input; the clock runs from its readiness to the last row stored. Its CPU
// comes from /proc, its batch sizes and write times from its own /metrics.
//
// librdkafka's mock cluster keeps a bounded log per partition (it drops the oldest message
// sets beyond a few MB), so N events are not all published up front: at most BACKLOG are
// outstanding (published, not yet stored), about 25 000 of 142 bytes per partition on the 4
// partitions the mock creates. The producer tops the backlog up while the worker drains it. The
// run fails unless all N rows arrive, so a truncated log cannot pass unnoticed.

const POSTGRES_EVENTS = Number(process.env.BENCH_INGEST_EVENTS ?? 300_000);
// The stand-in is PGlite (PostgreSQL compiled to WebAssembly, one session behind a socket):
// its memory grows with the data and it cannot host a scratch database (earlier benchmarks' rows stay), so it gets a smaller N.
const TIMESCALE_EVENTS = Number(process.env.BENCH_INGEST_TIMESCALE_EVENTS ?? 50_000);
const BACKLOG = Number(process.env.BENCH_INGEST_BACKLOG ?? 100_000);
// Events per publish: resolver-edge's event batch (QUEUE.batchSize in its event thread), and a
// bigger one. The mock answers a fetch with one record batch per partition, so the worker's
// batches are these divided over the 4 partitions: the second run shows what bigger batches buy.
const PUBLISH_CHUNKS = [2_000, 8_000] as const;
const STALL_MS = 120_000;
const DOMAINS = 50_000;
const APEXES = 2_000;
const CLIENTS = 5_000;
const QTYPES = [1, 1, 1, 1, 1, 1, 1, 28, 28, 65] as const; // A 70 %, AAAA 20 %, HTTPS 10 %

type Engine = 'postgres' | 'timescaledb';

/**
 * Event `index` of a stream ending about now, 1 ms apart: Zipf-like (log-uniform rank) domain
 * popularity, skewed clients, four nodes in two PoPs, 70 % cache hits, 3 % blocked, 4 % NXDOMAIN.
 */
function queryEvent(index: number, total: number, endUs: number): QueryEvent {
  const queryTimeUs = endUs - (total - index) * 1_000;
  const domain = Math.floor(Math.exp(Math.random() * Math.log(DOMAINS)));
  const client = Math.floor(CLIENTS * Math.random() ** 2);
  const hit = Math.random() < 0.7;
  const latencyUs = hit ? 50 + Math.floor(Math.random() * 200) : 2_000 + Math.floor(Math.random() * 30_000);
  const node = index % 4;
  return {
    event_id: randomUUID(),
    node_id: `edge-${node}`,
    pop: node < 2 ? 'ams1' : 'fra1',
    source: 'RESOLVER_EDGE',
    message_type: 'CLIENT_RESPONSE',
    query_time_us: queryTimeUs,
    response_time_us: queryTimeUs + latencyUs,
    client_ip: `10.64.${client >> 8}.${client & 255}`,
    client_port: 1_024 + (index % 60_000),
    transport: 'UDP',
    qname: `d${domain}.apex${domain % APEXES}.example`,
    qtype: QTYPES[index % QTYPES.length] ?? 1,
    qclass: 1,
    rcode: Math.random() < 0.04 ? 3 : 0,
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false },
    answer_count: 1,
    response_size: 96,
    cache_status: hit ? 'HIT' : 'MISS',
    upstream: hit ? null : '9.9.9.9:53',
    upstream_latency_us: hit ? null : latencyUs - 100,
    policy_action: Math.random() < 0.03 ? 'BLOCKED' : 'PASS',
    device: null,
    query_wire: null,
    response_wire: null,
  };
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** The pid and every descendant (the tsx CLI runs the program in a child node process). */
function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // exited
  }
  return [pid, ...children.flatMap(processTree)];
}

/** User + system CPU seconds per process, from /proc/<pid>/stat (utime, stime); exited ones are left out. */
function cpuSecondsByPid(pids: readonly number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    try {
      // The command name (field 2) may contain spaces; fields after its ')' are space-separated.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seconds.set(pid, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND); // utime, stime (fields 14, 15)
    } catch {
      // exited between listing and reading
    }
  }
  return seconds;
}

/** CPU seconds the processes used between two readings (a process first seen in `after` counts from 0). */
function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/**
 * The server processes serving the benchmark's database (the worker's pool, autovacuum), ours
 * excluded. Only for a local PostgreSQL whose backends this machine's /proc shows.
 */
async function backendPids(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  return rows.map((row) => row.pid);
}

/** The worker's ingest metrics: counters, and the batch size and write time histograms. */
interface IngestSnapshot {
  rows: number;
  batches: number;
  batchSizeSum: number;
  batchSizeCount: number;
  /** Cumulative count per upper bound (`le`), +Inf included. */
  batchSizeBuckets: Map<string, number>;
  dbSecondsSum: number;
  dbSecondsCount: number;
}

function metricValue(text: string, name: string, le?: string): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (le !== undefined && !line.includes(`le="${le}"`)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function scrape(metricsUrl: string): Promise<IngestSnapshot> {
  const text = await (await fetch(metricsUrl)).text();
  const bounds = [...text.matchAll(/^ghostdns_ingest_batch_size_bucket\{[^}]*le="([^"]+)"/gm)].map((m) => m[1] ?? '');
  return {
    rows: metricValue(text, 'ghostdns_ingest_rows_total'),
    batches: metricValue(text, 'ghostdns_ingest_batches_total'),
    batchSizeSum: metricValue(text, 'ghostdns_ingest_batch_size_sum'),
    batchSizeCount: metricValue(text, 'ghostdns_ingest_batch_size_count'),
    batchSizeBuckets: new Map(bounds.map((le) => [le, metricValue(text, 'ghostdns_ingest_batch_size_bucket', le)])),
    dbSecondsSum: metricValue(text, 'ghostdns_ingest_db_seconds_sum'),
    dbSecondsCount: metricValue(text, 'ghostdns_ingest_db_seconds_count'),
  };
}

/** The smallest histogram bound holding `quantile` of the batches observed between two snapshots. */
function batchSizeBound(before: IngestSnapshot, after: IngestSnapshot, quantile: number): string {
  const total = after.batchSizeCount - before.batchSizeCount;
  for (const [le, cumulative] of after.batchSizeBuckets) {
    if (cumulative - (before.batchSizeBuckets.get(le) ?? 0) >= quantile * total) return le === '+Inf' ? '> 5,000' : `≤ ${Number(le).toLocaleString('en-US')}`;
  }
  return '?';
}

async function startProducer(brokers: readonly string[]): Promise<EventBus> {
  const codec = createEventCodec(new BuiltinSchemaTable());
  await codec.init();
  const bus = createKafkaBus({ brokers: [...brokers], clientId: 'bench-ingest', codec, logger: silentLogger });
  await bus.connect();
  return bus;
}

async function storedRows(pool: pg.Pool): Promise<number> {
  return Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM dns_queries')).rows[0]?.n ?? 0);
}

async function runOnce(engine: Engine, events: number, publishChunkSize: number, env: Record<string, string>): Promise<(string | number)[]> {
  // PostgreSQL: a scratch database the worker migrates. The stand-in cannot host a second
  // database, so the worker writes into its only one and rows already there are counted first.
  const db = engine === 'postgres'
    ? await createScratchDatabase(env.TEST_POSTGRES_URL ?? requireComponent('postgres'))
    : { url: env.TEST_TIMESCALE_URL ?? requireComponent('timescaledb'), drop: async () => {} };
  let kafka: KafkaMock | undefined;
  let producer: EventBus | undefined;
  let worker: ManagedProcess | undefined;
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    kafka = await startKafkaMock();
    producer = await startProducer(kafka.brokers);
    const endUs = Date.now() * 1000 + events * 1_000;
    let published = 0;
    const publishChunk = async (): Promise<void> => {
      const size = Math.min(publishChunkSize, events - published);
      await producer?.publish(Topics.queries, Array.from({ length: size }, (_, i) => queryEvent(published + i, events, endUs)));
      published += size;
    };
    while (published < Math.min(events, BACKLOG)) await publishChunk();

    // Before the worker starts (it stores rows before it reports ready); no table yet = nothing stored.
    const rowsBefore = await storedRows(pool).catch(() => 0);
    const httpPort = await freePort();
    worker = startTsx(`ingest-worker (${engine})`, 'services/ingest-worker/src/main.ts', [], {
      KAFKA_BROKERS: kafka.brokers.join(','),
      DATABASE_URL: db.url,
      GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      GHOSTDNS_NODE_ID: `bench-ingest-${engine}`,
      GHOSTDNS_LOG_LEVEL: 'warn',
    });
    const running = worker;
    await waitForHttp(`http://127.0.0.1:${httpPort}/readyz`, [running]);
    const metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;
    const workerPid = running.child.pid ?? 0;

    // The stand-in's work happens inside the PGlite process, which pg_stat_activity does not name.
    const serverPids = async (): Promise<number[]> => (engine === 'postgres' ? backendPids(pool) : []);
    const serverPidsAtReady = await serverPids();
    const atReady = await scrape(metricsUrl);
    const workerCpuAtReady = cpuSecondsByPid(processTree(workerPid));
    const serverCpuAtReady = cpuSecondsByPid(serverPidsAtReady);
    const started = process.hrtime.bigint();
    let latest = atReady;
    let lastProgress = Date.now();
    while (latest.rows < events) {
      if (running.child.exitCode !== null) throw new Error(`ingest-worker exited with ${running.child.exitCode}:\n${running.output().slice(-4000)}`);
      if (published < events && published - latest.rows <= BACKLOG - publishChunkSize) {
        await publishChunk();
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const next = await scrape(metricsUrl);
      if (next.rows > latest.rows) lastProgress = Date.now();
      latest = next;
      if (Date.now() - lastProgress > STALL_MS) {
        throw new Error(`${engine}: no rows stored for ${STALL_MS / 1000} s at ${latest.rows}/${events} (did the mock drop part of its log?)\n${running.output().slice(-4000)}`);
      }
    }
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = cpuBetween(workerCpuAtReady, cpuSecondsByPid(processTree(workerPid)));
    const serverCpu = cpuBetween(serverCpuAtReady, cpuSecondsByPid([...new Set([...serverPidsAtReady, ...(await serverPids())])]));
    const final = await scrape(metricsUrl);
    // The worker's counter says N; the table must agree.
    await waitFor(async () => (await storedRows(pool)) - rowsBefore === events, {
      timeoutMs: 30_000, intervalMs: 250, description: `${events} rows in dns_queries`,
    });

    const measured = events - atReady.rows;
    const batches = final.batchSizeCount - atReady.batchSizeCount;
    const writeMs = ((final.dbSecondsSum - atReady.dbSecondsSum) / Math.max(1, final.dbSecondsCount - atReady.dbSecondsCount)) * 1000;
    return [
      engine, publishChunkSize, events, atReady.rows, Number(wallSeconds.toFixed(2)), Math.round(measured / wallSeconds), Number(cpu.toFixed(2)),
      Number(((cpu / wallSeconds) * 100).toFixed(0)), Number(((cpu / measured) * 1e6).toFixed(1)),
      engine === 'postgres' ? Number(serverCpu.toFixed(2)) : 'n/a', batches,
      Math.round((final.batchSizeSum - atReady.batchSizeSum) / Math.max(1, batches)),
      batchSizeBound(atReady, final, 0.5), batchSizeBound(atReady, final, 0.95), Number(writeMs.toFixed(1)),
    ];
  } finally {
    await worker?.stop();
    await producer?.close();
    await pool.end();
    await kafka?.stop();
    await db.drop();
  }
}

export const ingestBenchmark: Benchmark = {
  title: 'Sustained ingest: Kafka (dns.queries.v1) → ingest-worker → dns_queries',
  async run(env): Promise<BenchmarkResult> {
    const rows: (string | number)[][] = [];
    for (const chunk of PUBLISH_CHUNKS) rows.push(await runOnce('postgres', POSTGRES_EVENTS, chunk, env));
    rows.push(await runOnce('timescaledb', TIMESCALE_EVENTS, PUBLISH_CHUNKS[0], env));
    return {
      columns: [
        'engine', 'events per publish', 'events', 'stored before clock', 'wall s (ready → last row)', 'rows/s', 'worker CPU s', 'worker CPU %', 'worker CPU µs/row', 'PostgreSQL backends CPU s',
        'batches', 'mean batch', 'batch p50', 'batch p95', 'mean write ms',
      ],
      rows,
      notes: [
        `One ingest-worker (main.ts under tsx, default settings: 1 partition at a time, rollup refresh every 10 s on PostgreSQL) on a ` +
          `private librdkafka mock (4 partitions); at most ${BACKLOG.toLocaleString('en-US')} events outstanding, topped up by a producer in the benchmark process (BENCH_INGEST_BACKLOG). ` +
          'The mock returns one record batch per partition per fetch, so the worker\'s batches are a quarter of the events per publish ' +
          '(2,000 = resolver-edge\'s event batch); a real broker hands kafkajs up to 1 MB per partition per fetch. ' +
          'Events over ~50k domains, 5k clients, 4 nodes, ending now.',
        'The clock starts at the first /metrics scrape after /readyz; rows/s counts the rows stored after it. Worker CPU: user + system of the tsx CLI ' +
          'and its node child from /proc/<pid>/stat over the same window; PostgreSQL backends: the server processes connected to the scratch database at the start or the end of the window (pg_stat_activity), same /proc fields. Batch sizes and write times ' +
          'from the worker\'s ghostdns_ingest_batch_size / ghostdns_ingest_db_seconds histograms over the window (p50/p95 as histogram bucket bounds).',
        `PostgreSQL 15: scratch database, ${POSTGRES_EVENTS.toLocaleString('en-US')} events (BENCH_INGEST_EVENTS). TimescaleDB: the PGlite ` +
          `stand-in (WebAssembly, one session behind a socket), ${TIMESCALE_EVENTS.toLocaleString('en-US')} events (BENCH_INGEST_TIMESCALE_EVENTS): ` +
          'its figure bounds the stand-in, not TimescaleDB.',
      ],
    };
  },
};

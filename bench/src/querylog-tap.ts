import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createScratchDatabase, repoRoot, requireComponent } from '@ghostdns/testkit';
import type { Benchmark, BenchmarkResult } from './report.js';
// The parser and the import command are measured where they live (as fuzz.ts does for the fuzz engine).
import { BindQueryLogDecoder, BindQueryLogParser } from '../../services/resolver-edge/src/taps/querylog/index.js';

// BIND query-log tap: (a) lines/s the parser + event builder turn into QueryEvents; (b) the seed's
// Python ingestor and `ghostdns import bind-querylog` side by side on the same generated log,
// through to queryable rows in PostgreSQL; (c) how many lines of real BIND 9.18 output each parser
// accepts. The seed's code runs unmodified (from the seed document, else bench/anchors/); only
// the harness around it is ours: it points it at the file and a scratch database, lets its tailer
// open the file, appends the log, and stops when every row is queryable.

const LINES = Number(process.env.BENCH_QUERYLOG_LINES ?? 1_000_000);
const PARSE_LINES = 300_000;
const here = path.dirname(fileURLToPath(import.meta.url));
const seedDocument = path.resolve(here, '../../../shared/seeds/dns-analytics-bind9-foundation.md');
const seedAnchor = path.resolve(here, '../anchors/seed-ingestor.py');
const fixtures = path.resolve(here, '../../services/resolver-edge/test/fixtures/querylog');
const execFileAsync = promisify(execFile);

/** The seed's ingestor.py: from the seed document when it is there, else the checked-in verbatim copy. */
function seedIngestorSource(): { code: string; from: string } {
  if (existsSync(seedDocument)) {
    const doc = readFileSync(seedDocument, 'utf8');
    const section = doc.slice(doc.indexOf('### /opt/dns-ingestor/ingestor.py'));
    const start = section.indexOf('```python\n') + '```python\n'.length;
    return { code: section.slice(start, section.indexOf('\n```', start)) + '\n', from: 'seed document' };
  }
  return { code: readFileSync(seedAnchor, 'utf8'), from: 'bench/anchors/seed-ingestor.py' };
}

// Harness around the seed's module (Debian's python3 has psycopg2). `ingest`: the module's
// tailer/flusher threads on LOG, file appended once its tailer has opened it (it seeks to the end
// first), done when dns_queries holds N rows; reports wall seconds and its own CPU (all threads).
// `accept`: the module's parse_query / parse_error over fixture files.
const HARNESS = `
import importlib.util, json, os, resource, sys, threading, time
mode, script = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location('seed_ingestor', script)
seed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seed)
if mode == 'accept':
    out = {}
    for kind, path in zip(sys.argv[3::2], sys.argv[4::2]):
        fn = seed.parse_query if kind == 'queries' else seed.parse_error
        lines = [l for l in open(path) if l.strip()]
        out[path] = [sum(1 for l in lines if fn(l)), len(lines)]
    print(json.dumps(out)); sys.exit(0)
log, errors, source, n = sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
opened = threading.Event()
def tracking_open(*a, **k):
    f = open(*a, **k)
    if a[0] == log: opened.set()
    return f
seed.open = tracking_open
seed.QUERIES_LOG, seed.ERRORS_LOG = log, errors
conn = seed.connect()
with conn.cursor() as cur:
    cur.execute('CREATE TABLE dns_queries (id bigserial PRIMARY KEY, queried_at timestamp, client_ip inet, client_port integer, domain text, apex_domain text, qtype varchar(10), flags text, response_rcode varchar(10), cached boolean)')
conn.commit()
for target, parser, label in ((log, seed.parse_query, 'QUERY'), (errors, seed.parse_error, 'ERROR')):
    threading.Thread(target=seed.tailer, args=(target, parser, label), daemon=True).start()
threading.Thread(target=seed.flusher, args=(conn,), daemon=True).start()
opened.wait(30)
time.sleep(0.1)
import psycopg2
counter = psycopg2.connect(**seed.DB)
cpu0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.time()
with open(source, 'rb') as src, open(log, 'ab') as dst:
    while True:
        chunk = src.read(1 << 20)
        if not chunk: break
        dst.write(chunk)
rows, last_change, last_rows = 0, time.time(), -1
while rows < n and time.time() - last_change < 60:
    time.sleep(0.2)
    with counter.cursor() as cur:
        cur.execute('SELECT count(*) FROM dns_queries'); rows = cur.fetchone()[0]
    counter.commit()
    if rows != last_rows: last_rows, last_change = rows, time.time()
t1 = time.time()
cpu1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({'seconds': t1 - t0, 'rows': rows, 'cpu': (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)}))
os._exit(0)
`;

/** Lines in the subset of BIND 9.18's format that the seed's QUERY_RE accepts too: no EDNS `E(n)`, no view, no ECS. */
function generateLog(file: string, lines: number): Promise<void> {
  const flags = ['+', '-', '+T', '+D', '+DC', '+S'];
  const types = ['A', 'AAAA', 'MX', 'TXT', 'HTTPS', 'PTR'];
  const out = createWriteStream(file);
  const start = Date.UTC(2026, 4, 13, 8, 0, 0);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  let buffer = '';
  for (let i = 0; i < lines; i++) {
    const t = new Date(start + i * 3);
    const ts = `${pad(t.getUTCDate())}-${months[t.getUTCMonth()] ?? 'Jan'}-${t.getUTCFullYear()} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}.${pad(t.getUTCMilliseconds(), 3)}`;
    const name = `host${i % 5000}.zone${i % 97}.example.com`;
    const client = `192.168.${(i >> 8) & 255}.${i & 255}`;
    buffer += `${ts} client @0x7f44592e${(i % 4096).toString(16).padStart(4, '0')} ${client}#${1024 + (i % 60000)} (${name}): query: ${name} IN ${types[i % types.length] ?? 'A'} ${flags[i % flags.length] ?? '+'} (192.168.238.128)\n`;
    if (buffer.length > 1 << 20) {
      out.write(buffer);
      buffer = '';
    }
  }
  out.end(buffer);
  return new Promise((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
}

function parserThroughput(source: string): { linesPerSecond: number; events: number } {
  const lines = source.split('\n').slice(0, PARSE_LINES).filter((l) => l.length > 0);
  const decoder = new BindQueryLogDecoder({ node: { id: 'bench', pop: 'bench' }, timezone: 'UTC' });
  let offset = 0;
  let events = 0;
  const started = process.hrtime.bigint();
  for (const line of lines) {
    if (decoder.decode(line, offset).kind === 'query') events++;
    offset += line.length + 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { linesPerSecond: Math.round(lines.length / seconds), events };
}

export const querylogTapBenchmark: Benchmark = {
  title: 'BIND query-log tap vs the seed ingestor',
  async run(env): Promise<BenchmarkResult> {
    const postgres = env.TEST_POSTGRES_URL ?? requireComponent('postgres');
    const work = mkdtempSync(path.join(tmpdir(), 'ghostdns-bench-querylog-'));
    const seedDb = await createScratchDatabase(postgres);
    const oursDb = await createScratchDatabase(postgres);
    try {
      const seedSource = seedIngestorSource();
      const script = path.join(work, 'seed_ingestor.py');
      const harness = path.join(work, 'harness.py');
      writeFileSync(script, seedSource.code);
      writeFileSync(harness, HARNESS);
      const generated = path.join(work, 'generated.log');
      await generateLog(generated, LINES);

      // (a) parser + event builder, in memory
      const throughput = parserThroughput(readFileSync(generated, 'utf8').slice(0, 64 * 1024 * 1024));

      // (b1) the seed's ingestor, tailing a file the harness appends the log to
      const url = new URL(seedDb.url);
      const seedEnv = {
        ...process.env,
        DB_NAME: url.pathname.slice(1), DB_USER: decodeURIComponent(url.username), DB_PASSWORD: decodeURIComponent(url.password),
        DB_HOST: url.hostname, DB_PORT: url.port === '' ? '5432' : url.port,
      };
      const seedLog = path.join(work, 'queries.log');
      const seedErrors = path.join(work, 'query-errors.log');
      writeFileSync(seedLog, '');
      writeFileSync(seedErrors, '');
      const seedRun = await execFileAsync('/usr/bin/python3', [harness, 'ingest', script, seedLog, seedErrors, generated, String(LINES)], {
        env: seedEnv, maxBuffer: 16 * 1024 * 1024,
      });
      const seed = JSON.parse(seedRun.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number; rows: number; cpu: number };

      // (b2) `ghostdns import bind-querylog` as the operator runs it (node + tsx from the repo root,
      // where the Nest services' decorators compile); wall and CPU from /usr/bin/time.
      const timing = path.join(work, 'import.time');
      const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GHOSTDNS_') && k !== 'KAFKA_BROKERS' && k !== 'DATABASE_URL'));
      const importRun = await execFileAsync('/usr/bin/time', ['-f', '%e %U %S', '-o', timing, process.execPath, '--import', 'tsx', path.join(repoRoot, 'packages/cli/src/bin.ts'), 'import', 'bind-querylog', generated], {
        cwd: repoRoot,
        env: { ...cleanEnv, DATABASE_URL: oursDb.url, GHOSTDNS_DATA_DIR: work, GHOSTDNS_LOG_LEVEL: 'warn', GHOSTDNS_TAP_BIND_TIMEZONE: 'UTC' },
        maxBuffer: 16 * 1024 * 1024,
      }).catch((error: unknown) => {
        throw new Error(`ghostdns import failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      const [oursSeconds = 0, user = 0, system = 0] = readFileSync(timing, 'utf8').trim().split('\n').pop()?.split(' ').map(Number) ?? [];
      const oursCpu = user + system;
      const client = new pg.Client({ connectionString: oursDb.url });
      await client.connect();
      const oursRows = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM dns_queries')).rows[0]?.n ?? 0);
      await client.end();

      // (c) acceptance of real BIND 9.18 output
      const fixtureFiles: [string, string][] = [
        ['queries', path.join(fixtures, 'bind-9.18-seed-channel.queries.log')],
        ['query_errors', path.join(fixtures, 'bind-9.18-seed-channel.query-errors.log')],
        ['queries', path.join(fixtures, 'bind-9.18-view-category-severity.queries.log')],
      ];
      const accept = await execFileAsync('/usr/bin/python3', [harness, 'accept', script, ...fixtureFiles.flatMap(([k, f]) => [k, f])], { env: seedEnv });
      const seedAccepts = JSON.parse(accept.stdout) as Record<string, [number, number]>;
      const parser = new BindQueryLogParser('UTC');
      const acceptanceRows = fixtureFiles.map(([kind, file]): (string | number)[] => {
        const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim().length > 0);
        const ours = lines.filter((l) => parser.parse(l).kind !== 'skipped').length;
        const [seedOk, total] = seedAccepts[file] ?? [0, lines.length];
        return [`real 9.18 ${kind} lines accepted: ${path.basename(file)}`, `${ours}/${lines.length}`, `${seedOk}/${total}`, ''];
      });

      const seedRowsPerS = seed.rows / seed.seconds;
      const oursRowsPerS = oursRows / oursSeconds;
      const seedCpuPerM = (seed.cpu / Math.max(1, seed.rows)) * 1e6;
      const oursCpuPerM = (oursCpu / Math.max(1, oursRows)) * 1e6;
      return {
        columns: ['measure', 'ghostdns', 'seed ingestor', 'ours/seed (goal)'],
        rows: [
          ['parser + event builder, lines/s (in memory, one core)', throughput.linesPerSecond, '', ''],
          [`log lines (generated, format subset both accept)`, LINES, LINES, ''],
          ['rows queryable', oursRows, seed.rows, ''],
          ['wall time to queryable rows, s', Number(oursSeconds.toFixed(1)), Number(seed.seconds.toFixed(1)), ''],
          ['rows/s', Math.round(oursRowsPerS), Math.round(seedRowsPerS), `${(oursRowsPerS / seedRowsPerS).toFixed(1)}x (>= 10x)`],
          ['CPU s per million lines (ingesting process)', Number(oursCpuPerM.toFixed(1)), Number(seedCpuPerM.toFixed(1)), `${(oursCpuPerM / seedCpuPerM).toFixed(2)} (<= 0.10)`],
          ...acceptanceRows,
        ],
        notes: [
          `Seed code from: ${seedSource.from}; run with /usr/bin/python3 against a scratch database; its flusher commits every 5 s, so its wall time includes up to 5 s of its own latency.`,
          'ghostdns writes the full dns_queries row (26 columns, PSL apex, deterministic event_id, dedupe) through ingest-worker\'s writer; the seed writes 9 columns without a unique key.',
          'CPU is the ingesting process only (PostgreSQL server CPU is not counted for either side); ours includes node + tsx start-up.',
          `ghostdns import summary: ${importRun.stdout.trim().split('\n').join(' / ')}`,
        ],
      };
    } finally {
      await seedDb.drop().catch(() => undefined);
      await oursDb.drop().catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    }
  },
};

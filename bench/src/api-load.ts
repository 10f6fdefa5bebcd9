import { execFileSync } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort, freeUdpAndTcpPort, scratchDir, startTsx, waitForHttp } from '@ghostdns/testkit';
import { POSTGRES_ROWS } from './aggregate-query.js';
import type { Benchmark, BenchmarkResult } from './report.js';
import { weekStore } from './week-store.js';

// records-api under concurrent load at 10 million stored queries (issue 7, item 6: p50/p99 of
// each endpoint; goal p99 under 50 ms): `ghostdns start` on the aggregate benchmark's week of
// queries (PostgreSQL), every GET endpoint hammered by autocannon in turn, once with every
// request reading the rollups (api.resultCacheSeconds = 0) and once as shipped (5 s
// stale-while-revalidate cache of the dashboard reads).

const GOAL_MS = 50;
const CONNECTIONS = 8;
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 5);

interface Endpoint {
  readonly label: string;
  readonly path: (now: Date) => string;
}

const hourIso = (date: Date): string => new Date(Math.floor(date.getTime() / 3_600_000) * 3_600_000).toISOString();

const ENDPOINTS: readonly Endpoint[] = [
  { label: 'stats (24 h)', path: () => '/api/v1/stats' },
  { label: 'stats (60 min)', path: () => '/api/v1/stats?minutes=60' },
  { label: 'top domains (24 h)', path: () => '/api/v1/top/domains' },
  { label: 'top domains (7 d)', path: () => '/api/v1/top/domains?window=7d' },
  { label: 'top clients (24 h)', path: () => '/api/v1/top/clients' },
  { label: 'top blocked (24 h)', path: () => '/api/v1/top/blocked' },
  { label: 'devices/activity (24 h)', path: () => '/api/v1/devices/activity' },
  { label: 'audit (24 h)', path: (now) => `/api/v1/audit?from=${hourIso(new Date(now.getTime() - 86_400_000))}&to=${hourIso(now)}` },
  { label: 'logs (100 newest)', path: () => '/api/v1/logs?limit=100' },
  { label: 'logs (60 min)', path: () => '/api/v1/logs?limit=100&minutes=60' },
  { label: 'nodes', path: () => '/api/v1/nodes' },
  { label: 'records', path: () => '/api/v1/records' },
  { label: 'presence peers', path: () => '/api/v1/presence/peers' },
];

interface Load {
  p50: number;
  p99: number;
  max: number;
  rps: number;
  requests: number;
  failures: number;
}

/** A request that has not answered by then counts as failed (autocannon's own default is 10 s). */
const REQUEST_TIMEOUT_S = 30;

async function load(url: string, token: string): Promise<Load> {
  const headers = { authorization: `Bearer ${token}` };
  // One request first, waited for: it fills a result cache (and PostgreSQL's buffers), so the run
  // measures the steady state a polling dashboard sees, and the previous endpoint's slow reads
  // have drained before this one starts.
  await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_S * 1000) }).then((res) => res.arrayBuffer());
  const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, timeout: REQUEST_TIMEOUT_S, headers });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    rps: Math.round(result.requests.average),
    requests: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

async function runMode(url: string, cacheSeconds: number): Promise<(string | number)[][]> {
  const data = scratchDir();
  const httpPort = await freePort();
  const app = startTsx('ghostdns start (bench)', 'packages/cli/src/bin.ts', ['start'], {
    DATABASE_URL: url,
    GHOSTDNS_DATA_DIR: data.dir,
    GHOSTDNS_LOG_LEVEL: 'warn',
    GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    GHOSTDNS_DNS_LISTEN: `127.0.0.1:${await freeUdpAndTcpPort()}`,
    // The load comes from one address: a per-client limit would answer 429.
    GHOSTDNS_API_RATE_LIMIT_PER_MINUTE: '0',
    GHOSTDNS_API_RESULT_CACHE_SECONDS: String(cacheSeconds),
  });
  try {
    const base = `http://127.0.0.1:${httpPort}`;
    await waitForHttp(`${base}/readyz`, [app], 300_000);
    // A read token of its own (the CLI, as an operator would): presence peers need one.
    const token = execFileSync(process.execPath, ['--import', 'tsx', 'packages/cli/src/bin.ts', 'token', 'create', '--name', `bench-${httpPort}`, '--scope', 'read'], {
      env: { ...process.env, DATABASE_URL: url, GHOSTDNS_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    }).trim();
    const rows: (string | number)[][] = [];
    for (const endpoint of ENDPOINTS) {
      const r = await load(`${base}${endpoint.path(new Date())}`, token);
      if (r.failures > 0) throw new Error(`${endpoint.label}: ${r.failures} of ${r.requests} requests failed`);
      // No request finished within the run: its latency is "longer than the run", never a pass.
      const finished = r.requests > 0;
      rows.push([
        cacheSeconds === 0 ? 'off' : `${cacheSeconds} s`, endpoint.label,
        finished ? r.p50 : `> ${SECONDS * 1000}`, finished ? r.p99 : `> ${SECONDS * 1000}`, finished ? r.max : '–', r.rps, r.requests,
        finished && r.p99 < GOAL_MS ? 'yes' : 'no',
      ]);
    }
    return rows;
  } finally {
    await app.stop('SIGTERM');
    data.remove();
  }
}

export const apiLoadBenchmark: Benchmark = {
  title: 'records-api under concurrent load at 10 million stored queries',
  async run(env): Promise<BenchmarkResult> {
    const store = await weekStore('postgres', POSTGRES_ROWS, env);
    const rows = [...(await runMode(store.url, 0)), ...(await runMode(store.url, 5))];
    return {
      columns: ['result cache', 'endpoint', 'p50 ms', 'p99 ms', 'max ms', 'req/s', 'requests', `p99 < ${GOAL_MS} ms`],
      rows,
      notes: [
        `autocannon, ${CONNECTIONS} connections, ${SECONDS} s per endpoint, one endpoint at a time, against \`ghostdns start\` (all services in one process, ` +
          `PostgreSQL 15) on the aggregate benchmark's store: ${store.rows.toLocaleString('en-US')} queries over the past week. The load generator ` +
          'shares the two cores with the server and PostgreSQL. "off": every request reads the rollups; "5 s": as shipped, a result is read at most ' +
          'every 5 s per window and served from memory meanwhile (stale-while-revalidate; the first request of a window waits for its read).',
      ],
    };
  },
};

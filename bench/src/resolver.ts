import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, freeUdpAndTcpPort, startProcess, startTsx, waitFor, waitForHttp, type ManagedProcess } from '@ghostdns/testkit';
import type { Benchmark, BenchmarkResult } from './report.js';

// Cache hits and misses through four UDP servers on loopback, measured by
// dnsperf side by side in one run: resolver-edge (real process, events on to
// Kafka), Unbound (2 threads), dnsmasq, and a bare Node.js UDP echo that copies
// each query into a fixed answer (the ceiling of Node's per-packet datagram
// path). The three resolvers forward to the same dnsmasq upstream on loopback,
// which serves 1,000 names plus a wildcard for unique miss names.

const NAMES = 1_000;
const SECONDS = Number(process.env.BENCH_RESOLVER_SECONDS ?? 5);
const FIXED_QPS = Number(process.env.BENCH_RESOLVER_FIXED_QPS ?? 20_000);
/** dns.workers of the second resolver-edge row (the first runs one process). */
const WORKERS = Number(process.env.BENCH_RESOLVER_WORKERS ?? cpus().length);
/** Unique miss names: enough for the fastest server over SECONDS (dnsperf stops at the end of the file). */
const MISS_NAMES = Number(process.env.BENCH_RESOLVER_MISS_NAMES ?? 200_000 * SECONDS);
/** node --cpu-prof on resolver-edge during its hit run, profiles written here (unset: no profiling). */
const PROFILE_DIR = process.env.BENCH_RESOLVER_PROFILE_DIR;
const DNSPERF_ARGS = ['-c', '8', '-T', '2', '-q', '256', '-t', '2'];

interface Target {
  name: string;
  port: number;
  start(): Promise<ManagedProcess[]>;
}

interface RunStats {
  qps: number;
  completed: number;
  lost: number;
  meanMs: number;
  p99Ms: number;
}

/** Microsecond histogram up to 1 s; dnsperf -v prints one line per answered query. */
class LatencyHistogram {
  private readonly buckets = new Uint32Array(1_000_001);
  count = 0;
  sumUs = 0;

  add(seconds: number): void {
    const us = Math.min(1_000_000, Math.max(0, Math.round(seconds * 1e6)));
    this.buckets[us] = (this.buckets[us] ?? 0) + 1;
    this.count++;
    this.sumUs += us;
  }

  percentileMs(p: number): number {
    const rank = Math.ceil(this.count * p);
    let seen = 0;
    for (let us = 0; us < this.buckets.length; us++) {
      seen += this.buckets[us] ?? 0;
      if (seen >= rank) return us / 1000;
    }
    return NaN;
  }
}

async function dnsperf(port: number, file: string, extra: string[]): Promise<RunStats> {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-v', ...DNSPERF_ARGS, ...extra];
  const child = spawn('dnsperf', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const histogram = new LatencyHistogram();
  let summary = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (line.startsWith('> ')) {
      const latency = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(latency)) histogram.add(latency);
    } else {
      summary += `${line}\n`;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const completed = Number(/Queries completed:\s+(\d+)/.exec(summary)?.[1] ?? NaN);
  if (code !== 0 || !Number.isFinite(completed)) throw new Error(`dnsperf failed (${String(code)}):\n${summary}\n${stderr}`);
  return {
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(summary)?.[1] ?? NaN),
    completed,
    lost: Number(/Queries lost:\s+(\d+)/.exec(summary)?.[1] ?? NaN),
    meanMs: Number(/Average Latency \(s\):\s+([\d.]+)/.exec(summary)?.[1] ?? NaN) * 1000,
    p99Ms: histogram.percentileMs(0.99),
  };
}

async function waitForDns(port: number, processes: readonly ManagedProcess[], file: string): Promise<void> {
  await waitFor(async () => {
    for (const p of processes) if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${p.output()}`);
    try {
      const r = await dnsperf(port, file, ['-n', '1', '-t', '1', '-c', '1', '-T', '1', '-q', '10']);
      return r.completed > 0;
    } catch {
      return false;
    }
  }, { timeoutMs: 90_000, intervalMs: 200, description: `DNS on port ${port}` });
}

/** A bare Node.js UDP server: query bytes + a fixed A record, QR/RA set, no parsing. */
const ECHO_SERVER = `
const dgram = require('node:dgram');
const socket = dgram.createSocket('udp4');
const tail = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1]);
socket.on('message', (msg, rinfo) => {
  const out = Buffer.allocUnsafe(msg.length + tail.length);
  msg.copy(out, 0);
  out[2] = 0x81; out[3] = 0x80; out[6] = 0; out[7] = 1; out[10] = 0; out[11] = 0;
  tail.copy(out, msg.length);
  socket.send(out, rinfo.port, rinfo.address);
});
socket.bind(Number(process.argv[1]), '127.0.0.1');
`;

function unboundConfig(dir: string, port: number, upstreamPort: number): string {
  const file = path.join(dir, 'unbound.conf');
  writeFileSync(file, `server:
  interface: 127.0.0.1@${port}
  port: ${port}
  num-threads: 2
  so-reuseport: yes
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "${dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  cache-min-ttl: 60
  cache-max-ttl: 86400
  prefetch: yes
  serve-expired: yes
  msg-cache-size: 64m
  rrset-cache-size: 128m
  outgoing-range: 4096
  num-queries-per-thread: 2048
  so-rcvbuf: 4m
  so-sndbuf: 4m
  local-zone: "test." nodefault
  domain-insecure: "test."
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@${upstreamPort}
`);
  return file;
}

async function runTarget(target: Target, files: { hits: string; misses: string }): Promise<{ hits: RunStats; misses: RunStats; fixed: RunStats }> {
  const processes = await target.start();
  try {
    await waitForDns(target.port, processes, files.hits);
    await dnsperf(target.port, files.hits, ['-n', '2']); // warm: every name cached
    const hits = await dnsperf(target.port, files.hits, ['-l', String(SECONDS)]);
    const fixed = await dnsperf(target.port, files.hits, ['-l', String(SECONDS), '-Q', String(FIXED_QPS)]);
    const misses = await dnsperf(target.port, files.misses, ['-l', String(SECONDS), '-n', '1']);
    return { hits, misses, fixed };
  } finally {
    for (const p of [...processes].reverse()) await p.stop('SIGTERM');
  }
}

export const resolverBenchmark: Benchmark = {
  title: `Resolver: dnsperf against resolver-edge, Unbound, dnsmasq and a bare Node UDP echo (${SECONDS}s per run)`,
  async run(env): Promise<BenchmarkResult> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ghostdns-resolver-bench-'));
    const hits = path.join(dir, 'hits.txt');
    const misses = path.join(dir, 'misses.txt');
    const names = Array.from({ length: NAMES }, (_, i) => `host${i}.bench.test`);
    writeFileSync(hits, names.map((n) => `${n} A`).join('\n') + '\n');
    const missLines: string[] = [];
    for (let i = 0; i < MISS_NAMES; i++) missLines.push(`u${i}.miss.bench.test A`);
    writeFileSync(misses, missLines.join('\n') + '\n');

    const upstreamPort = await freeUdpAndTcpPort();
    const upstream = startProcess('dnsmasq-upstream', 'dnsmasq', [
      '--keep-in-foreground', `--port=${upstreamPort}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
      '--user=root', '--pid-file', '--log-facility=-', '--cache-size=0', '--local-ttl=3600', '--dns-forward-max=10000',
      '--address=/miss.bench.test/192.0.2.1', ...names.map((n, i) => `--host-record=${n},198.51.100.${i % 250}`),
    ], {});
    const kafka = env.TEST_KAFKA_BROKERS ?? process.env.TEST_KAFKA_BROKERS ?? '';
    if (kafka === '') throw new Error('resolver bench: TEST_KAFKA_BROKERS is needed (resolver-edge runs with events on)');

    const edgeTarget = async (workers: number): Promise<Target> => {
      const port = await freeUdpAndTcpPort();
      return {
        name: workers > 1 ? `resolver-edge (${workers} workers)` : 'resolver-edge (1 process)',
        port,
        async start() {
          const httpPort = await freePort();
          const env = {
            KAFKA_BROKERS: kafka,
            GHOSTDNS_DNS_LISTEN: `127.0.0.1:${port}`,
            GHOSTDNS_DNS_UPSTREAMS: `127.0.0.1:${upstreamPort}`,
            GHOSTDNS_DNS_WORKERS: String(workers),
            GHOSTDNS_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
            GHOSTDNS_DATA_DIR: path.join(dir, 'edge-data'),
            GHOSTDNS_NODE_ID: 'bench-resolver',
            GHOSTDNS_LOG_LEVEL: 'warn',
          };
          // --cpu-prof is not allowed in NODE_OPTIONS: run node with the tsx loader directly (workers inherit the flags).
          const p = PROFILE_DIR
            ? startProcess('resolver-edge', process.execPath, ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, '--import', 'tsx', 'services/resolver-edge/src/main.ts'], env)
            : startTsx('resolver-edge', 'services/resolver-edge/src/main.ts', [], env);
          await waitForHttp(`http://127.0.0.1:${httpPort}/readyz`, [p]);
          return [p];
        },
      };
    };
    const targets: Target[] = [
      await edgeTarget(1),
      ...(WORKERS > 1 ? [await edgeTarget(WORKERS)] : []),
      {
        name: 'unbound (2 threads)',
        port: await freeUdpAndTcpPort(),
        async start() {
          return [startProcess('unbound', 'unbound', ['-d', '-c', unboundConfig(dir, this.port, upstreamPort)], {})];
        },
      },
      {
        name: 'dnsmasq',
        port: await freeUdpAndTcpPort(),
        async start() {
          return [startProcess('dnsmasq', 'dnsmasq', [
            '--keep-in-foreground', `--port=${this.port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
            '--user=root', '--pid-file', '--log-facility=-', '--cache-size=10000', '--dns-forward-max=10000', `--server=127.0.0.1#${upstreamPort}`,
          ], {})];
        },
      },
      {
        name: 'bare Node UDP echo',
        port: await freeUdpAndTcpPort(),
        async start() {
          return [startProcess('udp-echo', process.execPath, ['-e', ECHO_SERVER, String(this.port)], {})];
        },
      },
    ];

    const results: { name: string; hits: RunStats; misses: RunStats; fixed: RunStats }[] = [];
    try {
      await waitForDns(upstreamPort, [upstream], hits);
      for (const target of targets) results.push({ name: target.name, ...(await runTarget(target, { hits, misses })) });
    } finally {
      await upstream.stop();
      rmSync(dir, { recursive: true, force: true });
    }

    const edges = results.filter((r) => r.name.startsWith('resolver-edge'));
    const ratio = (mine: number | undefined, theirs: number): string =>
      mine === undefined || !(theirs > 0) ? '–' : `${(mine / theirs).toFixed(2)}×`;
    const round = (n: number, digits = 3): number => Number(n.toFixed(digits));
    const pick = (r: (typeof results)[number] | undefined, kind: 'hits' | 'misses' | 'fixed'): RunStats | undefined => r?.[kind];
    const rows: (string | number)[][] = [];
    for (const r of results) {
      for (const kind of ['hits', 'misses', 'fixed'] as const) {
        const s = r[kind];
        rows.push([
          r.name, kind === 'fixed' ? `hits @ ${FIXED_QPS / 1000}k qps` : kind, Math.round(s.qps), round(s.meanMs), round(s.p99Ms), s.lost, s.completed,
          ...edges.map((e) => (e === r ? '–' : ratio(pick(e, kind)?.qps, s.qps))),
        ]);
      }
    }
    return {
      columns: ['server', 'run', 'qps', 'mean ms', 'p99 ms', 'lost', 'answered', ...edges.map((e) => `${e.name} qps ÷ this`)],
      rows,
      notes: [
        `dnsperf ${DNSPERF_ARGS.join(' ')} -v (every latency parsed for p99), ${SECONDS}s per run, all on loopback on this machine (dnsperf shares the cores).`,
        `hits: ${NAMES.toLocaleString('en-US')} names served by the dnsmasq upstream, cache warmed by two passes first; misses: unique names under a wildcard (u<n>.miss.bench.test), each asked once; fixed: the hit names at -Q ${FIXED_QPS}.`,
        'resolver-edge runs as a real process (services/resolver-edge/src/main.ts under tsx) publishing every event to Kafka; the echo server answers without any DNS logic.',
        `resolver-edge runs twice: one process, and dns.workers=${WORKERS} (cluster workers sharing the UDP socket, each publishing its own events).`,
        'Env: BENCH_RESOLVER_SECONDS, BENCH_RESOLVER_FIXED_QPS, BENCH_RESOLVER_WORKERS (dns.workers of the second resolver-edge, default: cores), BENCH_RESOLVER_PROFILE_DIR (node --cpu-prof of resolver-edge and its workers).',
      ],
    };
  },
};

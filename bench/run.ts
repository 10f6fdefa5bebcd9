// `pnpm bench`: starts the real components, runs every benchmark in order and
// prints one table per benchmark, with the machine and versions in the header.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { startHarness } from '@ghostdns/testkit';
import { thinPathBenchmark } from './src/thin-path.js';
import { resolverBenchmark } from './src/resolver.js';
import { fuzzBenchmark } from './src/fuzz.js';
import { policyBenchmark } from './src/policy.js';
import { dnstapTapBenchmark } from './src/dnstap-tap.js';
import { querylogTapBenchmark } from './src/querylog-tap.js';
import { ingestBenchmark } from './src/ingest.js';
import { aggregateQueryBenchmark } from './src/aggregate-query.js';
import { apiLoadBenchmark } from './src/api-load.js';
import { dropWeekStores } from './src/week-store.js';
import { printTable, type BenchmarkResult } from './src/report.js';

function version(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim() ?? '?';
  } catch {
    return 'not installed';
  }
}

const benchmarks = [
  thinPathBenchmark, resolverBenchmark, policyBenchmark, fuzzBenchmark, dnstapTapBenchmark, querylogTapBenchmark, ingestBenchmark,
  // Last: it re-migrates the TimescaleDB stand-in (one shared database) before filling it.
  aggregateQueryBenchmark,
  // On the aggregate benchmark's PostgreSQL store (filled once).
  apiLoadBenchmark,
];

// `pnpm bench -- <word>…`: only the benchmarks whose title contains one of the words (case-insensitive).
const only = process.argv.slice(2).filter((arg) => arg !== '--').map((arg) => arg.toLowerCase());
const selected = only.length === 0 ? benchmarks : benchmarks.filter((b) => only.some((word) => b.title.toLowerCase().includes(word)));

const harness = await startHarness();
let failed = false;
try {
  Object.assign(process.env, harness.env);
  console.log('# GhostDNS benchmarks');
  console.log(`machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}`);
  console.log(`node ${process.version}; ${version('psql', ['--version'])}; ${version('kcat', ['-V'])}; ${version('dnsperf', ['-h'])}`);
  console.log(`started ${new Date().toISOString()}`);
  for (const benchmark of selected) {
    const results: BenchmarkResult = await benchmark.run(harness.env);
    printTable(benchmark.title, results);
  }
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await dropWeekStores();
  await harness.stop();
}
process.exit(failed ? 1 : 0);

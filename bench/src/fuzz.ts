import type { Benchmark, BenchmarkResult } from './report.js';
// The fuzz engine lives beside resolver-edge's CI fuzz test; this is the long run of the same thing.
import { fuzzHandler, fuzzSeed } from '../../services/resolver-edge/test/fuzz-packets.js';

// Mutated DNS packets straight into resolver-edge's QueryHandler (stub
// resolver, no sockets): packets/s of the parse-and-decide path under garbage,
// and what became of the packets. Fails when any packet breaks an invariant
// (a rejection, a drop with a readable header, a wrong ID, no QR).

const PACKETS = Number(process.env.BENCH_FUZZ_PACKETS ?? 2_000_000);

export const fuzzBenchmark: Benchmark = {
  title: 'Bad input: mutated packets into resolver-edge QueryHandler',
  async run(): Promise<BenchmarkResult> {
    const seed = fuzzSeed();
    const started = process.hrtime.bigint();
    const o = await fuzzHandler(seed, PACKETS);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (o.violations.length > 0) throw new Error(`fuzz (seed ${seed}) found:\n${o.violations.join('\n')}`);
    const rows: (string | number)[][] = [
      ['packets', o.packets],
      ['packets/s', Math.round(o.packets / seconds)],
      ['answered', o.answered],
      ...[...o.byRcode].sort().map(([rcode, n]): (string | number)[] => [`  rcode ${rcode}`, n]),
      ['dropped', o.dropped],
      ...[...o.byDropReason].sort().map(([reason, n]): (string | number)[] => [`  drop ${reason}`, n]),
      ...[...o.metrics.malformedByKind].sort().map(([kind, n]): (string | number)[] => [`  ghostdns_dns_malformed_total{kind="${kind}"}`, n]),
    ];
    return {
      columns: ['outcome', 'count'],
      rows,
      notes: [
        `seed ${seed} (FUZZ_SEED reproduces), ${PACKETS.toLocaleString('en-US')} packets (BENCH_FUZZ_PACKETS), ${seconds.toFixed(1)} s, one process, 64 in flight.`,
        `mutations: ${[...o.byMutation].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`,
      ],
    };
  },
};

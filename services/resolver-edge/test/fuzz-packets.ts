// Deterministic DNS packet fuzzing, shared by test/fuzz.test.ts (CI) and
// bench/src/fuzz.ts (the long run). A seed corpus of valid queries, and
// mutations chosen by a seeded xorshift so that any failure reproduces from
// the seed printed with it. Not a test file itself.
import dnsPacket from 'dns-packet';
import { QueryHandler, type HandleResult } from '../src/dns/handler.js';
import { localResolution, type ClientInfo, type Resolver } from '../src/dns/resolver.js';
import { Rcode } from '../src/dns/wire.js';
import { noopResolverMetrics, type ResolverMetrics } from '../src/metrics.js';

/** xorshift32 (Marsaglia 2003): tiny, fast, and the same sequence everywhere for a seed. */
export class XorShift32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  byte(): number {
    return this.next() & 0xff;
  }
}

/** FUZZ_SEED from the environment, else a fixed default (so CI runs are reproducible). */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FUZZ_SEED;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) ? n >>> 0 : 0x5eed_d05;
}

// dns-packet encodes these by name; its typings list fewer.
const TYPES = ['A', 'AAAA', 'MX', 'TXT', 'SRV', 'PTR', 'NS', 'SOA', 'CNAME', 'ANY', 'CAA', 'DNSKEY', 'DS', 'HTTPS', 'NAPTR', 'AXFR'] as unknown as dnsPacket.RecordType[];

/** Valid queries of many types, flags and EDNS shapes, plus hand-made edge cases. */
export function seedCorpus(): Buffer[] {
  const out: Buffer[] = [];
  const names = ['example.test', 'a.b.c.d.e.f.g.example.test', 'xn--bcher-kva.test', '_sip._udp.example.test', '4.3.2.1.in-addr.arpa', '.', `${'a'.repeat(63)}.test`];
  let id = 1;
  for (const type of TYPES) {
    for (const name of names) {
      out.push(dnsPacket.encode({ type: 'query', id: id++, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] }));
    }
    out.push(
      dnsPacket.encode({
        type: 'query', id: id++, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED,
        questions: [{ type, name: 'edns.example.test', class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK, options: [{ code: 10, data: Buffer.from('0123456789abcdef', 'hex') }] } as unknown as dnsPacket.Answer],
      }),
    );
    out.push(
      dnsPacket.encode({
        type: 'query', id: id++, flags: 0,
        questions: [{ type, name: 'ecs.example.test', class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, options: [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '192.0.2.0' }] } as unknown as dnsPacket.Answer],
      }),
    );
  }
  // CHAOS class, an update-like opcode, two questions.
  out.push(dnsPacket.encode({ type: 'query', id: id++, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] }));
  const notify = dnsPacket.encode({ type: 'query', id: id++, questions: [{ type: 'SOA', name: 'example.test', class: 'IN' }] });
  notify[2] = ((notify[2] ?? 0) & 0x87) | (4 << 3);
  out.push(notify);
  out.push(dnsPacket.encode({ type: 'query', id: id++, questions: [{ type: 'A', name: 'one.test', class: 'IN' }, { type: 'A', name: 'two.test', class: 'IN' }] }));
  // A question whose name is a compression pointer (to a name in a bogus answer section is impossible in a query, so to itself).
  out.push(Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01]));
  // Label then pointer back into the same name.
  out.push(Buffer.from([0x12, 0x35, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x01, 0x61, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01]));
  return out;
}

export type MutationKind =
  | 'bitflip' | 'byteset' | 'insert' | 'delete' | 'truncate' | 'count' | 'labellen' | 'pointer' | 'garbage' | 'splice' | 'oversize' | 'none';

const KINDS: MutationKind[] = ['bitflip', 'byteset', 'insert', 'delete', 'truncate', 'count', 'labellen', 'pointer', 'garbage', 'splice', 'oversize', 'none'];

/** One mutated packet from the corpus; `kind` says what was done (for failure messages and the bench). */
export function mutate(rng: XorShift32, corpus: readonly Buffer[]): { packet: Buffer; kind: MutationKind } {
  const base = corpus[rng.below(corpus.length)] ?? Buffer.alloc(12);
  const kind = KINDS[rng.below(KINDS.length)] ?? 'none';
  let p = Buffer.from(base);
  switch (kind) {
    case 'bitflip': {
      for (let i = 1 + rng.below(8); i > 0 && p.length > 0; i--) {
        const at = rng.below(p.length);
        p[at] = (p[at] ?? 0) ^ (1 << rng.below(8));
      }
      break;
    }
    case 'byteset': {
      for (let i = 1 + rng.below(4); i > 0 && p.length > 0; i--) p[rng.below(p.length)] = rng.byte();
      break;
    }
    case 'insert': {
      const at = rng.below(p.length + 1);
      const extra = Buffer.alloc(1 + rng.below(16));
      for (let i = 0; i < extra.length; i++) extra[i] = rng.byte();
      p = Buffer.concat([p.subarray(0, at), extra, p.subarray(at)]);
      break;
    }
    case 'delete': {
      const at = rng.below(p.length);
      p = Buffer.concat([p.subarray(0, at), p.subarray(Math.min(p.length, at + 1 + rng.below(8)))]);
      break;
    }
    case 'truncate':
      p = p.subarray(0, rng.below(p.length));
      break;
    case 'count': {
      // QDCOUNT/ANCOUNT/NSCOUNT/ARCOUNT lie about what follows.
      if (p.length >= 12) p.writeUInt16BE([0, 1, 2, 0xffff, rng.below(0x10000)][rng.below(5)] ?? 0, 4 + 2 * rng.below(4));
      break;
    }
    case 'labellen': {
      // A label length byte in the question: too long, into the reserved 0x40/0x80 types, or past the end.
      if (p.length > 12) p[12 + rng.below(Math.min(p.length - 12, 64))] = [63, 64, 0x7f, 0x80, 0xbf, 0xff, rng.byte()][rng.below(7)] ?? 0;
      break;
    }
    case 'pointer': {
      // Compression pointers in the question: to itself, forward, past the end, or chained.
      if (p.length > 14) {
        const at = 12 + rng.below(Math.min(p.length - 13, 40));
        const target = [at, at + 2, 12, 0, p.length + 10, rng.below(0x4000)][rng.below(6)] ?? 0;
        p[at] = 0xc0 | ((target >> 8) & 0x3f);
        p[at + 1] = target & 0xff;
      }
      break;
    }
    case 'garbage': {
      p = Buffer.alloc(rng.below(600));
      for (let i = 0; i < p.length; i++) p[i] = rng.byte();
      break;
    }
    case 'splice': {
      const other = corpus[rng.below(corpus.length)] ?? Buffer.alloc(0);
      p = Buffer.concat([p.subarray(0, rng.below(p.length + 1)), other.subarray(rng.below(other.length + 1))]);
      break;
    }
    case 'oversize': {
      // A valid query followed by kilobytes of trailing bytes (up to a full TCP frame).
      const size = [4096, 16_384, 65_535][rng.below(3)] ?? 4096;
      const tail = Buffer.alloc(Math.max(0, size - p.length), rng.byte());
      p = Buffer.concat([p, tail]);
      break;
    }
    case 'none':
      break;
  }
  // Keep the ID random so answers can be matched to queries.
  if (p.length >= 2) p.writeUInt16BE(rng.below(0x10000), 0);
  return { packet: p, kind };
}

/** Counts what the handler did (the test checks that the counts add up); everything else is a no-op. */
export class CountingMetrics {
  requests = 0;
  responses = 0;
  readonly malformedByKind = new Map<string, number>();
  readonly rcodes = new Map<string, number>();
  readonly metrics: ResolverMetrics = {
    ...noopResolverMetrics,
    request: () => {
      this.requests++;
    },
    response: (_server: string, rcode: string) => {
      this.responses++;
      this.rcodes.set(rcode, (this.rcodes.get(rcode) ?? 0) + 1);
    },
    malformed: (kind: string) => {
      this.malformedByKind.set(kind, (this.malformedByKind.get(kind) ?? 0) + 1);
    },
  };

  malformedCount(kind: string): number {
    return this.malformedByKind.get(kind) ?? 0;
  }
}

/** Answers everything NOERROR without records: the handler's own parsing is what is fuzzed. */
export const stubResolver: Resolver = {
  resolve: async (request) => localResolution(request, Rcode.NOERROR, 'PASS'),
};

export interface FuzzOutcome {
  packets: number;
  answered: number;
  dropped: number;
  byDropReason: Map<string, number>;
  byRcode: Map<string, number>;
  byMutation: Map<MutationKind, number>;
  /** The first few violations (empty when all is well). */
  violations: string[];
  metrics: CountingMetrics;
}

const CLIENT: ClientInfo = { address: '127.0.0.1', port: 5353, family: 'IPv4', transport: 'UDP' };

/**
 * Feeds `packets` mutated packets straight into QueryHandler.handle with the
 * stub resolver (bounded concurrency), checking each result: never a
 * rejection; a drop only when there is no readable query header; otherwise
 * a response with the query's ID and QR set.
 */
export async function fuzzHandler(seed: number, packets: number, concurrency = 64): Promise<FuzzOutcome> {
  const metrics = new CountingMetrics();
  const handler = new QueryHandler({ resolver: stubResolver, server: 'dns://fuzz', metrics: metrics.metrics });
  const rng = new XorShift32(seed);
  const corpus = seedCorpus();
  const outcome: FuzzOutcome = {
    packets: 0, answered: 0, dropped: 0, byDropReason: new Map(), byRcode: new Map(), byMutation: new Map(), violations: [], metrics,
  };
  const violation = (i: number, kind: MutationKind, packet: Buffer, what: string): void => {
    if (outcome.violations.length < 10) outcome.violations.push(`seed ${seed} packet #${i} (${kind}, ${packet.length} bytes ${packet.subarray(0, 32).toString('hex')}): ${what}`);
  };
  const check = (i: number, kind: MutationKind, packet: Buffer, result: HandleResult): void => {
    const readable = packet.length >= 12;
    const isResponse = readable && ((packet[2] ?? 0) & 0x80) !== 0;
    if (result.kind === 'drop') {
      outcome.dropped++;
      outcome.byDropReason.set(result.reason, (outcome.byDropReason.get(result.reason) ?? 0) + 1);
      if (readable && !isResponse) violation(i, kind, packet, `dropped (${result.reason}) although the header is readable`);
      return;
    }
    outcome.answered++;
    const r = result.answer.response;
    if (!readable || isResponse) violation(i, kind, packet, 'answered a message without a readable query header');
    if (r.length < 12) violation(i, kind, packet, `response of ${r.length} bytes`);
    else {
      if (r.readUInt16BE(0) !== packet.readUInt16BE(0)) violation(i, kind, packet, `response ID ${r.readUInt16BE(0)} != query ID ${packet.readUInt16BE(0)}`);
      if (((r[2] ?? 0) & 0x80) === 0) violation(i, kind, packet, 'response without QR');
    }
    handler.answered(result.answer);
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < packets) {
      const i = next++;
      const { packet, kind } = mutate(rng, corpus);
      outcome.byMutation.set(kind, (outcome.byMutation.get(kind) ?? 0) + 1);
      outcome.packets++;
      try {
        check(i, kind, packet, await handler.handle(packet, CLIENT));
      } catch (err) {
        violation(i, kind, packet, `handle() rejected: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  outcome.byRcode = metrics.rcodes;
  return outcome;
}
